"""The recommend route of a model that takes interactions, and the 404s that point a client
from ``/v1/predict`` to ``/v1/recommend`` and back."""

from __future__ import annotations

import asyncio
import json
from functools import partial
from typing import Any

from fastapi import APIRouter

from crossover.serve.errors import ApiError, error_responses
from crossover.serve.schemas import RecommendRequest, RecommendResponse, check_recommend_limits
from crossover.serve.served import MetricsDep, Served, ServedDep
from crossover.serve.table import TableSpec

__all__ = [
    "RECOMMEND_DOC",
    "RECOMMEND_SHAPES",
    "add_recommend_routes",
    "not_a_recommender",
    "predict_unsupported",
    "recommend",
    "recommend_unsupported",
]


RECOMMEND_SHAPES = '{"user": "42", "k": 10} or {"items": ["1", "50"], "k": 10}'

RECOMMEND_DOC = """Recommended item ids, best first.

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
        raise not_a_recommender(served)
    if (body.user is None) == (body.items is None):
        has = 'both "user" and' if body.user is not None else 'neither "user" nor'
        raise ApiError(
            422,
            "invalid_request",
            f'the request has {has} "items": send exactly one of them, {RECOMMEND_SHAPES}',
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


def not_a_recommender(served: Served) -> ApiError:
    what = "table rows" if served.table is not None else "texts"
    return ApiError(
        404,
        "not_a_recommender",
        f"the served model ({served.strategy}) classifies {what}; it does not recommend: "
        "use POST /v1/predict (/v1/recommend is served only for recommendation models)",
    )


async def recommend_unsupported(served: ServedDep) -> None:
    """The recommend route of a classifier: a 404 that names the route to use."""
    raise not_a_recommender(served)


async def predict_unsupported(served: ServedDep) -> None:
    """The predict route of a recommendation model: a 404 that names the route to use."""
    raise ApiError(
        404,
        "not_a_classifier",
        f"the served model ({served.strategy}) recommends items; it does not classify: use "
        f"POST /v1/recommend with {RECOMMEND_SHAPES}",
    )


def add_recommend_routes(v1: APIRouter, table: TableSpec | None = None) -> None:
    """The model routes of a model that takes interactions on ``v1``: recommend; ``/v1/predict``
    answers a 404 that names the route to use (``table`` is unused: it has no columns)."""
    v1.add_api_route(
        "/recommend",
        recommend,
        methods=["POST"],
        summary="Recommend items for a user or a session",
        description=RECOMMEND_DOC,
        responses=error_responses(404),
    )
    # Not in the schema: it answers every request with a 404 naming /v1/recommend.
    v1.add_api_route("/predict", predict_unsupported, methods=["POST"], include_in_schema=False)
