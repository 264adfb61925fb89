"""The statistical forecasters' guard: an interval that is a numerical failure falls back."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from crossover.strategies.forecast import ForecastEts, statistical


class _Exploding:
    """A model whose 80 % interval is +-1e12 around a sensible point forecast (what AutoETS
    gave a 17-point M3 series)."""

    def forecast(self, *, y: np.ndarray, h: int, level: list[int]) -> dict[str, Any]:
        out: dict[str, Any] = {"mean": np.full(h, y[-1])}
        for lv in level:
            out[f"lo-{lv}"] = np.full(h, y[-1] - 1e12 * lv / 80)
            out[f"hi-{lv}"] = np.full(h, y[-1] + 1e12 * lv / 80)
        return out


def test_an_interval_far_wider_than_the_history_falls_back_and_is_counted(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    history = np.array([227.0, 406, 757, 1979, 4402, 7498, 5000, 6000, 6500, 7000, 7200, 7400])
    model = ForecastEts().fit([history], season=1, horizon=6)
    monkeypatch.setattr(statistical.ForecastEts, "_model", lambda self, season: _Exploding())
    result = model.forecast([history])
    assert model.fallbacks_ == 1
    assert result.quantiles is not None
    # The seasonal naive stands in: its interval stays on the scale of the history's values.
    spread = np.ptp(history)
    assert np.abs(result.quantiles - history[-1]).max() < statistical._WIDEST * spread
    assert result.mean[0] == pytest.approx(np.full(6, history[-1]))


def test_a_wide_but_sensible_interval_is_kept() -> None:
    rng = np.random.default_rng(0)
    history = 100 + np.cumsum(rng.normal(scale=5.0, size=60))
    model = ForecastEts().fit([history], season=1, horizon=18)
    model.forecast([history])
    assert model.fallbacks_ == 0
