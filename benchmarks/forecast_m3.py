"""Benchmark: the forecasting strategies on the M3 competition's series, beside published figures.

The setting of the published zero-shot tables (autogluon/fev, amazon-science/chronos-forecasting):
M3 monthly, horizon 18, one window (each series' last 18 points), MASE scaled by the
seasonal-naive in-sample error (season 12), WQL over the quantiles 0.1 ... 0.9. Published:
seasonal naive MASE 1.146 / WQL 0.149, statsforecast AutoETS 0.863 / 0.093, Chronos-Bolt-small
0.869 / 0.094. Reproducing the first two within 0.01 shows the evaluation is the same one. The
published seasonal-naive WQL has the point forecast in every quantile (fev's
``examples/seasonal_naive/evaluate_model.py``), which makes it sum |y - f| / sum |y|: this script
prints that figure beside the WQL of the strategy's own quantiles (statsforecast's intervals).

    .venv/bin/python benchmarks/forecast_m3.py [--group monthly] [--windows 1]
        [--strategies seasonal-naive,ets,arima,fracast,ensemble,gbm] [--limit N]

Every time printed is wall-clock seconds of one run on this machine (one process).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))

import _m3
import numpy as np

from crossover.strategies.forecast import (
    ForecastArima,
    ForecastEnsemble,
    ForecastEts,
    ForecastFracast,
    ForecastGbm,
    ForecastSeasonalNaive,
)
from crossover.tasks.forecasting.backtest import window_cut
from crossover.tasks.forecasting.evaluate import backtest
from crossover.tasks.forecasting.series import read_series

STRATEGIES = {
    "seasonal-naive": ForecastSeasonalNaive,
    "ets": ForecastEts,
    "arima": ForecastArima,
    "fracast": ForecastFracast,
    "ensemble": ForecastEnsemble,
    "gbm": ForecastGbm,
}
#: Published figures of M3 monthly, horizon 18, one window: (MASE, WQL).
PUBLISHED = {
    "seasonal-naive": (1.146, 0.149),
    "ets": (0.863, 0.093),
}


def point_wql(panel: Any, result: Any) -> float:
    """WQL with the point forecast as every quantile: sum |y - f| / sum |y| over all windows."""
    errors = total = 0.0
    windows = len(result.forecasts)
    for w, forecast in enumerate(result.forecasts):
        for i, series in enumerate(panel.series):
            end = window_cut(len(series), w, windows, panel.horizon)
            actual = series.values[end : end + panel.horizon]
            errors += float(np.abs(actual - forecast[i]).sum())
            total += float(np.abs(actual).sum())
    return errors / total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--group", default="monthly", choices=sorted(_m3.HORIZONS))
    parser.add_argument("--windows", type=int, default=1)
    parser.add_argument("--strategies", default="seasonal-naive,ets,fracast")
    parser.add_argument("--limit", type=int, default=None, help="the first N series only")
    args = parser.parse_args()
    _m3.require()
    frame = _m3.load_m3(args.group)
    if args.limit:
        keep = frame["unique_id"].drop_duplicates().iloc[: args.limit]
        frame = frame[frame["unique_id"].isin(keep)]
    horizon, season = _m3.HORIZONS[args.group], _m3.SEASONS[args.group]
    start = time.perf_counter()
    panel = read_series(frame, horizon=horizon, season=season, windows=args.windows)
    read_s = time.perf_counter() - start
    print(
        f"M3 {args.group}: {len(panel.series)} series, horizon {horizon}, season {season}, "
        f"{args.windows} window(s); read and checked in {read_s:.1f} s"
    )
    for line in panel.warnings:
        print(f"  warning: {line}")
    print(
        f"{'strategy':16} {'MASE':>7} {'sMAPE':>7} {'RMSSE':>7} {'WQL':>7} {'cov80':>6} "
        f"{'wall s':>7} {'fallbacks':>9}  published MASE / WQL"
    )
    for name in args.strategies.split(","):
        strategy = STRATEGIES[name]()
        start = time.perf_counter()
        result = backtest(panel, strategy, windows=args.windows)
        wall = time.perf_counter() - start
        m = result.metrics
        published = PUBLISHED.get(name) if args.group == "monthly" and args.windows == 1 else None
        note = f"{published[0]:.3f} / {published[1]:.3f}" if published else ""
        if name == "seasonal-naive":
            note += f" (WQL, point forecast in every quantile: {point_wql(panel, result):.3f})"
        print(
            f"{name:16} {m['mase']:7.3f} {m['smape']:7.2f} {m['rmsse']:7.3f} "
            f"{m.get('wql', float('nan')):7.3f} {m.get('coverage_80', float('nan')):6.3f} "
            f"{wall:7.1f} {result.extra['fallbacks']:9d}  {note}",
            flush=True,
        )
        if isinstance(strategy, ForecastEnsemble):  # the last window's choice
            weights = ", ".join(f"{k} {w:.3f}" for k, w in strategy.weights_.items())
            held = ", ".join(f"{k} {v:.3f}" for k, v in strategy.validation_mase_.items())
            print(
                f"  weights: {weights}; MASE on the {strategy.validation_series_} histories' "
                f"last {horizon} points: {held}",
                flush=True,
            )


if __name__ == "__main__":
    main()
