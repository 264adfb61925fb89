"""The predict routes of a classifier: texts, or table rows (see :mod:`crossover.serve.table`).

A text model's route is :func:`predict`; a table model's is built for its columns by
:func:`table_predict`, its rows sharing model calls with those of concurrent requests.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Request

from crossover.serve.errors import ApiError, error_responses, rows_error
from crossover.serve.recommend import recommend_unsupported
from crossover.serve.schemas import PredictRequest, PredictResponse, check_limits
from crossover.serve.served import MetricsDep, ServedDep
from crossover.serve.table import RowsInvalid, TablePredictResponse, TableRequest, TableSpec

__all__ = ["TABLE_PREDICT_DOC", "add_classify_routes", "predict", "table_predict"]


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
    return PredictResponse(model=served.strategy, predictions=predictions)


TABLE_PREDICT_DOC = """Labels and class probabilities, one per input row, in order.

Send `{"rows": [{column: value, ...}, ...]}`, or `{"row": {column: value, ...}}` for one row.
Every input column must be present (the schema lists them with their types); `null` is a
missing value. Numbers are JSON numbers (`12.5`, not `"12.5"`); a categorical value may be a
string, number or boolean; a datetime is a date string (ISO 8601 is best) or seconds since
1970-01-01 UTC. Any problem is a 422 that names the row and the column.
"""


def table_predict(table: TableSpec, body_model: type[TableRequest]) -> Callable[..., Any]:
    """The predict route of a table model, its body typed by ``body_model``."""

    async def predict(body: Any, served: ServedDep, metrics: MetricsDep) -> TablePredictResponse:
        rows = body.row_list()
        table.check_limits(rows, served.settings)
        field = "row" if "row" in body.model_fields_set else "rows"
        try:
            records = table.records(rows)
        except RowsInvalid as exc:
            raise rows_error(exc.problems, [], field, table) from None
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
        return TablePredictResponse(model=served.strategy, predictions=predictions)

    # FastAPI reads the body's type from the annotation: the model built for these columns.
    predict.__annotations__["body"] = body_model
    return predict


def add_classify_routes(v1: APIRouter, table: TableSpec | None) -> None:
    """A classifier's model routes on ``v1``: predict, for texts or (``table`` given) for the
    rows of those columns; ``/v1/recommend`` answers a 404 that names the route to use."""
    if table is None:
        v1.add_api_route(
            "/predict",
            predict,
            methods=["POST"],
            summary="Classify one text or a batch",
            responses=error_responses(400),
        )
    else:
        v1.add_api_route(
            "/predict",
            table_predict(table, table.request_model()),
            methods=["POST"],
            summary="Classify one table row or a batch of rows",
            description=TABLE_PREDICT_DOC,
            responses=error_responses(400),
        )
    # Not in the schema: it answers every request with a 404 naming /v1/predict.
    v1.add_api_route("/recommend", recommend_unsupported, methods=["POST"], include_in_schema=False)
