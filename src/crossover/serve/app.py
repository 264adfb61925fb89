"""The FastAPI app that serves one model directory.

``create_app(model_dir)`` builds the app; the model is loaded in its ``lifespan`` (so importing
or building the app is cheap, and a server only accepts requests once the model is in memory).

Routes
------
``POST /v1/predict``      one text or a batch -> labels and class probabilities
``POST /v1/embeddings``   OpenAI embeddings format; only for models built on an embedding model
``GET  /v1/model``        the model directory's manifest
``GET  /healthz``         the process is alive
``GET  /readyz``          the model is loaded (503 otherwise)
``GET  /metrics``         Prometheus text format
``GET  /docs``            OpenAPI documentation (``/openapi.json`` the schema)

Every error is ``{"error": {"type": ..., "message": ..., "details": ...}}``. A request over
the server's size limits (which the OpenAPI schema states) is a 422 of type ``too_large``. When
an API key is configured, the ``/v1`` routes answer 401 without it.
"""

from __future__ import annotations

import asyncio
import base64
import logging
import secrets
from collections.abc import AsyncIterator, Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from functools import partial
from pathlib import Path
from typing import Annotated, Any, Protocol

import numpy as np
from fastapi import APIRouter, Depends, FastAPI, Request, Security
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer
from starlette.exceptions import HTTPException as StarletteHTTPException

from crossover.serve.batching import BatcherStopped, MicroBatcher
from crossover.serve.metrics import InstrumentMiddleware, ServeMetrics
from crossover.serve.schemas import (
    EmbeddingData,
    EmbeddingsRequest,
    EmbeddingsResponse,
    ErrorResponse,
    Health,
    LimitExceeded,
    Prediction,
    PredictRequest,
    PredictResponse,
    Usage,
    check_limits,
    document_limits,
)
from crossover.serve.settings import ServeSettings

__all__ = ["ServedModel", "create_app"]

logger = logging.getLogger("crossover.serve")


class ServedModel(Protocol):
    """What the app needs from a loaded model (``crossover.artifacts.LoadedModel`` has it)."""

    manifest: dict[str, Any]
    labels: list[str]
    has_proba: bool
    embedding_model: str | None

    def predict(self, texts: list[str]) -> list[str]: ...

    def predict_proba(self, texts: list[str]) -> np.ndarray: ...

    def embed(self, texts: list[str]) -> np.ndarray: ...


class ApiError(Exception):
    """An error answered as ``{"error": {"type", "message"}}`` with ``status``."""

    def __init__(
        self, status: int, type_: str, message: str, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.type = type_
        self.message = message
        self.headers = headers


def _predict_rows(model: ServedModel, texts: list[str]) -> list[Prediction]:
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


def _embed_rows(model: ServedModel, texts: list[str]) -> Sequence[np.ndarray]:
    return list(np.asarray(model.embed(texts), dtype=np.float32))


def _warm_up(model: ServedModel) -> None:
    _predict_rows(model, ["warm-up"])
    if model.embedding_model is not None:
        _embed_rows(model, ["warm-up"])


class Served:
    """A loaded model with its micro-batchers and the one thread its calls run on."""

    def __init__(self, model: ServedModel, settings: ServeSettings, metrics: ServeMetrics) -> None:
        self.model = model
        self.settings = settings
        # One thread: the model never runs two calls at once (tokenizers are not thread-safe,
        # and torch already uses every core within one call).
        self.executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="crossover-model")
        embedding = model.embedding_model is not None
        # An embedding model costs much less per text in a batch, so a request waits (briefly)
        # for company; a TF-IDF model gains too little from it to make anyone wait, so it only
        # groups the requests that queued while the previous call ran.
        wait_s = settings.max_wait_ms / 1000 if embedding else 0.0
        self.predictor: MicroBatcher[Prediction] = MicroBatcher(
            partial(_predict_rows, model),
            max_size=settings.max_size,
            max_wait_s=wait_s,
            on_batch=metrics.batch_texts.labels("predict").observe,
            executor=self.executor,
        )
        self.embedder: MicroBatcher[np.ndarray] | None = None
        if embedding:
            self.embedder = MicroBatcher(
                partial(_embed_rows, model),
                max_size=settings.max_size,
                max_wait_s=wait_s,
                on_batch=metrics.batch_texts.labels("embed").observe,
                executor=self.executor,
            )

    @property
    def strategy(self) -> str:
        return str(self.model.manifest.get("strategy", "unknown"))

    def start(self) -> None:
        self.predictor.start()
        if self.embedder is not None:
            self.embedder.start()

    async def stop(self) -> None:
        await self.predictor.stop()
        if self.embedder is not None:
            await self.embedder.stop()
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


def _error_responses(*codes: int) -> dict[int | str, dict[str, Any]]:
    return {code: {"model": ErrorResponse} for code in codes}


v1 = APIRouter(prefix="/v1", tags=["model"], responses=_error_responses(422, 500, 503))


@v1.post("/predict", summary="Classify one text or a batch", responses=_error_responses(400))
async def predict(
    body: PredictRequest, served: ServedDep, metrics: MetricsDep, request: Request
) -> PredictResponse:
    """Labels and, where the model has them, class probabilities, one per input text."""
    texts = body.texts()
    check_limits(texts, served.settings)
    metrics.request_texts.labels("/v1/predict").observe(len(texts))
    predictions = await served.predictor.submit(texts)
    return PredictResponse(
        model=served.strategy, labels=list(served.model.labels), predictions=predictions
    )


@v1.post(
    "/embeddings",
    summary="Sentence embeddings (OpenAI format)",
    responses=_error_responses(400, 404),
)
async def embeddings(
    body: EmbeddingsRequest, served: ServedDep, metrics: MetricsDep
) -> EmbeddingsResponse:
    """The OpenAI embeddings API, answered by the embedding model the served model is built on.

    404 for a model that is not built on one (TF-IDF, for instance).
    """
    if served.embedder is None:
        raise ApiError(
            404,
            "no_embedding_model",
            f"the served model ({served.strategy}) is not built on a sentence-embedding model, "
            "so it has no embeddings; /v1/embeddings is served only for such models",
        )
    texts = body.texts()
    check_limits(texts, served.settings)
    metrics.request_texts.labels("/v1/embeddings").observe(len(texts))
    vectors = await served.embedder.submit(texts)
    data = [
        EmbeddingData(
            index=i,
            embedding=(
                base64.b64encode(vector.astype("<f4").tobytes()).decode("ascii")
                if body.encoding_format == "base64"
                else vector.tolist()
            ),
        )
        for i, vector in enumerate(vectors)
    ]
    words = sum(len(text.split()) for text in texts)
    return EmbeddingsResponse(
        data=data,
        model=str(served.model.embedding_model),
        usage=Usage(prompt_tokens=words, total_tokens=words),
    )


@v1.get("/model", summary="The model's manifest")
async def model_manifest(served: ServedDep) -> dict[str, Any]:
    """The manifest of the served model directory: task, strategy, labels, metrics, versions."""
    return served.model.manifest


ops = APIRouter(tags=["operations"])


@ops.get("/healthz", summary="The process is alive")
async def healthz() -> Health:
    return Health(status="ok")


@ops.get("/readyz", summary="The model is loaded", responses=_error_responses(503))
async def readyz(served: ServedDep) -> Health:
    return Health(status="ready")


@ops.get("/metrics", summary="Prometheus metrics", response_class=PlainTextResponse)
async def metrics_route(metrics: MetricsDep) -> Response:
    content, media_type = metrics.exposition()
    return Response(content=content, media_type=media_type)


# Module-level: FastAPI resolves a dependency's annotations in the module's namespace.
_bearer = HTTPBearer(auto_error=False, description="Authorization: Bearer KEY")
_key_header = APIKeyHeader(name="X-API-Key", auto_error=False, description="X-API-Key: KEY")


def _key_checker(key: str) -> Callable[..., Any]:
    expected = key.encode()

    async def require_key(
        credentials: Annotated[HTTPAuthorizationCredentials | None, Security(_bearer)],
        x_api_key: Annotated[str | None, Security(_key_header)],
    ) -> None:
        given = credentials.credentials if credentials is not None else x_api_key
        challenge = {"WWW-Authenticate": "Bearer"}
        if not given:
            raise ApiError(
                401,
                "missing_api_key",
                "this server needs an API key: send 'Authorization: Bearer KEY' "
                "or 'X-API-Key: KEY'",
                challenge,
            )
        if not secrets.compare_digest(given.encode(), expected):
            raise ApiError(401, "invalid_api_key", "the API key is not valid", challenge)

    return require_key


def _error(
    status: int, type_: str, message: str, details: list[dict[str, Any]] | None = None, **kw: Any
) -> JSONResponse:
    body = ErrorResponse.model_validate(
        {"error": {"type": type_, "message": message, "details": details}}
    )
    return JSONResponse(body.model_dump(exclude_none=True), status_code=status, **kw)


# pydantic names the branches of ``str | list[str]`` in an error's location; they mean nothing
# to a client, and the branch that does not apply to the input given only adds noise.
_STR_BRANCH, _LIST_BRANCH = "constrained-str", "list[constrained-str]"


def _describe(errors: Sequence[Any]) -> list[dict[str, Any]]:
    """The validation problems, without the offending input (it may be long, or private)."""
    out: list[dict[str, Any]] = []
    for error in errors:
        loc = [p for p in error.get("loc", ()) if p != "body"]
        kind, msg, given = (
            str(error.get("type", "invalid")),
            str(error.get("msg")),
            error.get("input"),
        )
        if _STR_BRANCH in loc and kind == "string_type" and isinstance(given, list):
            continue  # a list was sent: the list branch's errors say what is wrong
        if _LIST_BRANCH in loc and kind == "list_type" and isinstance(given, str):
            continue  # a string was sent: the string branch's errors say what is wrong
        loc = [p for p in loc if p not in (_STR_BRANCH, _LIST_BRANCH)]
        if kind == "string_pattern_mismatch":
            msg = "String should contain at least one non-whitespace character"
        elif kind == "model_attributes_type" and not loc:
            msg = "the body must be a JSON object, sent with Content-Type: application/json"
        elif kind == "json_invalid":
            msg, loc = f"the body is not valid JSON (error at character {loc[-1]})", []
        if (
            kind == "list_type"
            and out
            and out[-1]["loc"] == loc
            and out[-1]["type"] == "string_type"
        ):
            out[-1] = {
                "loc": loc,
                "msg": "Input should be a string or a list of strings",
                "type": "string_or_list_type",
            }
            continue
        out.append({"loc": loc, "msg": msg, "type": kind})
    return out


def _install_error_handlers(app: FastAPI) -> None:
    async def api_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, ApiError)
        return _error(exc.status, exc.type, exc.message, headers=exc.headers)

    async def validation_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        details = _describe(exc.errors())
        parts = [f"{'.'.join(map(str, d['loc'])) or 'body'}: {d['msg']}" for d in details[:5]]
        more = f" (and {len(details) - 5} more)" if len(details) > 5 else ""
        return _error(
            422, "invalid_request", "invalid request: " + "; ".join(parts) + more, details
        )

    async def too_large(request: Request, exc: Exception) -> JSONResponse:
        # 422 like every other request the schema refuses: the limits are in the schema.
        return _error(422, "too_large", str(exc))

    async def stopped(request: Request, exc: Exception) -> JSONResponse:
        return _error(503, "not_ready", str(exc))

    async def http_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, StarletteHTTPException)
        where = f"{request.method} {request.url.path}"
        if exc.status_code == 404:
            return _error(404, "not_found", f"no route {where}; the routes are listed at /docs")
        if exc.status_code == 405:
            message = f"{where} is not allowed; the routes and their methods are listed at /docs"
            return _error(405, "method_not_allowed", message, headers=exc.headers)
        if exc.status_code == 400:  # a body Starlette cannot even decode (not UTF-8, say)
            message = f"the request body could not be read ({exc.detail}); send UTF-8 JSON"
            return _error(400, "invalid_request", message)
        return _error(exc.status_code, "http_error", str(exc.detail), headers=exc.headers)

    async def internal_error(request: Request, exc: Exception) -> JSONResponse:
        # The type only: an exception's message may quote the input.
        logger.error("internal error", extra={"fields": {"error": type(exc).__name__}})
        return _error(500, "internal_error", "the server failed to answer; see its logs")

    app.add_exception_handler(ApiError, api_error)
    app.add_exception_handler(RequestValidationError, validation_error)
    app.add_exception_handler(LimitExceeded, too_large)
    app.add_exception_handler(BatcherStopped, stopped)
    app.add_exception_handler(StarletteHTTPException, http_error)
    app.add_exception_handler(Exception, internal_error)


def _load(model_dir: Path) -> ServedModel:
    from crossover.artifacts import load_model

    return load_model(model_dir)


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
    """
    model_dir = Path(model_dir)
    settings = settings or ServeSettings()
    api_key = settings.api_key()
    load = loader or _load
    metrics = ServeMetrics()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        model = await asyncio.to_thread(load, model_dir)
        # Some models load their encoder on first use: pay for that now, so that /readyz
        # means ready and the first client does not wait seconds.
        await asyncio.to_thread(_warm_up, model)
        served = Served(model, settings, metrics)
        served.start()
        app.state.served = served
        logger.info(
            "model loaded",
            extra={
                "fields": {
                    "strategy": served.strategy,
                    "labels": len(model.labels),
                    "embedding_model": model.embedding_model,
                }
            },
        )
        try:
            yield
        finally:
            app.state.served = None
            await served.stop()

    limits = (
        f"Limits: {settings.max_batch} texts per request, {settings.max_text_chars} characters "
        "per text (422 beyond). "
    )
    auth = "The /v1 routes need the API key. " if api_key else ""
    app = FastAPI(
        title="crossover model server",
        summary=f"Serves the model in {model_dir.name}",
        description=limits + auth,
        version=_version(),
        lifespan=lifespan,
    )
    default_openapi = app.openapi

    def openapi_with_limits() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = document_limits(default_openapi(), settings)
        return app.openapi_schema

    # FastAPI's documented way to extend the schema: replace app.openapi.
    app.openapi = openapi_with_limits  # type: ignore[method-assign]
    app.state.metrics = metrics
    app.state.served = None
    app.state.settings = settings
    app.add_middleware(InstrumentMiddleware, metrics=metrics)
    _install_error_handlers(app)
    if api_key is not None:
        app.include_router(
            v1, dependencies=[Depends(_key_checker(api_key))], responses=_error_responses(401)
        )
    else:
        app.include_router(v1)
    app.include_router(ops)
    return app


def _version() -> str:
    from crossover import __version__

    return __version__
