"""Benchmark: the report of a banking77 study — its size, and the time Chromium takes to open
it and draw every chart (target: under 6 MB, under 2 s on the 2-core reference machine).

    .venv/bin/python benchmarks/report.py [--study OUT/study.json] [--runs 3]

Without --study, runs `crossover compare` on banking77 (leaderboard and learning curves) into a
temporary folder first; `--cache DIR` reuses an embedding cache. The draw time is the page's
own `performance.now()` when the last chart is drawn (navigation start to drawn), read from
the DOM headless Chromium dumps; the wall time of the whole browser process is printed too.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from pathlib import Path

from _banking77 import compare_cli, require_data

from crossover import decide, load_study
from crossover.report import render
from crossover.report.browser import find_chromium, open_report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--study", type=Path, default=None)
    parser.add_argument("--cache", type=Path, default=None)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    if find_chromium() is None:
        sys.exit("no chromium on PATH (make test installs Debian's)")
    with tempfile.TemporaryDirectory() as tmp:
        study_path = args.study
        if study_path is None:
            require_data()
            out = Path(tmp) / "study"
            compare_cli(args.cache or Path(tmp) / "cache", out)
            study_path = out / "study.json"
        study = load_study(study_path)
        pricing, recommendation = decide(study)
        paths = render(study, Path(tmp) / "report", pricing=pricing, recommendation=recommendation)
        size_mb = paths["report"].stat().st_size / 1e6
        drawn, walls = [], []
        for _ in range(args.runs):
            page = open_report(paths["report"])
            if page.errors != 0 or not all(page.chart_divs().values()):
                sys.exit(f"the report did not draw cleanly: {page.errors} errors, {page.console}")
            drawn.append(page.drawn_ms or float("nan"))
            walls.append(page.wall_s)
    print(
        f"study: {study.dataset.get('rows')} rows, {len(study.leaderboard)} strategies, "
        f"{len(study.results)} trials"
    )
    print("| figure | value | target |")
    print("|---|---:|---:|")
    print(f"| report.html size | {size_mb:.2f} MB | < 6 MB |")
    print(
        f"| open and draw every chart (median of {args.runs}) | {statistics.median(drawn):.0f} ms"
        " | < 2000 ms |"
    )
    print(f"| headless chromium process, wall (median) | {statistics.median(walls):.1f} s | |")


if __name__ == "__main__":
    main()
