"""Rolling-origin backtests: where each window cuts each series, and the history budgets.

A backtest of ``windows`` windows forecasts ``horizon`` steps from ``windows`` cut-offs per
series, ``step`` steps apart (default: the horizon, so the windows' test points do not
overlap), the last window ending at the series' last point. The window numbered 0 is the
earliest; its cut-off leaves ``len - (windows - 1) * step - horizon`` points to train on, and
each later window trains on everything before its own cut-off (an expanding window). Cut-offs
are counted from each series' end, as the M competitions and GluonTS / fev do, so series that
end on different dates are backtested alike.

A learning curve by history length trains every window on only the last ``budget`` points
before its cut-off (``clip``): how much history a model needs.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from crossover.errors import ConfigError

__all__ = ["Cut", "clip", "cuts", "window_cut"]


@dataclass(frozen=True)
class Cut:
    """Series ``series`` in window ``window``: ``values[:end]`` is the history the forecaster
    sees, ``values[end:end + horizon]`` what it is scored on."""

    series: int
    window: int
    end: int


def window_cut(
    length: int, window: int, windows: int, horizon: int, step: int | None = None
) -> int:
    """Where window ``window`` (0: the earliest) of ``windows`` cuts a series of ``length``."""
    if not 0 <= window < windows:
        raise ConfigError(f"window {window} is not one of the backtest's {windows}")
    step = horizon if step is None else step
    end = length - horizon - (windows - 1 - window) * step
    if end < 1:
        raise ConfigError(
            f"a series of {length} points is too short for {windows} backtest window(s) of "
            f"{horizon} steps, {step} apart"
        )
    return end


def cuts(
    lengths: np.ndarray | list[int], windows: int, horizon: int, step: int | None = None
) -> list[Cut]:
    """Every (series, window) cut, window by window (all series of window 0 first)."""
    return [
        Cut(i, w, window_cut(int(n), w, windows, horizon, step))
        for w in range(windows)
        for i, n in enumerate(lengths)
    ]


def clip(history: np.ndarray, budget: int | None) -> np.ndarray:
    """The last ``budget`` points of ``history`` (all of it for None or a longer budget)."""
    if budget is None or budget >= len(history):
        return history
    if budget < 1:
        raise ConfigError(f"a history budget of {budget} points: use 1 or more")
    return history[-budget:]
