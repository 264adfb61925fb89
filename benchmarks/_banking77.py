"""Shared by the banking77 benchmarks: the data path, and `crossover compare` as a user runs it."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "banking77"


def require_data() -> None:
    if not DATA.exists():
        sys.exit(f"{DATA} is absent: the shared data sets are needed for this benchmark")


def compare_cli(cache: Path, out: Path, *extra: str, source: Path | None = None) -> float:
    """Run `crossover compare` on banking77 train/test in a new process; return wall seconds.

    ``source``: a ``src`` folder of another crossover checkout to run instead of the installed
    one (same interpreter and packages), to time an older revision side by side.
    """
    env = {**os.environ, "CROSSOVER_CACHE_DIR": str(cache), "HF_HUB_OFFLINE": "1"}
    program = [str(Path(sys.executable).with_name("crossover"))]
    if source is not None:
        env["PYTHONPATH"] = str(source)
        run = "import sys; from crossover.cli import main; sys.argv[0] = 'crossover'; main()"
        program = [sys.executable, "-c", run]
    cmd = [
        *program,
        "compare",
        str(DATA / "train.csv"),
        "--test",
        str(DATA / "test.csv"),
        "--text",
        "text",
        "--label",
        "category",
        "--out",
        str(out),
        *extra,
    ]
    start = time.perf_counter()
    subprocess.run(cmd, env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start
