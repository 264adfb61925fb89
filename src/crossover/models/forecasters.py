"""Pre-trained forecasters: finding their weights offline, and loading them once per process.

A forecaster is named by its Hugging Face id, as the text encoders are, and resolved in the
same order: a local folder; an installed Python package that carries the weights (``fracast``
carries Fracast-0's); the local Hugging Face cache; the hub only when downloads are allowed
(not under ``HF_HUB_OFFLINE``). Nothing downloads when a copy is on the machine.

Supported families: Fracast-0 (``ztxtech/fracast-0``, 85,001 parameters, 9 quantiles, a
48-step native horizon, extended by feeding its median back). Other foundation models
(Chronos-Bolt, TimesFM, TiRex, Moirai) publish their weights only on the hub and need their
own packages; they are not supported yet.
"""

from __future__ import annotations

import functools
import importlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from crossover.errors import ModelError
from crossover.models._resolve import hub_snapshot

__all__ = ["FORECASTERS", "ResolvedForecaster", "load_fracast", "resolve_forecaster"]

DEFAULT_FORECASTER = "ztxtech/fracast-0"

#: Hugging Face id -> (family, package carrying a copy, its folder in the package, pip name).
FORECASTERS: dict[str, tuple[str, str, str, str]] = {
    "ztxtech/fracast-0": ("fracast", "fracast", "weights", "fracast"),
}


@dataclass(frozen=True)
class ResolvedForecaster:
    """Where a forecaster's files are: ``source`` is ``path``, ``package``, ``hf-cache`` or
    ``hub``."""

    model_id: str
    family: str
    path: Path
    source: str

    @property
    def size_bytes(self) -> int:
        return sum(f.stat().st_size for f in self.path.rglob("*") if f.is_file())


def _family(model_id: str, path: Path) -> str:
    known = FORECASTERS.get(model_id)
    if known is not None:
        return known[0]
    config = path / "config.json"
    try:
        family = json.loads(config.read_text(encoding="utf-8")).get("model", {}).get("family")
    except (OSError, ValueError, AttributeError):
        family = None
    if family == "fracast":
        return "fracast"
    raise ModelError(
        f"{model_id}: not a forecaster crossover can run (supported: "
        f"{', '.join(sorted(FORECASTERS))}, or a folder holding a Fracast-0 release)"
    )


def _hint(model_id: str) -> str:
    known = FORECASTERS.get(model_id)
    if known is not None:
        return f"install a copy with `pip install {known[3]}`"
    return (
        f"download it once on a machine with network (hf download {model_id}) and copy the "
        "Hugging Face cache, or pass a local folder"
    )


def resolve_forecaster(model_id: str = DEFAULT_FORECASTER) -> ResolvedForecaster:
    """Find a forecaster's files (module docstring); ``ModelError`` says how to get a copy."""
    candidate = Path(model_id).expanduser()
    if candidate.is_dir():
        return ResolvedForecaster(model_id, _family(model_id, candidate), candidate, "path")
    if model_id.startswith((".", "/", "~")):
        raise ModelError(f"{model_id}: no such forecaster folder; check the path")
    known = FORECASTERS.get(model_id)
    if known is not None:
        try:
            package = importlib.import_module(known[1])
        except ImportError:
            package = None
        if package is not None:
            folder = Path(package.__file__ or "").parent / known[2]
            if folder.is_dir():
                return ResolvedForecaster(model_id, known[0], folder, "package")
    path, source = hub_snapshot(model_id, _hint(model_id), what="forecaster")
    return ResolvedForecaster(model_id, _family(model_id, path), path, source)


@functools.lru_cache(maxsize=4)
def load_fracast(path: str, weights: str = "fp32") -> Any:
    """A Fracast-0 model from a release folder (``fracast.FracastModel``), once per process."""
    try:
        from fracast import FracastModel
    except ImportError as exc:
        raise ModelError("Fracast-0 needs the fracast package: pip install fracast") from exc
    return FracastModel.from_pretrained(path, weights=weights, device="cpu")
