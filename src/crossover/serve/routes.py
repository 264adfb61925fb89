"""The routes every served model has: ``/v1`` (its model routes, embeddings, the manifest),
the operations routes (health, readiness, metrics), and the API key check."""

from __future__ import annotations

import base64
import secrets
from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Security
from fastapi.responses import PlainTextResponse, Response
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer

from crossover.serve.classify import add_classify_routes
from crossover.serve.errors import ApiError, error_responses
from crossover.serve.forecast import add_forecast_routes
from crossover.serve.images import add_image_routes
from crossover.serve.recommend import add_recommend_routes
from crossover.serve.schemas import (
    EmbeddingData,
    EmbeddingsRequest,
    EmbeddingsResponse,
    Health,
    Usage,
    check_limits,
)
from crossover.serve.served import MetricsDep, ServedDep
from crossover.serve.table import TableSpec

__all__ = ["TABLE_MODEL_DOC", "key_checker", "ops", "v1_router"]


TABLE_MODEL_DOC = (
    "The manifest of the served model directory: task, strategy, labels, metrics, versions, "
    "and its input schema; `input_columns` gives the input columns and their kinds, in order."
)


async def embeddings(
    body: EmbeddingsRequest, served: ServedDep, metrics: MetricsDep
) -> EmbeddingsResponse:
    """The OpenAI embeddings API, answered by the embedding model the served model is built on.

    404 for a model that is not built on one (TF-IDF, for instance).
    """
    if served.embedder is None:
        what = {
            "table": "classifies table rows and ",
            "image": "classifies images and ",
            "series": "forecasts series and ",
        }.get(served.input_kind if served.table is None else "table", "")
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


async def model_manifest(served: ServedDep) -> dict[str, Any]:
    """The manifest of the served model directory: task, strategy, labels (every class, in
    the order of /v1/predict's probabilities), metrics, versions."""
    if served.table is None:
        return served.model.manifest
    return {**served.model.manifest, "input_columns": dict(served.table.kinds)}


def v1_router(input_kind: str, table: TableSpec | None) -> APIRouter:
    """The ``/v1`` routes of a model that takes ``input_kind``: a classifier's predict route
    (its body depends on what it takes: texts, the rows of ``table``, or images), or for a
    model that takes interactions ``/v1/recommend`` instead; embeddings and the manifest for
    every model."""
    v1 = APIRouter(prefix="/v1", tags=["model"], responses=error_responses(422, 500, 503))
    add_model_routes = _MODEL_ROUTES.get(input_kind, add_classify_routes)
    add_model_routes(v1, table)
    v1.add_api_route(
        "/embeddings",
        embeddings,
        methods=["POST"],
        summary="Sentence embeddings (OpenAI format)",
        responses=error_responses(400, 404),
    )
    v1.add_api_route(
        "/model",
        model_manifest,
        methods=["GET"],
        summary="The model's manifest",
        # A table model's answer adds its input columns and their kinds, in order.
        description=None if table is None else TABLE_MODEL_DOC,
    )
    return v1


#: The model routes of each kind of input a model takes; a classifier's otherwise.
_MODEL_ROUTES: dict[str, Callable[[APIRouter, TableSpec | None], None]] = {
    "interactions": add_recommend_routes,
    "image": add_image_routes,
    "series": add_forecast_routes,
}


ops = APIRouter(tags=["operations"])


@ops.get("/healthz", summary="The process is alive")
async def healthz() -> Health:
    return Health(status="ok")


@ops.get("/readyz", summary="The model is loaded", responses=error_responses(503))
async def readyz(served: ServedDep) -> Health:
    return Health(status="ready")


@ops.get("/metrics", summary="Prometheus metrics", response_class=PlainTextResponse)
async def metrics_route(metrics: MetricsDep) -> Response:
    content, media_type = metrics.exposition()
    return Response(content=content, media_type=media_type)


# Module-level: FastAPI resolves a dependency's annotations in the module's namespace.
_bearer = HTTPBearer(auto_error=False, description="Authorization: Bearer KEY")
_key_header = APIKeyHeader(name="X-API-Key", auto_error=False, description="X-API-Key: KEY")


def key_checker(key: str) -> Callable[..., Any]:
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
