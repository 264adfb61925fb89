"""What ``forecasting`` asks of its registry beyond the contract suite."""

from __future__ import annotations

from crossover.strategies import registry
from tests.contract.kits.forecast import FORECAST

TASK = FORECAST.task


def test_the_seven_forecasters_are_registered_with_their_kinds() -> None:
    kinds = {key: registry.get(key).kind for key in registry.keys(TASK)}
    assert kinds == {
        "forecast.arima": "custom",
        "forecast.chronos": "pretrained",
        "forecast.ensemble": "hybrid",
        "forecast.ets": "custom",
        "forecast.fracast": "pretrained",
        "forecast.gbm": "custom",
        "forecast.seasonal-naive": "custom",
    }
    assert [k for k in kinds if registry.get(k).baseline] == [  # type: ignore[attr-defined]
        "forecast.seasonal-naive"
    ]


def test_every_forecaster_takes_series_and_arima_is_not_a_default() -> None:
    keys = registry.keys(TASK)
    assert {registry.get(k).input_kind for k in keys} == {"series"}
    candidates = registry.candidates(TASK)
    assert "forecast.arima" not in candidates  # slower than ETS for no gain on M3
    assert "forecast.seasonal-naive" in candidates and "forecast.ets" in candidates
