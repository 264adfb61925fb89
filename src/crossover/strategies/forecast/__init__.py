"""Strategies of ``forecasting``.

Each strategy registers itself when its module is imported: the registry imports every
module of ``MODULES`` when it first lists the strategies, and loading a saved model imports
only the module its manifest names. The names below are imported on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from crossover._lazy import attach

if TYPE_CHECKING:
    from crossover.strategies.forecast._base import Forecast, ForecastStrategy
    from crossover.strategies.forecast.chronos import ForecastChronos
    from crossover.strategies.forecast.ensemble import ForecastEnsemble
    from crossover.strategies.forecast.gbm import ForecastGbm
    from crossover.strategies.forecast.pretrained import ForecastFracast
    from crossover.strategies.forecast.statistical import (
        ForecastArima,
        ForecastEts,
        ForecastSeasonalNaive,
    )

#: Each public name and the module that defines it.
_SOURCES = {
    "Forecast": "crossover.strategies.forecast._base",
    "ForecastArima": "crossover.strategies.forecast.statistical",
    "ForecastChronos": "crossover.strategies.forecast.chronos",
    "ForecastEnsemble": "crossover.strategies.forecast.ensemble",
    "ForecastEts": "crossover.strategies.forecast.statistical",
    "ForecastFracast": "crossover.strategies.forecast.pretrained",
    "ForecastGbm": "crossover.strategies.forecast.gbm",
    "ForecastSeasonalNaive": "crossover.strategies.forecast.statistical",
    "ForecastStrategy": "crossover.strategies.forecast._base",
}
#: Every module of this package that registers strategies.
MODULES = (
    "crossover.strategies.forecast.chronos",
    "crossover.strategies.forecast.ensemble",
    "crossover.strategies.forecast.gbm",
    "crossover.strategies.forecast.pretrained",
    "crossover.strategies.forecast.statistical",
)

__all__ = [
    "MODULES",
    "Forecast",
    "ForecastArima",
    "ForecastChronos",
    "ForecastEnsemble",
    "ForecastEts",
    "ForecastFracast",
    "ForecastGbm",
    "ForecastSeasonalNaive",
    "ForecastStrategy",
]

__getattr__ = attach(__name__, _SOURCES)
