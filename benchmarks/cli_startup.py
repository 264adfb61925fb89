"""Benchmark: how long `crossover --help` takes, a new process each run (target: under 0.5 s).

    .venv/bin/python benchmarks/cli_startup.py [--runs 15]

Prints the median and the range of the wall times, and the modules `import crossover.cli`
loads, so that a slow start can be traced to the import that caused it.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

CROSSOVER = str(Path(sys.executable).parent / "crossover")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    walls = []
    for _ in range(args.runs):
        start = time.perf_counter()
        subprocess.run([CROSSOVER, "--help"], check=True, capture_output=True)
        walls.append(time.perf_counter() - start)
    code = "import sys, crossover.cli; print(len(sys.modules))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    print(f"crossover --help, {args.runs} runs: median {statistics.median(walls):.3f} s "
          f"(min {min(walls):.3f}, max {max(walls):.3f}); import crossover.cli loads "
          f"{done.stdout.strip()} modules")  # fmt: skip


if __name__ == "__main__":
    main()
