"""The served model: what the app needs from it, and its micro-batchers and thread.

:class:`Served` holds a loaded model while the app runs (``app.state.served``); the routes
reach it, and the server's metrics, through the dependencies ``ServedDep`` and ``MetricsDep``.
"""

from __future__ import annotations

import contextlib
import io
import logging
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from typing import Annotated, Any, Protocol

import numpy as np
from fastapi import Depends, Request

from crossover.errors import DataError
from crossover.serve.batching import MicroBatcher
from crossover.serve.errors import ApiError
from crossover.serve.metrics import ServeMetrics
from crossover.serve.schemas import Prediction
from crossover.serve.settings import ServeSettings
from crossover.serve.table import TableSpec

__all__ = [
    "ForecastingModel",
    "MetricsDep",
    "RecommendingModel",
    "Served",
    "ServedDep",
    "ServedModel",
    "embed_rows",
    "get_metrics",
    "get_served",
    "predict_images",
    "predict_rows",
    "predict_table",
    "warm_up",
]

logger = logging.getLogger("crossover.serve")


class ServedModel(Protocol):
    """What the app needs from a loaded model (``crossover.artifacts.LoadedModel`` has it)."""

    manifest: dict[str, Any]
    labels: list[str]
    has_proba: bool
    embedding_model: str | None

    # ``texts``: a list of texts, for a table model a pandas DataFrame of rows, for an image
    # model a list of encoded images (bytes).
    def predict(self, texts: Any) -> list[str]: ...

    def predict_proba(self, texts: Any) -> np.ndarray: ...

    def embed(self, texts: list[str]) -> np.ndarray: ...


class ForecastingModel(Protocol):
    """What the forecast route needs from a model that forecasts series (``LoadedModel`` has
    it): histories in, ``horizon`` steps out (a ``Forecast``: ``mean``, ``quantiles``)."""

    manifest: dict[str, Any]

    @property
    def default_horizon(self) -> int: ...

    @property
    def freq(self) -> str | None: ...

    @property
    def min_history(self) -> int: ...

    @property
    def quantile_levels(self) -> list[float]: ...

    @property
    def static_names(self) -> list[str]: ...

    @property
    def known_names(self) -> list[str]: ...

    def forecast(
        self,
        histories: Any,
        horizon: int | None = None,
        *,
        static: Any = None,
        known: Any = None,
    ) -> Any: ...


class RecommendingModel(Protocol):
    """What the recommend route needs from a recommendation model (``LoadedModel`` has it).
    Ids are strings."""

    manifest: dict[str, Any]

    @property
    def default_k(self) -> int: ...

    @property
    def catalogue(self) -> list[str]: ...

    def knows_user(self, user: Any) -> bool: ...

    def knows_item(self, item: Any) -> bool: ...

    def recommend(self, user: Any, k: int = ..., exclude: Any = ...) -> list[str]: ...

    def recommend_items(self, items: Any, k: int = ..., exclude: Any = ...) -> list[str]: ...


def predict_rows(model: ServedModel, texts: Any) -> list[Prediction]:
    # One model call per batch: a strategy with probabilities predicts the most probable class
    # (the contract suite checks predict() == argmax of predict_proba() for every strategy).
    if not model.has_proba:
        return [Prediction(label=label, probabilities=None) for label in model.predict(texts)]
    proba = np.asarray(model.predict_proba(texts), dtype=np.float64)
    labels = [model.labels[i] for i in proba.argmax(axis=1)]
    return [
        Prediction(label=label, probabilities=dict(zip(model.labels, row.tolist(), strict=True)))
        for label, row in zip(labels, proba, strict=True)
    ]


#: What a table model may raise on values it cannot score (an overflow in scaling, say).
_ROW_ERRORS = (ValueError, ArithmeticError)


def predict_table(
    model: ServedModel, table: TableSpec, records: list[tuple[Any, ...]]
) -> list[Prediction | None]:
    """Predictions for table rows: one model call for the whole micro-batch.

    Should the call fail on the values (``ValueError``, ``ArithmeticError``), each row is tried
    alone, so that one row that the model cannot score fails only its own request (its slot is
    ``None``, answered 422) and not the requests it was batched with.
    """
    try:
        return list(predict_rows(model, table.frame(records)))
    except _ROW_ERRORS as exc:
        if len(records) == 1:
            _log_row_failure(exc)
            return [None]
    out: list[Prediction | None] = []
    for record in records:
        try:
            out.extend(predict_rows(model, table.frame([record])))
        except _ROW_ERRORS as exc:
            _log_row_failure(exc)
            out.append(None)
    return out


def _log_row_failure(exc: BaseException) -> None:
    # The type only: the message may quote the row.
    logger.error("model call failed on a row", extra={"fields": {"error": type(exc).__name__}})


def _computed_afresh(model: ServedModel) -> contextlib.AbstractContextManager[None]:
    """A block in which the model computes every feature itself, through no on-disk cache.

    A pre-trained image strategy keeps the network's features of every image it sees in a cache
    keyed by the image's content hash, which suits a study (it reads each training image many
    times) but not a server: request images are seen once, the cache would grow with every
    request, and it would keep a trace of each private image on disk. The strategy's
    ``uncached`` block (which timing uses for the same purpose) turns that off; a model without
    one (an in-memory test model) needs nothing.
    """
    uncached = getattr(getattr(model, "strategy", None), "uncached", None)
    return uncached() if callable(uncached) else contextlib.nullcontext()


def predict_images(model: ServedModel, images: list[bytes]) -> list[Prediction | None]:
    """Predictions for encoded images: one model call for the whole micro-batch.

    The route decoded every image once already (``crossover.serve.images``), so the model
    should read them all; should it still refuse one (a ``DataError``), each image is tried
    alone, so that it fails only its own request (its slot is ``None``, answered 422) and not
    the requests it was batched with.
    """
    with _computed_afresh(model):
        try:
            return list(predict_rows(model, images))
        except DataError as exc:
            if len(images) == 1:
                _log_row_failure(exc)
                return [None]
        out: list[Prediction | None] = []
        for image in images:
            try:
                out.extend(predict_rows(model, [image]))
            except DataError as exc:
                _log_row_failure(exc)
                out.append(None)
        return out


def warm_up_image() -> bytes:
    """A small gray PNG (to warm an image model up: its first call loads the network)."""
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (32, 32), (128, 128, 128)).save(buffer, format="PNG")
    return buffer.getvalue()


def embed_rows(model: ServedModel, texts: list[str]) -> Sequence[np.ndarray]:
    return list(np.asarray(model.embed(texts), dtype=np.float32))


def warm_up(
    model: ServedModel,
    table: TableSpec | None,
    recommender: Any = None,
    input_kind: str = "text",
    forecaster: Any = None,
) -> None:
    if forecaster is not None:
        # A statistical model compiles its code (numba) on its first forecast: a rising line
        # of the fewest points it takes, one step ahead (with covariates for a model fitted
        # with some: static ones missing, known ones 0).
        points = int(forecaster.min_history)
        history = [np.arange(1.0, points + 1.0)]
        static = list(getattr(forecaster, "static_names", []))
        known = list(getattr(forecaster, "known_names", []))
        if static or known:
            forecaster.forecast(
                history,
                1,
                static=[dict.fromkeys(static)],
                known=[{name: [0.0] * (points + 1) for name in known}],
            )
        else:
            forecaster.forecast(history, 1)
        return
    if recommender is not None:
        catalogue = recommender.catalogue
        if catalogue:
            recommender.recommend_items(catalogue[:1], k=1)
        return
    if input_kind == "image":
        predict_images(model, [warm_up_image()])
    elif table is None:
        predict_rows(model, ["warm-up"])
    else:  # a row of missing values: every table model imputes them
        predict_rows(model, table.frame([table.null_record()]))
    if model.embedding_model is not None:
        embed_rows(model, ["warm-up"])


class Served:
    """A loaded model with its micro-batchers and the one thread its calls run on.

    A text model predicts through ``predictor``; a table model (``table`` set) through
    ``row_predictor``, whose micro-batches concatenate the rows of concurrent requests into one
    DataFrame. Measured (``tabular.gbm``, ``tabular.linear``, one-row requests from 32 clients
    at once): a model call costs about as much for 64 rows as for one, so sharing calls
    multiplies throughput; like TF-IDF, a table model makes no request wait for company (it
    shares only with requests that queued while the previous call ran), unless it is built on
    an embedding model.

    An image model (``input_kind`` "image") predicts through ``image_predictor``: its items
    are the encoded images of the requests, checked by the route before they are queued, and
    its features are computed afresh for each (see :func:`predict_images`). Like an embedding
    model, its network costs much less per image in a batch (EfficientNet-Lite0 at 160 px on
    2 shared cores, medians of 12 rounds: 133 ms per image alone, 60 in a call of 16, 53 in one
    of 32), so a request waits ``max_wait_ms`` for company.

    A recommendation model (``recommender`` set) has no micro-batcher: a recommend request is
    one user's, answered by one call on the model's thread. Nor has a forecasting model
    (``forecaster`` set): a forecast request's series are forecast in one call on that thread
    (a model fitted per series, the default kind, gains nothing from company).
    """

    def __init__(
        self,
        model: ServedModel,
        settings: ServeSettings,
        metrics: ServeMetrics,
        table: TableSpec | None = None,
        recommender: RecommendingModel | None = None,
        input_kind: str = "text",
        forecaster: ForecastingModel | None = None,
    ) -> None:
        self.model = model
        self.settings = settings
        self.table = table
        self.recommender = recommender
        self.forecaster = forecaster
        self.input_kind = input_kind
        # One thread: the model never runs two calls at once (tokenizers are not thread-safe,
        # and torch already uses every core within one call).
        self.executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="crossover-model")
        embedding = model.embedding_model is not None
        # An embedding model (or an image network) costs much less per text (image) in a
        # batch, so a request waits (briefly) for company; a TF-IDF model gains too little from
        # it to make anyone wait, so it only groups the requests that queued while the previous
        # call ran.
        wait_s = settings.max_wait_ms / 1000 if embedding or input_kind == "image" else 0.0
        self.predictor: MicroBatcher[str, Prediction] | None = None
        self.row_predictor: MicroBatcher[tuple[Any, ...], Prediction | None] | None = None
        self.image_predictor: MicroBatcher[bytes, Prediction | None] | None = None
        if recommender is not None or forecaster is not None:
            pass  # no predict route: /v1/recommend and /v1/forecast call the model directly
        elif input_kind == "image":
            self.image_predictor = MicroBatcher(
                partial(predict_images, model),
                max_size=settings.max_size,
                max_wait_s=wait_s,
                on_batch=metrics.batch_texts.labels("predict").observe,
                executor=self.executor,
            )
        elif table is None:
            self.predictor = MicroBatcher(
                partial(predict_rows, model),
                max_size=settings.max_size,
                max_wait_s=wait_s,
                on_batch=metrics.batch_texts.labels("predict").observe,
                executor=self.executor,
            )
        else:
            self.row_predictor = MicroBatcher(
                partial(predict_table, model, table),
                max_size=settings.max_size,
                max_wait_s=wait_s,
                on_batch=metrics.batch_texts.labels("predict").observe,
                executor=self.executor,
            )
        self.embedder: MicroBatcher[str, np.ndarray] | None = None
        if embedding:
            self.embedder = MicroBatcher(
                partial(embed_rows, model),
                max_size=settings.max_size,
                max_wait_s=wait_s,
                on_batch=metrics.batch_texts.labels("embed").observe,
                executor=self.executor,
            )

    @property
    def strategy(self) -> str:
        return str(self.model.manifest.get("strategy", "unknown"))

    def _batchers(self) -> list[MicroBatcher[Any, Any]]:
        batchers = [self.predictor, self.row_predictor, self.image_predictor, self.embedder]
        return [b for b in batchers if b is not None]

    def start(self) -> None:
        for batcher in self._batchers():
            batcher.start()

    async def stop(self) -> None:
        for batcher in self._batchers():
            await batcher.stop()
        self.executor.shutdown(wait=False, cancel_futures=True)


async def get_served(request: Request) -> Served:
    served: Served | None = getattr(request.app.state, "served", None)
    if served is None:
        raise ApiError(503, "not_ready", "the model is not loaded yet; retry when /readyz is 200")
    return served


async def get_metrics(request: Request) -> ServeMetrics:
    metrics: ServeMetrics = request.app.state.metrics
    return metrics


ServedDep = Annotated[Served, Depends(get_served)]
MetricsDep = Annotated[ServeMetrics, Depends(get_metrics)]
