"""A folder of finished trial results, one JSON file per trial hash, written atomically.

A study killed at any moment (even with SIGKILL) leaves only whole files behind: each result
is written to a temporary file and renamed into place, which POSIX makes atomic.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

from crossover.evaluation.trials import Trial, TrialResult

__all__ = ["TrialStore"]


class TrialStore:
    """``get`` a finished result by trial, ``put`` one as soon as it finishes."""

    def __init__(self, directory: str | Path) -> None:
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        # A kill during a write leaves its temporary file behind, never a torn result.
        for stale in self.directory.glob(".tmp-*"):
            stale.unlink(missing_ok=True)

    def _path(self, trial: Trial) -> Path:
        return self.directory / f"{trial.hash}.json"

    def get(self, trial: Trial) -> TrialResult | None:
        path = self._path(trial)
        try:
            data = json.loads(path.read_text())
        except FileNotFoundError:
            return None
        except (OSError, ValueError):
            return None  # unreadable: recompute rather than trust it
        result = TrialResult.from_dict(data)
        return result if result.trial == trial else None

    def put(self, result: TrialResult) -> Path:
        path = self._path(result.trial)
        fd, tmp = tempfile.mkstemp(dir=self.directory, prefix=".tmp-", suffix=".part")
        with os.fdopen(fd, "w") as fh:
            json.dump(result.to_dict(), fh, allow_nan=True)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
        return path

    def __len__(self) -> int:
        return len(list(self.directory.glob("*.json")))
