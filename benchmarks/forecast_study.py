"""Benchmark: the whole M3 monthly study through ``crossover.compare``, timed end to end.

The issue's target: every default strategy on M3 monthly (1,428 series, horizon 18), one window
as published and then three, each study under 5 minutes on this machine. A study here is the
leaderboard (``--budgets full``: each strategy fitted and backtested once, its latency and size
measured) with paired bootstrap intervals over the series; ``--curves`` adds the history-length
learning curve (1, 2, 4 ... seasons of history) and prints its answer.

    .venv/bin/python benchmarks/forecast_study.py [--windows 1,3] [--curves] [--limit N]

Prints, per study: the wall time, each strategy's MASE [95 % CI], WQL, fit and forecast
seconds (one window), the winner and whether it is significantly better than the runner-up.
Trials go to a fresh temporary trial store (no reuse between runs).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

import _m3

import crossover


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--windows", default="1,3")
    parser.add_argument("--curves", action="store_true", help="add the history-length curve")
    parser.add_argument("--limit", type=int, default=None, help="the first N series only")
    parser.add_argument("--jobs", type=int, default=None)
    parser.add_argument("--save", default=None, help="write each study's JSON into this folder")
    args = parser.parse_args()
    _m3.require()
    frame = _m3.load_m3("monthly")
    if args.limit:
        keep = frame["unique_id"].drop_duplicates().iloc[: args.limit]
        frame = frame[frame["unique_id"].isin(keep)]
    print(f"M3 monthly: {frame['unique_id'].nunique():,} series, {len(frame):,} points")
    for windows in (int(w) for w in args.windows.split(",")):
        with tempfile.TemporaryDirectory() as trials:
            start = time.perf_counter()
            study = crossover.compare(
                frame,
                task="forecasting",
                horizon=18,
                season=12,
                windows=windows,
                budgets=None if args.curves else "full",
                trials_dir=trials,
                jobs=args.jobs,
                progress=False,
            )
            wall = time.perf_counter() - start
        if args.save:
            study.to_json(Path(args.save) / f"study-{windows}w.json")
        print(f"\n{windows} window(s): study {wall:.0f} s (wall, this machine)")
        results = {r.trial.strategy: r for r in study.leaderboard_results}
        for row in study.leaderboard.itertuples():
            r = results[row.strategy]
            print(
                f"  {row.strategy:26s} MASE {row.score:.3f} [{row.ci_low:.3f}, {row.ci_high:.3f}]"
                f"  WQL {r.metrics.get('wql', float('nan')):.3f}  fit {r.fit_s:6.1f} s"
                f"  forecast {r.predict_s:6.1f} s  p50 {row.latency_p50_ms:.1f} ms"
            )
        board = study.leaderboard
        if len(board) > 1:
            second = board.iloc[1]
            print(
                f"  best {board.iloc[0]['strategy']}; against {second['strategy']}: "
                f"significantly better: {bool(second['significant'])}"
            )
        for line in (study.curves or {}).get("summary", []):
            print(f"  {line}")
        if args.curves:
            points = study.curve_points()
            table = points.pivot_table(index="strategy", columns="n_labels", values="score")
            print(table.round(3).to_string())


if __name__ == "__main__":
    main()
