"""The FastAPI app that serves one model directory.

``create_app(model_dir)`` builds the app; the model is loaded in its ``lifespan`` (so importing
or building the app is cheap, and a server only accepts requests once the model is in memory).

Routes
------
``POST /v1/predict``      one text or a batch -> labels and class probabilities; for a table
                          model (``input_kind`` "table"), one row or a batch of rows
                          (``{"rows": [...]}`` or ``{"row": {...}}``, see
                          :mod:`crossover.serve.table`); for an image model (``input_kind``
                          "image"), images as base64 in JSON (``{"images": [...]}`` or
                          ``{"image": ...}``) or as multipart uploads (see
                          :mod:`crossover.serve.images`)
``POST /v1/recommend``    for a recommendation model (``input_kind`` "interactions"): a known
                          user's top k (``{"user": "42", "k": 10}``), or the top k for a
                          session or a new user (``{"items": ["1", "50"], "k": 10}``);
                          ``exclude`` lists items never to return. A recommendation model's
                          ``/v1/predict``, and a classifier's ``/v1/recommend``, answer a 404
                          that names the route to use (and are left out of its OpenAPI schema)
``POST /v1/forecast``     for a forecasting model (``input_kind`` "series"): each series'
                          recent history in (``{"series": [{"id": "store-1", "history":
                          [...], "start": "2024-01-01"}], "horizon": 12}``), the next steps
                          with quantiles 0.1 ... 0.9 out (see :mod:`crossover.serve.forecast`);
                          its ``/v1/predict`` answers a 404 naming ``/v1/forecast``
``POST /v1/embeddings``   OpenAI embeddings format; only for models built on an embedding model
``GET  /v1/model``        the model directory's manifest (for a table model, plus its input
                          columns and their kinds)
``GET  /healthz``         the process is alive
``GET  /readyz``          the model is loaded (503 otherwise)
``GET  /metrics``         Prometheus text format
``GET  /docs``            OpenAPI documentation (``/openapi.json`` the schema)

Every error is ``{"error": {"type": ..., "message": ..., "details": ...}}``. A request over
the server's size limits (which the OpenAPI schema states) is a 422 of type ``too_large``. When
an API key is configured, the ``/v1`` routes answer 401 without it. The server's limits on what
a client sends (:mod:`~crossover.serve.limits`): a body over ``max_body_mb`` is a 413
(``body_too_large``), headers or a body slower than ``request_timeout_s`` a 408
(``request_timeout``), a request beyond ``max_connections`` a 503 (``overloaded``); the 408 and
the 503 close the connection.

What the served model takes (``input_kind``: texts, table rows, images, interactions or
series) is
read from ``manifest.json`` when the app is built (cheap: the model itself loads in the
lifespan), because the predict route's body, and with it the OpenAPI schema, differ: a table
model's body is built from the columns of its manifest, an image model's takes JSON or
multipart, a model that takes interactions has ``/v1/recommend`` instead, and one that takes
series ``/v1/forecast``.

The parts: :mod:`~crossover.serve.served` (the loaded model, its micro-batchers),
:mod:`~crossover.serve.classify`, :mod:`~crossover.serve.images` and
:mod:`~crossover.serve.recommend` and :mod:`~crossover.serve.forecast` (the model routes of
each kind of model),
:mod:`~crossover.serve.routes` (the routes every model has), :mod:`~crossover.serve.errors`
(the error answers).
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path
from typing import Any, cast

from fastapi import Depends, FastAPI

from crossover.artifacts.load import FORECAST_MAX_HORIZON, RECOMMEND_MAX_K, input_kind
from crossover.errors import ModelError
from crossover.serve.errors import error_responses, install_error_handlers
from crossover.serve.images import document_image_limits
from crossover.serve.limits import LIMITS_STATE, ConnectionLimits, RequestLimitsMiddleware
from crossover.serve.metrics import InstrumentMiddleware, ServeMetrics
from crossover.serve.routes import key_checker, ops, v1_router
from crossover.serve.schemas import document_covariates, document_limits
from crossover.serve.served import (
    ForecastingModel,
    RecommendingModel,
    Served,
    ServedModel,
    warm_up,
)
from crossover.serve.settings import ServeSettings
from crossover.serve.table import TableSpec, document_table_limits

__all__ = ["ForecastingModel", "RecommendingModel", "ServedModel", "create_app"]

logger = logging.getLogger("crossover.serve")

Lifespan = Callable[[FastAPI], AbstractAsyncContextManager[Mapping[str, Any]]]


def _load(model_dir: Path) -> ServedModel:
    from crossover.artifacts.load import load_model

    return load_model(model_dir)


def _peek_manifest(model_dir: Path) -> dict[str, Any]:
    """The manifest in ``model_dir``, read without verifying anything (loading verifies);
    empty when there is none to read (an in-memory model in tests, say)."""
    try:
        manifest = json.loads((model_dir / "manifest.json").read_text())
    except (OSError, ValueError):
        return {}
    return manifest if isinstance(manifest, dict) else {}


def _takes(model: ServedModel) -> str:
    """What a loaded model takes: its own ``input_kind`` (a ``LoadedModel`` has one), or else
    what its manifest says."""
    kind = getattr(model, "input_kind", None)
    return kind if isinstance(kind, str) and kind else input_kind(model.manifest)


def _lifespan(
    model_dir: Path,
    load: Callable[[Path], ServedModel],
    settings: ServeSettings,
    metrics: ServeMetrics,
    kind: str,
    table: TableSpec | None,
) -> Lifespan:
    """The app's lifespan: load the model (it must take what the routes were built for), warm
    it up, serve it until the app stops. Its state hands the connection limits to the server's
    protocol (:mod:`crossover.serve.limits`)."""
    limits = ConnectionLimits(settings.request_timeout_s, settings.max_connections, metrics)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[Mapping[str, Any]]:
        model = await asyncio.to_thread(load, model_dir)
        loaded = _takes(model)
        if loaded != kind or (
            loaded == "table" and TableSpec.from_manifest(model.manifest) != table
        ):
            raise ModelError(
                f"{model_dir}: the loaded model's inputs differ from those of the manifest "
                "read when the server was built (the folder changed meanwhile); restart it"
            )
        recommender = cast(RecommendingModel, model) if kind == "interactions" else None
        forecaster = cast(ForecastingModel, model) if kind == "series" else None
        # Some models load their encoder on first use: pay for that now, so that /readyz
        # means ready and the first client does not wait seconds.
        await asyncio.to_thread(warm_up, model, table, recommender, kind, forecaster)
        served = Served(
            model, settings, metrics, table, recommender, input_kind=kind, forecaster=forecaster
        )
        served.start()
        app.state.served = served
        logger.info(
            "model loaded",
            extra={
                "fields": {
                    "strategy": served.strategy,
                    "task": getattr(model, "task", None) or model.manifest.get("task"),
                    "labels": len(model.labels),
                    "embedding_model": model.embedding_model,
                }
            },
        )
        try:
            yield {LIMITS_STATE: limits}
        finally:
            app.state.served = None
            await served.stop()

    return lifespan


def _limits_doc(kind: str, table: TableSpec | None, settings: ServeSettings) -> str:
    """The app description's sentence on its limits, for a model that takes ``kind``."""
    if kind == "interactions":
        return (
            f"A recommendation model: POST /v1/recommend. Limits: k at most {RECOMMEND_MAX_K}, "
            f"{settings.max_batch} item ids per list, {settings.max_text_chars} characters per "
            "id (422 beyond). "
        )
    if kind == "series":
        return (
            f"A forecasting model: POST /v1/forecast. Limits: {settings.max_batch} series per "
            f"request, horizon at most {FORECAST_MAX_HORIZON} (422 beyond). "
        )
    if kind == "image":
        return (
            "An image model: POST /v1/predict takes images as base64 in JSON or as "
            f"multipart/form-data uploads. Limits: {settings.max_batch} images per request "
            "(422 beyond); an image over Pillow's pixel limit is a 422. "
        )
    if table is None:
        return (
            f"Limits: {settings.max_batch} texts per request, {settings.max_text_chars} "
            "characters per text (422 beyond). "
        )
    return (
        f"A table model: {len(table.kinds)} input columns. Limits: {settings.max_batch} "
        f"rows per request, {settings.max_text_chars} characters per string value "
        "(422 beyond). "
    )


def _document_limits(
    app: FastAPI,
    settings: ServeSettings,
    table: TableSpec | None,
    kind: str,
    manifest: dict[str, Any] | None = None,
) -> None:
    """Make the app's OpenAPI schema state the server's limits (on each field they bound)
    and, for a forecasting model, the covariates its requests send."""
    default_openapi = app.openapi

    def openapi_with_limits() -> dict[str, Any]:
        if app.openapi_schema is None:
            openapi = document_limits(default_openapi(), settings)
            if table is not None:
                openapi = document_table_limits(openapi, settings)
            if kind == "image":
                openapi = document_image_limits(openapi, settings)
            if kind == "series":
                openapi = document_covariates(openapi, manifest or {})
            app.openapi_schema = openapi
        return app.openapi_schema

    # FastAPI's documented way to extend the schema: replace app.openapi.
    app.openapi = openapi_with_limits  # type: ignore[method-assign]


def create_app(
    model_dir: str | Path,
    settings: ServeSettings | None = None,
    *,
    loader: Callable[[Path], ServedModel] | None = None,
) -> FastAPI:
    """The HTTP app serving ``model_dir``; the model loads when the app starts (``lifespan``).

    Parameters
    ----------
    model_dir : str or Path
        A directory written by ``crossover export`` (see ``crossover.artifacts``).
    settings : ServeSettings, default=ServeSettings()
        Limits, API key variable and micro-batching.
    loader : callable, optional
        Turns ``model_dir`` into a model; default ``crossover.artifacts.load_model``. Tests
        plug in a small in-memory model here.

    Raises
    ------
    ConfigError
        ``settings.api_key_env`` names an unset or empty variable.
    ModelError
        ``model_dir`` holds a table model whose manifest describes no usable input columns.
    """
    model_dir = Path(model_dir)
    settings = settings or ServeSettings()
    api_key = settings.api_key()
    metrics = ServeMetrics()
    # The routes (and the OpenAPI schema) are built now, for what the manifest says the model
    # takes; the model loads in the lifespan.
    peeked = _peek_manifest(model_dir)
    kind = input_kind(peeked)
    table = TableSpec.from_manifest(peeked)
    auth = "The /v1 routes need the API key. " if api_key else ""
    app = FastAPI(
        title="crossover model server",
        summary=f"Serves the model in {model_dir.name}",
        description=_limits_doc(kind, table, settings)
        + f"Request bodies over {settings.max_body_mb:g} MiB: 413. "
        + auth,
        version=_version(),
        lifespan=_lifespan(model_dir, loader or _load, settings, metrics, kind, table),
    )
    _document_limits(app, settings, table, kind, peeked)
    app.state.metrics = metrics
    app.state.served = None
    app.state.settings = settings
    app.state.table = table
    app.state.input_kind = kind
    metrics.set_limits(
        settings.max_body_bytes, settings.request_timeout_s, settings.max_connections
    )
    # Added first, so inside the instrumentation: its 413, 408 and 503 are counted and logged.
    app.add_middleware(
        RequestLimitsMiddleware,
        max_body_bytes=settings.max_body_bytes,
        body_timeout_s=settings.request_timeout_s,
        metrics=metrics,
    )
    app.add_middleware(InstrumentMiddleware, metrics=metrics)
    install_error_handlers(app)
    v1 = v1_router(kind, table)
    if api_key is not None:
        app.include_router(
            v1, dependencies=[Depends(key_checker(api_key))], responses=error_responses(401)
        )
    else:
        app.include_router(v1)
    app.include_router(ops)
    return app


def _version() -> str:
    from crossover import __version__

    return __version__
