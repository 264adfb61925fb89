"""The ``forecasting`` task's options (read by ``crossover compare`` and ``read_series``).

Standard library imports only: the CLI reads this module to build ``compare``'s options.
"""

from __future__ import annotations

from dataclasses import dataclass

from crossover.errors import ConfigError
from crossover.tasks._options import TaskOptions, option

__all__ = ["FILL_METHODS", "ForecastOptions"]

#: How a gap in a series is filled (``read_series``).
FILL_METHODS = ("interpolate", "zero")


@dataclass(frozen=True)
class ForecastOptions(TaskOptions):
    """The series' columns, the horizon, the frequency and season, the backtest windows, the
    covariates."""

    id: str | None = option(
        None,
        "The series id column (found as unique_id, item_id, series_id ... when omitted; "
        "without one the rows are one series).",
    )
    time: str | None = option(
        None, "The timestamp column (dates, or whole-number steps; found as ds, date ...)."
    )
    value: str | None = option(
        None, "The column to forecast, the target (found as y, target, sales ... when omitted)."
    )
    horizon: int | None = option(
        None, "Steps each forecast covers (default: one season, 6 without a season)."
    )
    freq: str | None = option(
        None, "The series' frequency as a pandas alias such as MS, W, D (default: inferred)."
    )
    season: int | None = option(
        None, "Steps in one season (default: from the frequency; 12 for monthly; 1: none)."
    )
    windows: int | None = option(
        None,
        "Rolling-origin backtest windows, each forecasting the next --horizon steps "
        "(default: 1 with 20 series or more, else up to 3).",
    )
    fill: str = option(
        "interpolate",
        "How gaps in a series are filled: interpolate (linear), or zero (a missing day sold "
        "nothing).",
    )
    strict: bool = option(
        False,
        "Refuse gaps, missing known covariates and too-short series instead of filling or "
        "leaving them out.",
    )
    static: list[str] | str | None = option(
        None,
        "Comma-separated static covariates: columns with one value per series, text or "
        "numbers (a store's region, a product's category).",
        columns=True,
    )
    known: list[str] | str | None = option(
        None,
        "Comma-separated covariates known in advance at every timestamp, the forecast's "
        "included: numbers or booleans (price, promotion, holiday).",
        columns=True,
    )

    def check(self) -> ForecastOptions:
        if self.horizon is not None and self.horizon < 1:
            raise ConfigError(f"--horizon {self.horizon}: forecast at least 1 step ahead")
        if self.windows is not None and self.windows < 1:
            raise ConfigError(f"--windows {self.windows}: a backtest needs at least 1 window")
        if self.season is not None and self.season < 1:
            raise ConfigError(f"--season {self.season}: use 1 for no season, or the steps in one")
        if self.fill not in FILL_METHODS:
            raise ConfigError(f"--fill {self.fill!r}: use one of {', '.join(FILL_METHODS)}")
        return self
