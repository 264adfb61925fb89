"""The FastAPI app that serves one model directory.

``create_app(model_dir)`` builds the app; the model is loaded in its ``lifespan`` (so importing
or building the app is cheap, and a server only accepts requests once the model is in memory).

Routes
------
``POST /v1/predict``      one text or a batch -> labels and class probabilities; for a table
                          model (``tabular-classification``), one row or a batch of rows
                          (``{"rows": [...]}`` or ``{"row": {...}}``, see
                          :mod:`crossover.serve.table`)
``POST /v1/recommend``    for a recommendation model (task ``recommendation``): a known user's
                          top k (``{"user": "42", "k": 10}``), or the top k for a session or a
                          new user (``{"items": ["1", "50"], "k": 10}``); ``exclude`` lists
                          items never to return. A recommendation model's ``/v1/predict``, and
                          a classifier's ``/v1/recommend``, answer a 404 that names the route
                          to use (and are left out of its OpenAPI schema)
``POST /v1/embeddings``   OpenAI embeddings format; only for models built on an embedding model
``GET  /v1/model``        the model directory's manifest (for a table model, plus its input
                          columns and their kinds)
``GET  /healthz``         the process is alive
``GET  /readyz``          the model is loaded (503 otherwise)
``GET  /metrics``         Prometheus text format
``GET  /docs``            OpenAPI documentation (``/openapi.json`` the schema)

Every error is ``{"error": {"type": ..., "message": ..., "details": ...}}``. A request over
the server's size limits (which the OpenAPI schema states) is a 422 of type ``too_large``. When
an API key is configured, the ``/v1`` routes answer 401 without it.

Which kind of model is served is read from ``manifest.json`` when the app is built (cheap: the
model itself loads in the lifespan), because the predict route's body, and with it the OpenAPI
schema, differ: a table model's body is built from the columns of its manifest, and a
recommendation model has ``/v1/recommend`` instead.
"""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import secrets
from collections.abc import AsyncIterator, Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from functools import partial
from pathlib import Path
from typing import Annotated, Any, Protocol, cast

import numpy as np
from fastapi import APIRouter, Depends, FastAPI, Request, Security
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer
from starlette.exceptions import HTTPException as StarletteHTTPException

from crossover.artifacts.load import RECOMMEND_MAX_K
from crossover.errors import ModelError
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
    RecommendRequest,
    RecommendResponse,
    Usage,
    check_limits,
    check_recommend_limits,
    document_limits,
)
from crossover.serve.settings import ServeSettings
from crossover.serve.table import (
    TABLE_TASK,
    RowProblem,
    RowsInvalid,
    TablePredictResponse,
    TableRequest,
    TableSpec,
    document_table_limits,
)

__all__ = ["RecommendingModel", "ServedModel", "create_app"]

logger = logging.getLogger("crossover.serve")

RECOMMENDATION = "recommendation"


class ServedModel(Protocol):
    """What the app needs from a loaded model (``crossover.artifacts.LoadedModel`` has it)."""

    manifest: dict[str, Any]
    labels: list[str]
    has_proba: bool
    embedding_model: str | None

    # ``texts``: a list of texts, or for a table model a pandas DataFrame of rows.
    def predict(self, texts: Any) -> list[str]: ...

    def predict_proba(self, texts: Any) -> np.ndarray: ...

    def embed(self, texts: list[str]) -> np.ndarray: ...


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


def _task(manifest: dict[str, Any]) -> str:
    task = manifest.get("task")
    return task if isinstance(task, str) and task else "text-classification"


class ApiError(Exception):
    """An error answered as ``{"error": {"type", "message", "details"}}`` with ``status``."""

    def __init__(
        self,
        status: int,
        type_: str,
        message: str,
        headers: dict[str, str] | None = None,
        details: list[dict[str, Any]] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.type = type_
        self.message = message
        self.headers = headers
        self.details = details


def _predict_rows(model: ServedModel, texts: Any) -> list[Prediction]:
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


def _predict_table(
    model: ServedModel, table: TableSpec, records: list[tuple[Any, ...]]
) -> list[Prediction | None]:
    """Predictions for table rows: one model call for the whole micro-batch.

    Should the call fail on the values (``ValueError``, ``ArithmeticError``), each row is tried
    alone, so that one row that the model cannot score fails only its own request (its slot is
    ``None``, answered 422) and not the requests it was batched with.
    """
    try:
        return list(_predict_rows(model, table.frame(records)))
    except _ROW_ERRORS as exc:
        if len(records) == 1:
            _log_row_failure(exc)
            return [None]
    out: list[Prediction | None] = []
    for record in records:
        try:
            out.extend(_predict_rows(model, table.frame([record])))
        except _ROW_ERRORS as exc:
            _log_row_failure(exc)
            out.append(None)
    return out


def _log_row_failure(exc: BaseException) -> None:
    # The type only: the message may quote the row.
    logger.error("model call failed on a row", extra={"fields": {"error": type(exc).__name__}})


def _embed_rows(model: ServedModel, texts: list[str]) -> Sequence[np.ndarray]:
    return list(np.asarray(model.embed(texts), dtype=np.float32))


def _warm_up(model: ServedModel, table: TableSpec | None, recommender: Any = None) -> None:
    if recommender is not None:
        catalogue = recommender.catalogue
        if catalogue:
            recommender.recommend_items(catalogue[:1], k=1)
        return
    if table is None:
        _predict_rows(model, ["warm-up"])
    else:  # a row of missing values: every table model imputes them
        _predict_rows(model, table.frame([table.null_record()]))
    if model.embedding_model is not None:
        _embed_rows(model, ["warm-up"])


class Served:
    """A loaded model with its micro-batchers and the one thread its calls run on.

    A text model predicts through ``predictor``; a table model (``table`` set) through
    ``row_predictor``, whose micro-batches concatenate the rows of concurrent requests into one
    DataFrame. Measured (``tabular.gbm``, ``tabular.linear``, one-row requests from 32 clients
    at once): a model call costs about as much for 64 rows as for one, so sharing calls
    multiplies throughput; like TF-IDF, a table model makes no request wait for company (it
    shares only with requests that queued while the previous call ran), unless it is built on
    an embedding model.

    A recommendation model (``recommender`` set) has no micro-batcher: a recommend request is
    one user's, answered by one call on the model's thread.
    """

    def __init__(
        self,
        model: ServedModel,
        settings: ServeSettings,
        metrics: ServeMetrics,
        table: TableSpec | None = None,
        recommender: RecommendingModel | None = None,
    ) -> None:
        self.model = model
        self.settings = settings
        self.table = table
        self.recommender = recommender
        # One thread: the model never runs two calls at once (tokenizers are not thread-safe,
        # and torch already uses every core within one call).
        self.executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="crossover-model")
        embedding = model.embedding_model is not None
        # An embedding model costs much less per text in a batch, so a request waits (briefly)
        # for company; a TF-IDF model gains too little from it to make anyone wait, so it only
        # groups the requests that queued while the previous call ran.
        wait_s = settings.max_wait_ms / 1000 if embedding else 0.0
        self.predictor: MicroBatcher[str, Prediction] | None = None
        self.row_predictor: MicroBatcher[tuple[Any, ...], Prediction | None] | None = None
        if recommender is not None:
            pass  # no predict route: /v1/recommend calls the model directly
        elif table is None:
            self.predictor = MicroBatcher(
                partial(_predict_rows, model),
                max_size=settings.max_size,
                max_wait_s=wait_s,
                on_batch=metrics.batch_texts.labels("predict").observe,
                executor=self.executor,
            )
        else:
            self.row_predictor = MicroBatcher(
                partial(_predict_table, model, table),
                max_size=settings.max_size,
                max_wait_s=wait_s,
                on_batch=metrics.batch_texts.labels("predict").observe,
                executor=self.executor,
            )
        self.embedder: MicroBatcher[str, np.ndarray] | None = None
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

    def _batchers(self) -> list[MicroBatcher[Any, Any]]:
        batchers = [self.predictor, self.row_predictor, self.embedder]
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


def _error_responses(*codes: int) -> dict[int | str, dict[str, Any]]:
    return {code: {"model": ErrorResponse} for code in codes}


async def predict(
    body: PredictRequest, served: ServedDep, metrics: MetricsDep, request: Request
) -> PredictResponse:
    """Labels and, where the model has them, class probabilities, one per input text."""
    texts = body.texts()
    check_limits(texts, served.settings)
    if served.predictor is None:  # the app was built for a table model (cannot happen)
        raise ApiError(422, "invalid_request", "this model classifies table rows, not texts")
    metrics.request_texts.labels("/v1/predict").observe(len(texts))
    predictions = await served.predictor.submit(texts)
    return PredictResponse(
        model=served.strategy, labels=list(served.model.labels), predictions=predictions
    )


_TABLE_PREDICT_DOC = """Labels and class probabilities, one per input row, in order.

Send `{"rows": [{column: value, ...}, ...]}`, or `{"row": {column: value, ...}}` for one row.
Every input column must be present (the schema lists them with their types); `null` is a
missing value. Numbers are JSON numbers (`12.5`, not `"12.5"`); a categorical value may be a
string, number or boolean; a datetime is a date string (ISO 8601 is best) or seconds since
1970-01-01 UTC. Any problem is a 422 that names the row and the column.
"""


_TABLE_MODEL_DOC = (
    "The manifest of the served model directory: task, strategy, labels, metrics, versions, "
    "and its input schema; `input_columns` gives the input columns and their kinds, in order."
)


def _table_predict(table: TableSpec, body_model: type[TableRequest]) -> Callable[..., Any]:
    """The predict route of a table model, its body typed by ``body_model``."""

    async def predict(body: Any, served: ServedDep, metrics: MetricsDep) -> TablePredictResponse:
        rows = body.row_list()
        table.check_limits(rows, served.settings)
        field = "row" if "row" in body.model_fields_set else "rows"
        try:
            records = table.records(rows)
        except RowsInvalid as exc:
            raise _rows_error(exc.problems, [], field, table) from None
        if served.row_predictor is None:  # the app was built for a text model (cannot happen)
            raise ApiError(422, "invalid_request", "this model classifies texts, not rows")
        metrics.request_texts.labels("/v1/predict").observe(len(records))
        results = await served.row_predictor.submit(records)
        failed = [i for i, result in enumerate(results) if result is None]
        if failed:
            rows_named = ", ".join(map(str, failed[:10])) + (", ..." if len(failed) > 10 else "")
            raise ApiError(
                422,
                "unscorable_row",
                f"the model could not score row(s) {rows_named}: a value is outside what it "
                "can compute with (an extreme number, say); check those rows",
            )
        predictions = [r for r in results if r is not None]
        return TablePredictResponse(
            model=served.strategy, labels=list(served.model.labels), predictions=predictions
        )

    # FastAPI reads the body's type from the annotation: the model built for these columns.
    predict.__annotations__["body"] = body_model
    return predict


async def embeddings(
    body: EmbeddingsRequest, served: ServedDep, metrics: MetricsDep
) -> EmbeddingsResponse:
    """The OpenAI embeddings API, answered by the embedding model the served model is built on.

    404 for a model that is not built on one (TF-IDF, for instance).
    """
    if served.embedder is None:
        what = "classifies table rows and " if served.table is not None else ""
        raise ApiError(
            404,
            "no_embedding_model",
            f"the served model ({served.strategy}) {what}is not built on a sentence-embedding "
            "model, so it has no embeddings; /v1/embeddings is served only for such models",
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


_RECOMMEND_SHAPES = '{"user": "42", "k": 10} or {"items": ["1", "50"], "k": 10}'

_RECOMMEND_DOC = """Recommended item ids, best first.

Send `{"user": "42", "k": 10}` for a user with training interactions (their top k, their own
training items left out), or `{"items": ["1", "50"], "k": 10}` for a session or a new user (the
top k for those items, which are left out). `exclude` lists items never to return. Ids are
JSON strings or integers, compared as text (`42` is the id `"42"`).

404 for a user without training interactions (send their items instead); 422 for item ids the
model does not know (named), for both `user` and `items` or neither, and for `k` outside 1 to
100. The list is shorter than k only when fewer items are left to rank.
"""


def _name_ids(ids: list[str]) -> str:
    shown = ", ".join(json.dumps(i) for i in ids[:5])
    return shown + (f" (and {len(ids) - 5} more)" if len(ids) > 5 else "")


async def recommend(
    body: RecommendRequest, served: ServedDep, metrics: MetricsDep
) -> RecommendResponse:
    model = served.recommender
    if model is None:  # the app was built for a classifier (cannot happen)
        raise _not_a_recommender(served)
    if (body.user is None) == (body.items is None):
        has = 'both "user" and' if body.user is not None else 'neither "user" nor'
        raise ApiError(
            422,
            "invalid_request",
            f'the request has {has} "items": send exactly one of them, {_RECOMMEND_SHAPES}',
        )
    check_recommend_limits(body, served.settings)
    k = body.k if body.k is not None else model.default_k
    query = list(body.items or [])
    details: list[dict[str, Any]] = []
    unknown: list[str] = []
    for field, ids in (("items", query), ("exclude", body.exclude)):
        for index, item in enumerate(ids):
            if not model.knows_item(item):
                details.append(
                    {"loc": [field, index], "msg": "unknown item id", "type": "unknown_item"}
                )
                if item not in unknown:
                    unknown.append(item)
    if unknown:
        raise ApiError(
            422,
            "unknown_items",
            f"item id(s) {_name_ids(unknown)} are not in the model's catalogue; leave them out",
            details=details,
        )
    loop = asyncio.get_running_loop()
    if body.user is not None:
        if not model.knows_user(body.user):
            raise ApiError(
                404,
                "unknown_user",
                f"user {json.dumps(body.user)} has no history in the model (no training "
                'interactions); send the items they interacted with as "items" instead',
            )
        call = partial(model.recommend, body.user, k, list(body.exclude))
    else:
        call = partial(model.recommend_items, query, k, list(body.exclude))
    metrics.request_texts.labels("/v1/recommend").observe(max(len(query), 1))
    ranked = await loop.run_in_executor(served.executor, call)
    return RecommendResponse(
        items=[str(i) for i in ranked],
        k=k,
        user=body.user,
        known_user=body.user is not None,
        model=served.strategy,
        strategy=served.strategy,
    )


def _not_a_recommender(served: Served) -> ApiError:
    what = "table rows" if served.table is not None else "texts"
    return ApiError(
        404,
        "not_a_recommender",
        f"the served model ({served.strategy}) classifies {what}; it does not recommend: "
        "use POST /v1/predict (/v1/recommend is served only for recommendation models)",
    )


async def recommend_unsupported(served: ServedDep) -> None:
    """The recommend route of a classifier: a 404 that names the route to use."""
    raise _not_a_recommender(served)


async def predict_unsupported(served: ServedDep) -> None:
    """The predict route of a recommendation model: a 404 that names the route to use."""
    raise ApiError(
        404,
        "not_a_classifier",
        f"the served model ({served.strategy}) recommends items; it does not classify: use "
        f"POST /v1/recommend with {_RECOMMEND_SHAPES}",
    )


async def model_manifest(served: ServedDep) -> dict[str, Any]:
    """The manifest of the served model directory: task, strategy, labels, metrics, versions."""
    if served.table is None:
        return served.model.manifest
    return {**served.model.manifest, "input_columns": dict(served.table.kinds)}


def _v1_router(table: TableSpec | None, recommends: bool = False) -> APIRouter:
    """The ``/v1`` routes; the predict route's body depends on the kind of model served, and a
    recommendation model has ``/v1/recommend`` instead."""
    v1 = APIRouter(prefix="/v1", tags=["model"], responses=_error_responses(422, 500, 503))
    if recommends:
        v1.add_api_route(
            "/recommend",
            recommend,
            methods=["POST"],
            summary="Recommend items for a user or a session",
            description=_RECOMMEND_DOC,
            responses=_error_responses(404),
        )
        # Not in the schema: it answers every request with a 404 naming /v1/recommend.
        v1.add_api_route("/predict", predict_unsupported, methods=["POST"], include_in_schema=False)
    elif table is None:
        v1.add_api_route(
            "/predict",
            predict,
            methods=["POST"],
            summary="Classify one text or a batch",
            responses=_error_responses(400),
        )
    else:
        v1.add_api_route(
            "/predict",
            _table_predict(table, table.request_model()),
            methods=["POST"],
            summary="Classify one table row or a batch of rows",
            description=_TABLE_PREDICT_DOC,
            responses=_error_responses(400),
        )
    if not recommends:
        v1.add_api_route(
            "/recommend", recommend_unsupported, methods=["POST"], include_in_schema=False
        )
    v1.add_api_route(
        "/embeddings",
        embeddings,
        methods=["POST"],
        summary="Sentence embeddings (OpenAI format)",
        responses=_error_responses(400, 404),
    )
    v1.add_api_route(
        "/model",
        model_manifest,
        methods=["GET"],
        summary="The model's manifest",
        # A table model's answer adds its input columns and their kinds, in order.
        description=None if table is None else _TABLE_MODEL_DOC,
    )
    return v1


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


_TEXT_FIELDS = frozenset({"inputs", "text", "texts"})
_ROW_FIELDS = frozenset({"rows", "row"})
_ROWS_SHAPE = '{"rows": [{column: value, ...}, ...]} or {"row": {column: value, ...}}'


def _wrong_input_kind(exc: RequestValidationError, table: TableSpec | None) -> ApiError | None:
    """The 422 for texts sent to a table model, or rows to a text model; None otherwise."""
    body = exc.body
    if not isinstance(body, dict):
        return None
    fields = set(body)
    details = _describe(exc.errors())
    if table is not None and fields & _TEXT_FIELDS:
        return ApiError(
            422,
            "invalid_request",
            f"this model classifies table rows, not texts: send {_ROWS_SHAPE}, with the "
            f"columns {table.describe()}",
            details=details,
        )
    if table is None and fields & _ROW_FIELDS and "inputs" not in fields:
        return ApiError(
            422,
            "invalid_request",
            'this model classifies texts, not table rows: send {"inputs": "a text"} or '
            '{"inputs": ["a text", "another"]}',
            details=details,
        )
    return None


def _rows_error(
    problems: list[RowProblem], other: list[dict[str, Any]], field: str, table: TableSpec
) -> ApiError:
    """One 422 for everything wrong with a table body: each problem names its row (and
    column); unknown or missing columns add the columns the model takes."""
    for detail in other:
        if detail["type"] == "extra_forbidden" and len(detail["loc"]) == 1:
            detail["msg"] = f"unknown field; this model takes {_ROWS_SHAPE}"
    parts = [f"{'.'.join(map(str, d['loc'])) or 'body'}: {d['msg']}" for d in other]
    parts += [f"row {p.row}: {p.message}" for p in problems]
    message = "invalid request: " + "; ".join(parts[:5])
    if len(parts) > 5:
        message += f" (and {len(parts) - 5} more)"
    if any(p.type in ("unknown_column", "missing_column") for p in problems):
        message += f"; this model takes: {table.describe()}"
    details = other + [p.detail(field) for p in problems]
    return ApiError(422, "invalid_request", message, details=details)


def _install_error_handlers(app: FastAPI) -> None:
    async def api_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, ApiError)
        return _error(exc.status, exc.type, exc.message, exc.details, headers=exc.headers)

    async def validation_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        if getattr(request.scope.get("route"), "path", None) == "/v1/predict":
            table: TableSpec | None = request.app.state.table
            wrong = _wrong_input_kind(exc, table)
            if wrong is None and table is not None:
                problems, other, field = table.describe_errors(exc.errors())
                wrong = _rows_error(problems, _describe(other), field, table)
            if wrong is not None:
                return _error(422, wrong.type, wrong.message, wrong.details)
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
    load = loader or _load
    metrics = ServeMetrics()
    # The routes (and the OpenAPI schema) are built now; the model loads in the lifespan.
    peeked = _peek_manifest(model_dir)
    table = TableSpec.from_manifest(peeked)
    recommends = _task(peeked) == RECOMMENDATION

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        model = await asyncio.to_thread(load, model_dir)
        if (
            TableSpec.from_manifest(model.manifest) != table
            or (_task(model.manifest) == RECOMMENDATION) != recommends
        ):
            raise ModelError(
                f"{model_dir}: the loaded model's inputs differ from those of the manifest "
                "read when the server was built (the folder changed meanwhile); restart it"
            )
        recommender = cast(RecommendingModel, model) if recommends else None
        # Some models load their encoder on first use: pay for that now, so that /readyz
        # means ready and the first client does not wait seconds.
        await asyncio.to_thread(_warm_up, model, table, recommender)
        served = Served(model, settings, metrics, table, recommender)
        served.start()
        app.state.served = served
        logger.info(
            "model loaded",
            extra={
                "fields": {
                    "strategy": served.strategy,
                    "task": _task(model.manifest) if table is None else TABLE_TASK,
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
        f"A recommendation model: POST /v1/recommend. Limits: k at most {RECOMMEND_MAX_K}, "
        f"{settings.max_batch} item ids per list, {settings.max_text_chars} characters per id "
        "(422 beyond). "
        if recommends
        else f"Limits: {settings.max_batch} texts per request, {settings.max_text_chars} "
        "characters per text (422 beyond). "
        if table is None
        else f"A table model: {len(table.kinds)} input columns. Limits: {settings.max_batch} "
        f"rows per request, {settings.max_text_chars} characters per string value "
        "(422 beyond). "
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
            openapi = document_limits(default_openapi(), settings)
            if table is not None:
                openapi = document_table_limits(openapi, settings)
            app.openapi_schema = openapi
        return app.openapi_schema

    # FastAPI's documented way to extend the schema: replace app.openapi.
    app.openapi = openapi_with_limits  # type: ignore[method-assign]
    app.state.metrics = metrics
    app.state.served = None
    app.state.settings = settings
    app.state.table = table
    app.add_middleware(InstrumentMiddleware, metrics=metrics)
    _install_error_handlers(app)
    v1 = _v1_router(table, recommends)
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
