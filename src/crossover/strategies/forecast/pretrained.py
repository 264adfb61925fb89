"""Pre-trained forecasters used zero-shot: ``forecast.fracast``.

A time-series foundation model forecasts a series it has never seen from its history alone:
no training on the user's series. Fracast-0 (``ztxtech/fracast-0``: 85,001 parameters, a
causal dilated-convolution network; weights installed with the ``fracast`` package, so nothing
downloads) reads up to 2,048 points of context, gives 9 quantiles (0.1 ... 0.9) for 48 steps
at a time and feeds its median back for longer horizons. Its point forecast is the median.

Series are forecast in small batches (``_BATCH``): the histories of a batch are left-padded
with missing values to one length, which the model masks. A history shorter than the 8 points
the model needs is forecast by the seasonal naive method instead; ``fallbacks_`` counts them.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from crossover.models.forecasters import DEFAULT_FORECASTER, load_fracast, resolve_forecaster
from crossover.strategies.forecast._base import QUANTILES, Forecast, ForecastStrategy
from crossover.strategies.registry import register

__all__ = ["ForecastFracast"]

#: The fewest points Fracast-0 forecasts from.
_MIN_POINTS = 8
#: Series per model call. The network reads its whole 2,048-point context whatever the
#: history's length, and its time is in element-wise passes over (batch, 2048, 64) tensors: a
#: small batch stays in the cache. M3 monthly's 1,428 series on 2 cores: 96 s in batches of
#: 256, 26 s of 32, 22 s of 16, 16 s of 8 (same forecasts to the last bit).
_BATCH = 8


def _naive(history: np.ndarray, season: int, horizon: int) -> np.ndarray:
    """The seasonal naive forecast repeated into every quantile (a short history's fallback)."""
    m = season if len(history) >= season else 1
    last = history[-m:]
    mean = np.resize(last, horizon)
    return np.repeat(mean[:, None], len(QUANTILES), axis=1)


@register
class ForecastFracast(ForecastStrategy):
    """Fracast-0, a pre-trained forecaster, zero-shot (no training on your series).

    Parameters
    ----------
    model : str, default="ztxtech/fracast-0"
        The forecaster's Hugging Face id (an installed copy, or the local cache), or a folder
        holding a Fracast-0 release.
    weights : {"fp32", "w8"}, default="fp32"
        The release's float weights, or its 8-bit weights (smaller).
    context_length : int or None, default=None
        The most recent points each forecast reads; None: as many as the model takes (2,048).
    random_state : int, default=0
        Unused (inference is deterministic); kept for the trial's seed.
    """

    packages: ClassVar[tuple[str, ...]] = ("fracast", "torch")
    key = "forecast.fracast"
    kind = "pretrained"
    #: The model families its ``model`` may name (``--model`` goes to it for those).
    families: ClassVar[tuple[str, ...]] = ("fracast",)
    needs_labels = False
    #: It reads the last N points of each history: a learning curve runs it at every budget.
    curve_without_labels = True
    summary = "Fracast-0, a pre-trained forecaster used zero-shot (9 quantiles)"

    fallbacks_: int = 0

    def __init__(
        self,
        *,
        model: str = DEFAULT_FORECASTER,
        weights: str = "fp32",
        context_length: int | None = None,
        random_state: int = 0,
    ) -> None:
        self.model = model
        self.weights = weights
        self.context_length = context_length
        self.random_state = random_state

    @classmethod
    def unavailable_reason(cls) -> str | None:
        try:
            import fracast  # noqa: F401
        except ImportError:
            return "the fracast package is not installed (pip install fracast)"
        return None

    def _network(self) -> Any:
        resolved = resolve_forecaster(self.model)
        return load_fracast(str(resolved.path), self.weights)

    def _forecast(self, histories: list[np.ndarray], horizon: int) -> Forecast:
        import torch

        network = self._network()
        limit = int(network.context_length)
        if self.context_length is not None:
            limit = min(limit, int(self.context_length))
        out = np.empty((len(histories), horizon, len(QUANTILES)))
        usable = [i for i, h in enumerate(histories) if len(h) >= _MIN_POINTS]
        self.fallbacks_ = len(histories) - len(usable)
        for i, history in enumerate(histories):
            if len(history) < _MIN_POINTS:
                out[i] = _naive(history, self.season_, horizon)
        # Similar lengths share a batch: less padding to mask.
        usable.sort(key=lambda i: len(histories[i]))
        with torch.inference_mode():
            for start in range(0, len(usable), _BATCH):
                rows = usable[start : start + _BATCH]
                width = min(limit, max(len(histories[i]) for i in rows))
                batch = np.full((len(rows), width), np.nan, dtype=np.float32)
                for r, i in enumerate(rows):
                    tail = histories[i][-width:]
                    batch[r, width - len(tail) :] = tail
                out[rows] = network.forecast_batch(batch, horizon=horizon)
        quantiles = np.maximum.accumulate(out, axis=-1)
        return Forecast(mean=quantiles[:, :, QUANTILES.index(0.5)].copy(), quantiles=quantiles)

    def _parameter_count(self) -> int:
        network = self._network()
        return sum(p.numel() for m in (network.core, network.head) for p in m.parameters())

    def _external_bytes(self) -> int:
        return resolve_forecaster(self.model).size_bytes
