"""Amazon's Chronos forecasters used zero-shot: ``forecast.chronos``.

Chronos-Bolt (``amazon/chronos-bolt-tiny`` ... ``-base``: a T5 encoder-decoder reading patches
of 16 points of up to 2,048 points of context, 9 quantiles for 64 steps at a time) and
Chronos-2 (``amazon/chronos-2``) run through the ``chronos-forecasting`` package
(``pip install 'crossover[chronos]'``). Their weights are published only on the Hugging Face
hub: they resolve like every model id here (``crossover.models.forecasters``: a folder, the
local Hugging Face cache, the hub only when downloads are allowed), so a machine without
network needs a copy made once elsewhere. Without one the strategy is unavailable, with the
reason, and a study leaves it out.

Beyond the model's native horizon Chronos-Bolt feeds its quantiles back (the package's own
method); the first steps of a longer forecast are those of the shorter one. Its point forecast
is the median. A history with no spread (one point, or every point equal) is forecast flat at
its value without the model: the model scales a history by its spread, and with none it would
only add its own output times 1e-5; ``fallbacks_`` counts them.
"""

from __future__ import annotations

import json
import warnings
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from crossover.errors import ModelError
from crossover.models.forecasters import (
    CHRONOS_FAMILIES,
    DEFAULT_CHRONOS,
    load_chronos,
    local_forecaster,
    resolve_forecaster,
)
from crossover.strategies.forecast._base import QUANTILES, Forecast, ForecastStrategy
from crossover.strategies.registry import register

__all__ = ["ForecastChronos"]

#: Series per model call, shortest histories together (less padding to mask). Measured by
#: benchmarks/chronos_batch.py (a randomly initialised model of Chronos-Bolt-small's size,
#: 47.7 M parameters: the same work as the real one) on this project's 2-core machine, M3
#: monthly's 1,428 histories, horizon 18, one torch thread: batches of 8 6.2 ms a series, 32
#: 4.7, 64 4.4, 128 4.4, 512 4.7; with two threads on idle cores (random histories of 48 to
#: 126 points) 8 3.9 ms, 32 2.6, 128 2.4, 512 2.8, and 2,048-point histories 40 ms (8) to 37
#: ms (64). Batches change the forecasts in the last digits only (padding: up to 0.003 on M3's
#: values in the thousands). Torch keeps its thread count (every core by default): on idle
#: cores two threads took 0.6 times as long as one, but with the cores busy with other work
#: 2 to 10 times as long (each thread waits for the other); set one thread there.
_BATCH = 64
#: What a saved model records of the weights it was fitted with.
_STATE = "chronos.json"


def _flat(history: np.ndarray, horizon: int) -> np.ndarray:
    """A flat history's forecast: its value at every step and quantile."""
    return np.full((horizon, len(QUANTILES)), float(history[-1]))


@register
class ForecastChronos(ForecastStrategy):
    """Chronos-Bolt or Chronos-2, pre-trained forecasters, zero-shot (no training on your
    series).

    Parameters
    ----------
    model : str, default="amazon/chronos-bolt-small"
        The model's Hugging Face id (a copy in the local Hugging Face cache, or downloaded
        when downloads are allowed), or a folder holding a Chronos-Bolt or Chronos-2 model.
    context_length : int or None, default=None
        The most recent points each forecast reads; None: as many as the model takes
        (2,048 for Chronos-Bolt).
    random_state : int, default=0
        Unused (inference is deterministic); kept for the trial's seed.
    """

    packages: ClassVar[tuple[str, ...]] = ("chronos-forecasting", "torch", "transformers")
    key = "forecast.chronos"
    kind = "pretrained"
    #: The model families its ``model`` may name (``--model`` goes to it for those).
    families: ClassVar[tuple[str, ...]] = CHRONOS_FAMILIES
    needs_labels = False
    #: It reads the last N points of each history: a learning curve runs it at every budget.
    curve_without_labels = True
    summary = "Chronos-Bolt, a pre-trained forecaster used zero-shot (9 quantiles)"

    #: What ``fit`` found: the model's family, its hub commit (None for a folder) and the
    #: identity of its files (``ResolvedForecaster.identity``), which a saved model records.
    family_: str
    revision_: str | None
    weights_identity_: str
    fallbacks_: int = 0

    def __init__(
        self,
        *,
        model: str = DEFAULT_CHRONOS,
        context_length: int | None = None,
        random_state: int = 0,
    ) -> None:
        self.model = model
        self.context_length = context_length
        self.random_state = random_state

    @classmethod
    def unavailable_reason(cls) -> str | None:
        try:
            version("chronos-forecasting")
        except PackageNotFoundError:
            return (
                "the chronos-forecasting package is not installed "
                "(pip install 'crossover[chronos]')"
            )
        if local_forecaster(DEFAULT_CHRONOS) is None:
            return (
                f"no copy of {DEFAULT_CHRONOS} on this machine: its weights are published on "
                f"the Hugging Face hub only; download it once where there is network (hf "
                f"download {DEFAULT_CHRONOS}) and copy the Hugging Face cache "
                "(HF_HUB_CACHE, by default ~/.cache/huggingface/hub) here"
            )
        return None

    # -- the model --------------------------------------------------------------------------

    def _resolved(self) -> Any:
        resolved = resolve_forecaster(self.model)
        if resolved.family not in CHRONOS_FAMILIES:
            raise ModelError(
                f"{self.model}: a {resolved.family} model, not one forecast.chronos runs "
                f"({', '.join(CHRONOS_FAMILIES)}); use forecast.fracast for Fracast-0"
            )
        return resolved

    def _pipeline(self) -> Any:
        resolved = self._resolved()
        return load_chronos(str(resolved.path), resolved.family)

    def _fit_series(self, histories: list[np.ndarray]) -> None:
        # Nothing is learned; the weights are found now, so that a missing copy fails the fit
        # with the way to get one, and a saved model can name the weights it used.
        resolved = self._resolved()
        self.family_ = resolved.family
        self.revision_ = resolved.revision
        self.weights_identity_ = resolved.identity

    # -- forecasting ------------------------------------------------------------------------

    def _forecast(self, histories: list[np.ndarray], horizon: int) -> Forecast:
        import torch

        pipeline = self._pipeline()
        limit = int(pipeline.model_context_length)
        if self.context_length is not None:
            limit = min(limit, int(self.context_length))
        out = np.empty((len(histories), horizon, len(QUANTILES)))
        flat = [i for i, h in enumerate(histories) if np.ptp(h) == 0]
        for i in flat:
            out[i] = _flat(histories[i], horizon)
        self.fallbacks_ = len(flat)
        usable = sorted(set(range(len(histories))) - set(flat), key=lambda i: len(histories[i]))
        with torch.inference_mode(), warnings.catch_warnings():
            # Beyond its native horizon the model warns that quality may degrade: the
            # documented behaviour (module docstring), not something a user can act on.
            warnings.filterwarnings("ignore", message="We recommend keeping prediction length")
            for start in range(0, len(usable), _BATCH):
                rows = usable[start : start + _BATCH]
                batch = [torch.tensor(histories[i][-limit:], dtype=torch.float32) for i in rows]
                out[rows] = self._quantiles(pipeline, batch, horizon, limit)
        quantiles = np.maximum.accumulate(out, axis=-1)
        return Forecast(mean=quantiles[:, :, QUANTILES.index(0.5)].copy(), quantiles=quantiles)

    def _quantiles(self, pipeline: Any, batch: list[Any], horizon: int, limit: int) -> Any:
        """(len(batch), horizon, 9) quantiles at ``QUANTILES``, one model family or another."""
        levels = list(QUANTILES)
        if self.family_ == "chronos-2":
            quantiles, _ = pipeline.predict_quantiles(
                batch,
                prediction_length=horizon,
                quantile_levels=levels,
                batch_size=len(batch),
                context_length=limit,
                cross_learning=False,
            )
            return np.stack([q.reshape(horizon, len(levels)).numpy() for q in quantiles])
        quantiles, _ = pipeline.predict_quantiles(
            batch, prediction_length=horizon, quantile_levels=levels
        )
        return quantiles.numpy()

    # -- persistence and footprint ----------------------------------------------------------

    def _save_state(self, path: Any) -> None:
        super()._save_state(path)
        state = {
            "model": self.model,
            "family": self.family_,
            "revision": self.revision_,
            "weights_identity": self.weights_identity_,
        }
        (Path(path) / _STATE).write_text(json.dumps(state, indent=2, sort_keys=True))

    def _load_state(self, path: Any) -> None:
        super()._load_state(path)
        state = json.loads((Path(path) / _STATE).read_text())
        self.family_ = str(state["family"])
        self.revision_ = state.get("revision")
        self.weights_identity_ = str(state["weights_identity"])
        resolved = self._resolved()
        if resolved.identity != self.weights_identity_:
            saved = f"revision {self.revision_}, " if self.revision_ else ""
            raise ModelError(
                f"{path}: the copy of {self.model} here ({resolved.path}) is not the one the "
                f"model was fitted with ({saved}files {self.weights_identity_}, here "
                f"{resolved.identity}); copy that snapshot of the Hugging Face cache here, or "
                "export the model again with this copy"
            )

    def _parameter_count(self) -> int:
        network = self._pipeline().inner_model
        return int(sum(p.numel() for p in network.parameters()))

    def _external_bytes(self) -> int:
        return int(self._resolved().size_bytes)
