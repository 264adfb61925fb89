"""Errors as the server answers them: ``{"error": {"type", "message", "details"}}``.

:class:`ApiError` is what a route raises; :func:`install_error_handlers` turns it, and every
other failure (a body the schema refuses, a request over the limits, an unknown route, a bug),
into that shape. A body refused by the schema of ``POST /v1/predict`` gets a message that says
what this model takes: texts sent to a table or image model, rows to a text or image model,
or images (base64 JSON or a multipart upload) to a text or table model, are named as such,
and a table body's problems name their row and column.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from crossover.serve.batching import BatcherStopped
from crossover.serve.schemas import ErrorResponse, LimitExceeded
from crossover.serve.table import RowProblem, TableSpec

__all__ = [
    "IMAGES_SHAPE",
    "ROWS_SHAPE",
    "ApiError",
    "describe_errors",
    "error_response",
    "error_responses",
    "install_error_handlers",
    "rows_error",
    "series_body_error",
    "wrong_input_kind",
]

logger = logging.getLogger("crossover.serve")


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


def error_responses(*codes: int) -> dict[int | str, dict[str, Any]]:
    return {code: {"model": ErrorResponse} for code in codes}


def error_response(
    status: int, type_: str, message: str, details: list[dict[str, Any]] | None = None, **kw: Any
) -> JSONResponse:
    body = ErrorResponse.model_validate(
        {"error": {"type": type_, "message": message, "details": details}}
    )
    return JSONResponse(body.model_dump(exclude_none=True), status_code=status, **kw)


# pydantic names the branches of ``str | list[str]`` in an error's location; they mean nothing
# to a client, and the branch that does not apply to the input given only adds noise.
_STR_BRANCH, _LIST_BRANCH = "constrained-str", "list[constrained-str]"


def describe_errors(errors: Sequence[Any]) -> list[dict[str, Any]]:
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
_IMAGE_FIELDS = frozenset({"images", "image"})
ROWS_SHAPE = '{"rows": [{column: value, ...}, ...]} or {"row": {column: value, ...}}'
IMAGES_SHAPE = (
    '{"images": ["<base64>", ...]} or {"image": "<base64>"}, or a multipart/form-data upload '
    "(curl -F images=@photo.jpg)"
)
_TEXTS_SHAPE = '{"inputs": "a text"} or {"inputs": ["a text", "another"]}'


def wrong_input_kind(
    exc: RequestValidationError,
    table: TableSpec | None,
    input_kind: str = "text",
    content_type: str | None = None,
) -> ApiError | None:
    """The 422 for what another kind of model takes: texts or rows sent to an image model,
    images to a text or table model (base64 fields, or a multipart upload: ``content_type``),
    texts to a table model, rows to a text model; None otherwise."""
    body = exc.body
    fields = set(body) if isinstance(body, dict) else set()
    details = describe_errors(exc.errors())
    if input_kind == "image":
        sent = "texts" if fields & _TEXT_FIELDS else "table rows" if fields & _ROW_FIELDS else ""
        if not sent or fields & _IMAGE_FIELDS:
            return None
        message = f"this model classifies images, not {sent}: send {IMAGES_SHAPE}"
        return ApiError(422, "invalid_request", message, details=details)
    uploaded = (content_type or "").lower().startswith("multipart/form-data")
    if uploaded or (fields & _IMAGE_FIELDS and not fields & (_TEXT_FIELDS | _ROW_FIELDS)):
        takes, shape = ("table rows", ROWS_SHAPE) if table is not None else ("texts", _TEXTS_SHAPE)
        message = f"this model classifies {takes}, not images: send JSON, {shape}"
        return ApiError(422, "invalid_request", message, details=details)
    if table is not None and fields & _TEXT_FIELDS:
        return ApiError(
            422,
            "invalid_request",
            f"this model classifies table rows, not texts: send {ROWS_SHAPE}, with the "
            f"columns {table.describe()}",
            details=details,
        )
    if table is None and fields & _ROW_FIELDS and "inputs" not in fields:
        return ApiError(
            422,
            "invalid_request",
            f"this model classifies texts, not table rows: send {_TEXTS_SHAPE}",
            details=details,
        )
    return None


def rows_error(
    problems: list[RowProblem], other: list[dict[str, Any]], field: str, table: TableSpec
) -> ApiError:
    """One 422 for everything wrong with a table body: each problem names its row (and
    column); unknown or missing columns add the columns the model takes."""
    for detail in other:
        if detail["type"] == "extra_forbidden" and len(detail["loc"]) == 1:
            detail["msg"] = f"unknown field; this model takes {ROWS_SHAPE}"
    parts = [f"{'.'.join(map(str, d['loc'])) or 'body'}: {d['msg']}" for d in other]
    parts += [f"row {p.row}: {p.message}" for p in problems]
    message = "invalid request: " + "; ".join(parts[:5])
    if len(parts) > 5:
        message += f" (and {len(parts) - 5} more)"
    if any(p.type in ("unknown_column", "missing_column") for p in problems):
        message += f"; this model takes: {table.describe()}"
    details = other + [p.detail(field) for p in problems]
    return ApiError(422, "invalid_request", message, details=details)


def series_body_error(exc: RequestValidationError) -> ApiError:
    """The 422 for a ``POST /v1/forecast`` body the schema refuses: a problem inside a series
    names that series by its id (when the body gives one; ``details`` add it as ``id``), the
    others their field."""
    body = exc.body
    sent = body.get("series") if isinstance(body, dict) else None
    details = describe_errors(exc.errors())
    parts = []
    for detail in details:
        loc = detail["loc"]
        where = ".".join(map(str, loc)) or "body"
        index = loc[1] if len(loc) >= 2 and loc[0] == "series" else None
        if isinstance(index, int) and isinstance(sent, list) and index < len(sent):
            item = sent[index]
            series_id = item.get("id") if isinstance(item, dict) else None
            if isinstance(series_id, str | int) and not isinstance(series_id, bool):
                detail["id"] = str(series_id)
                inside = ".".join(map(str, loc[2:])) or "the series"
                where = f"series {json.dumps(str(series_id))}: {inside}"
        parts.append(f"{where}: {detail['msg']}")
    message = "invalid request: " + "; ".join(parts[:5])
    if len(parts) > 5:
        message += f" (and {len(parts) - 5} more)"
    return ApiError(422, "invalid_request", message, details=details)


def install_error_handlers(app: FastAPI) -> None:
    async def api_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, ApiError)
        return error_response(exc.status, exc.type, exc.message, exc.details, headers=exc.headers)

    async def validation_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        path = getattr(request.scope.get("route"), "path", None)
        if path == "/v1/forecast":
            wrong_body = series_body_error(exc)
            return error_response(422, wrong_body.type, wrong_body.message, wrong_body.details)
        if path == "/v1/predict":
            table: TableSpec | None = request.app.state.table
            kind = getattr(request.app.state, "input_kind", "text")
            content_type = request.headers.get("content-type")
            wrong = wrong_input_kind(exc, table, kind, content_type)
            if wrong is None and table is not None:
                problems, other, field = table.describe_errors(exc.errors())
                wrong = rows_error(problems, describe_errors(other), field, table)
            if wrong is not None:
                return error_response(422, wrong.type, wrong.message, wrong.details)
        details = describe_errors(exc.errors())
        parts = [f"{'.'.join(map(str, d['loc'])) or 'body'}: {d['msg']}" for d in details[:5]]
        more = f" (and {len(details) - 5} more)" if len(details) > 5 else ""
        return error_response(
            422, "invalid_request", "invalid request: " + "; ".join(parts) + more, details
        )

    async def too_large(request: Request, exc: Exception) -> JSONResponse:
        # 422 like every other request the schema refuses: the limits are in the schema.
        return error_response(422, "too_large", str(exc))

    async def stopped(request: Request, exc: Exception) -> JSONResponse:
        return error_response(503, "not_ready", str(exc))

    async def http_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, StarletteHTTPException)
        where = f"{request.method} {request.url.path}"
        if exc.status_code == 404:
            return error_response(
                404, "not_found", f"no route {where}; the routes are listed at /docs"
            )
        if exc.status_code == 405:
            message = f"{where} is not allowed; the routes and their methods are listed at /docs"
            return error_response(405, "method_not_allowed", message, headers=exc.headers)
        if exc.status_code == 400:  # a body Starlette cannot even decode (not UTF-8, say)
            message = f"the request body could not be read ({exc.detail}); send UTF-8 JSON"
            return error_response(400, "invalid_request", message)
        return error_response(exc.status_code, "http_error", str(exc.detail), headers=exc.headers)

    async def internal_error(request: Request, exc: Exception) -> JSONResponse:
        # The type only: an exception's message may quote the input.
        logger.error("internal error", extra={"fields": {"error": type(exc).__name__}})
        return error_response(500, "internal_error", "the server failed to answer; see its logs")

    app.add_exception_handler(ApiError, api_error)
    app.add_exception_handler(RequestValidationError, validation_error)
    app.add_exception_handler(LimitExceeded, too_large)
    app.add_exception_handler(BatcherStopped, stopped)
    app.add_exception_handler(StarletteHTTPException, http_error)
    app.add_exception_handler(Exception, internal_error)
