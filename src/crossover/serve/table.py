"""Serving a table model (``input_kind`` "table"): its request body, checks and frames.

A table model's manifest carries ``input_schema``, a JSON Schema of one row whose properties
name the input columns with their kind (``x-kind``: numeric, categorical, text, datetime).
:class:`TableSpec` reads it; :meth:`TableSpec.request_model` builds the pydantic body of
``POST /v1/predict`` from it (``{"rows": [{column: value, ...}, ...]}`` or ``{"row": {...}}``),
so that the OpenAPI schema shows the real columns and their JSON types.

What a row accepts, by column kind (every column must be present; ``null`` is a missing
value, which the model imputes as it did in training):

- numeric: a JSON number (integer or not, finite). A number in quotes (``"12.5"``) is refused:
  the API is strict JSON, as the text API is (it refuses a number as a text), so that a value
  has one spelling, the schema says exactly what is accepted, and a client that sends strings
  by mistake learns it at once instead of finding out from odd predictions;
- categorical: a string, a number or a boolean, read as the model reads training values
  (``3`` and ``3.0`` are the category ``"3"``, ``true`` is ``"True"``); an unseen category is
  allowed (the model treats it as it was trained to);
- text: a string;
- datetime: a string that parses as a date (ISO 8601 is best: ``"2024-03-01"``,
  ``"2024-03-01T12:30:00Z"``; the model's own parser decides, and a string it cannot read is
  refused), or a number of seconds since 1970-01-01 UTC (years 1 to 9999).

Every value is turned into its final form per row, before rows of concurrent requests share a
model call, so a row's prediction never depends on the rows it is batched with.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Annotated, Any, Literal, Self

import numpy as np
import pandas as pd
from pydantic import (
    AllowInfNan,
    BaseModel,
    ConfigDict,
    Field,
    Strict,
    StrictBool,
    StrictStr,
    create_model,
    model_validator,
)
from pydantic_core import PydanticCustomError

from crossover.artifacts.load import input_kind
from crossover.errors import ModelError
from crossover.serve.schemas import LimitExceeded, Prediction, PredictResponse
from crossover.serve.settings import ServeSettings

__all__ = [
    "RowProblem",
    "RowsInvalid",
    "TablePredictResponse",
    "TableRequest",
    "TableSpec",
    "document_table_limits",
]

ColumnKind = Literal["numeric", "categorical", "text", "datetime"]
KINDS: tuple[ColumnKind, ...] = ("numeric", "categorical", "text", "datetime")

#: Datetime numbers are epoch seconds of years 1 to 9999 (what a date string can say too).
EPOCH_MIN_S = -62_135_596_800  # 0001-01-01T00:00:00Z
EPOCH_MAX_S = 253_402_300_799  # 9999-12-31T23:59:59Z

Number = Annotated[float, Strict(), AllowInfNan(False)]
EpochSeconds = Annotated[float, Strict(), AllowInfNan(False), Field(ge=EPOCH_MIN_S, le=EPOCH_MAX_S)]

_TYPES: dict[str, Any] = {
    "numeric": Number | None,
    "categorical": StrictStr | Number | StrictBool | None,
    "text": StrictStr | None,
    "datetime": StrictStr | EpochSeconds | None,
}
_WANTS = {
    "numeric": "a number or null",
    "categorical": "a string, a number, a boolean or null",
    "text": "a string or null",
    "datetime": (
        "a date string (ISO 8601, such as '2024-03-01T12:30:00Z'), seconds since "
        "1970-01-01 UTC, or null"
    ),
}
_DESCRIPTIONS = {
    "numeric": "numeric column: a JSON number (not a string), or null for a missing value",
    "categorical": "categorical column: a string, number or boolean (an unseen value is "
    "allowed), or null for a missing value",
    "text": "free-text column: a string, or null for a missing value",
    "datetime": "datetime column: a date string that parses as a date (ISO 8601 is best), "
    "or seconds since 1970-01-01 UTC (years 1 to 9999), or null for a missing value",
}
_EXAMPLES: dict[str, Any] = {
    "numeric": 12.5,
    "categorical": "some value",
    "text": "a few words",
    "datetime": "2024-03-01T12:30:00Z",
}
_LISTED = 20  # columns named in a message before "... and N more"


class _TableRow(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


def _request_schema(schema: dict[str, Any], model: type[BaseModel]) -> None:
    # Exactly one of "rows" and "row": with unknown fields refused, that is one property.
    for prop in schema.get("properties", {}).values():
        prop.pop("default", None)
    schema["minProperties"] = 1
    schema["maxProperties"] = 1


class TableRequest(BaseModel):
    """The base of every table model's predict body; ``TableSpec.request_model`` adds the
    ``rows`` and ``row`` fields typed by the model's columns."""

    model_config = ConfigDict(extra="forbid", strict=True, json_schema_extra=_request_schema)

    @model_validator(mode="after")
    def _rows_or_row(self) -> Self:
        if len(self.model_fields_set & {"rows", "row"}) != 1:
            raise PydanticCustomError(
                "rows_or_row",
                'send the rows as {"rows": [{column: value, ...}, ...]}, or one row as '
                '{"row": {column: value, ...}}; exactly one of the two',
            )
        return self

    def row_list(self) -> list[BaseModel]:
        """The rows sent, in order (one for ``{"row": ...}``)."""
        if "row" in self.model_fields_set:
            return [getattr(self, "row")]  # noqa: B009  (a field of the dynamic subclass)
        return list(getattr(self, "rows"))  # noqa: B009


class TablePredictResponse(PredictResponse):
    predictions: list[Prediction] = Field(description="One per input row, in input order.")


@dataclass(frozen=True)
class RowProblem:
    """One thing wrong with one row: which row, which column, and what (for a 422)."""

    row: int
    column: str | None
    message: str
    type: str

    def detail(self, field: str = "rows") -> dict[str, Any]:
        """The problem as a validation error entry (loc, msg, type, row)."""
        loc: list[Any] = [field] if field == "row" else [field, self.row]
        if self.column is not None:
            loc.append(self.column)
        return {"loc": loc, "msg": self.message, "type": self.type, "row": self.row}


class RowsInvalid(Exception):
    """Rows that passed the schema but not the checks after it (a date that does not parse)."""

    def __init__(self, problems: list[RowProblem]) -> None:
        super().__init__(f"{len(problems)} invalid value(s)")
        self.problems = problems


@dataclass(frozen=True)
class TableSpec:
    """The input columns of a table model, with their kinds, in the order the model reads them.

    Parameters
    ----------
    kinds : dict of str to str
        Column -> numeric, categorical, text or datetime.
    required : tuple of str
        The columns a row must name (a value may be null); the others may be left out.
    """

    kinds: dict[str, ColumnKind]
    required: tuple[str, ...]

    @classmethod
    def from_manifest(cls, manifest: dict[str, Any]) -> TableSpec | None:
        """The spec of a table model's manifest; ``None`` for a model that takes anything
        else than table rows (see ``crossover.artifacts.input_kind``).

        Raises
        ------
        ModelError
            A table model whose ``input_schema`` names no column or a kind this server does
            not know.
        """
        if input_kind(manifest) != "table":
            return None
        schema = manifest.get("input_schema")
        props = schema.get("properties") if isinstance(schema, dict) else None
        if not isinstance(props, dict) or not props:
            raise ModelError(
                "the manifest of this table model has no input_schema "
                "properties; export the model again with this version of crossover"
            )
        kinds: dict[str, ColumnKind] = {}
        for column, prop in props.items():
            kind = prop.get("x-kind") if isinstance(prop, dict) else None
            if kind not in KINDS:
                raise ModelError(
                    f"the manifest gives input column {column!r} the kind {kind!r}; this "
                    f"server knows {', '.join(KINDS)}"
                )
            kinds[str(column)] = kind
        listed = schema.get("required") if isinstance(schema, dict) else None
        listed = [str(c) for c in listed] if isinstance(listed, list) else list(kinds)
        # The manifest is written with sorted keys; "required" keeps the model's column order.
        order = [c for c in listed if c in kinds] + [c for c in kinds if c not in listed]
        return cls({c: kinds[c] for c in order}, tuple(c for c in order if c in listed))

    # -- the request body ---------------------------------------------------------------------

    @property
    def fields(self) -> list[str]:
        """The pydantic field name of each column (``c0``, ``c1``, ...; the column is the
        alias, so any column name works, even one pydantic reserves)."""
        return [f"c{i}" for i in range(len(self.kinds))]

    def row_model(self) -> type[BaseModel]:
        """The pydantic model of one row: every column, typed by its kind; nothing else."""
        fields: dict[str, Any] = {}
        for name, (column, kind) in zip(self.fields, self.kinds.items(), strict=True):
            default = ... if column in self.required else None
            fields[name] = (
                _TYPES[kind],
                Field(default, alias=column, title=column, description=_DESCRIPTIONS[kind]),
            )
        row: type[BaseModel] = create_model("TableRow", __base__=_TableRow, **fields)
        return row

    def request_model(self) -> type[TableRequest]:
        """The body of ``POST /v1/predict``: ``{"rows": [row, ...]}`` or ``{"row": row}``."""
        row = self.row_model()
        example = {column: _EXAMPLES[kind] for column, kind in self.kinds.items()}
        model: type[TableRequest] = create_model(
            "TablePredictRequest",
            __base__=TableRequest,
            __doc__='``{"rows": [{column: value, ...}, ...]}`` or ``{"row": {column: value}}``.',
            rows=(
                list[row],  # type: ignore[valid-type]
                Field(
                    None,
                    min_length=1,
                    description="One or more table rows; each gets one prediction, in order.",
                ),
            ),
            row=(row, Field(None, description="One table row (the same as one-row rows).")),
        )
        model.model_config["json_schema_extra"] = _with_example(example)
        model.model_rebuild(force=True)
        return model

    # -- checks and values --------------------------------------------------------------------

    def describe(self, limit: int = _LISTED) -> str:
        """``'age' (numeric), 'city' (categorical), ...``: the columns, for messages."""
        named = [f"{column!r} ({kind})" for column, kind in list(self.kinds.items())[:limit]]
        more = len(self.kinds) - limit
        return ", ".join(named) + (f", and {more} more (see /v1/model)" if more > 0 else "")

    def check_limits(self, rows: Sequence[BaseModel], settings: ServeSettings) -> None:
        """Raise ``LimitExceeded`` naming the first limit ``rows`` break (row count, string
        length)."""
        if len(rows) > settings.max_batch:
            raise LimitExceeded(
                f"the batch has {len(rows)} rows; this server accepts at most "
                f"{settings.max_batch} per request (max_batch); split it into smaller requests"
            )
        for index, row in enumerate(rows):
            for name, column in zip(self.fields, self.kinds, strict=True):
                value = getattr(row, name)
                if isinstance(value, str) and len(value) > settings.max_text_chars:
                    raise LimitExceeded(
                        f"row {index}, column {column!r}: the value has {len(value)} "
                        f"characters; this server accepts at most {settings.max_text_chars} "
                        "(max_text_chars); shorten it"
                    )

    def records(self, rows: Sequence[BaseModel]) -> list[tuple[Any, ...]]:
        """Each row's values in column order, each in the form the model reads.

        Raises
        ------
        RowsInvalid
            A datetime string the model's date parser cannot read (naming row and column).
        """
        columns: list[list[Any]] = []
        problems: list[RowProblem] = []
        for name, (column, kind) in zip(self.fields, self.kinds.items(), strict=True):
            values = [getattr(row, name) for row in rows]
            if kind == "categorical":
                values = [_category(v) for v in values]
            elif kind == "datetime":
                values = _dates(values, column, problems)
            columns.append(values)
        if problems:
            raise RowsInvalid(sorted(problems, key=lambda p: p.row))
        return list(zip(*columns, strict=True)) if columns else [() for _ in rows]

    def null_record(self) -> tuple[Any, ...]:
        """A row of missing values (to warm the model up)."""
        return tuple(None for _ in self.kinds)

    def frame(self, records: Sequence[tuple[Any, ...]]) -> pd.DataFrame:
        """The model's input: one row per record, one column per input column, with dtypes
        that do not depend on which records share the frame."""
        data: dict[str, Any] = {}
        for position, (column, kind) in enumerate(self.kinds.items()):
            values = [record[position] for record in records]
            if kind == "numeric":
                data[column] = np.array(
                    [np.nan if v is None else v for v in values], dtype=np.float64
                )
            else:
                data[column] = pd.Series(values, dtype=object)
        return pd.DataFrame(data, index=pd.RangeIndex(len(records)))

    # -- validation errors --------------------------------------------------------------------

    def describe_errors(
        self, errors: Iterable[dict[str, Any]]
    ) -> tuple[list[RowProblem], list[dict[str, Any]], str]:
        """Sort pydantic's errors of a table body: (row problems, other errors, field).

        Row problems are grouped per row: unknown columns, missing columns, and one problem
        per column whose value has the wrong type. ``field`` is ``"rows"`` or ``"row"``.
        """
        unknown: dict[int, list[str]] = {}
        missing: dict[int, list[str]] = {}
        bad: dict[tuple[int, str], RowProblem] = {}
        other: list[dict[str, Any]] = []
        field = "rows"
        for error in errors:
            loc = [p for p in error.get("loc", ()) if p != "body"]
            if loc[:1] == ["row"]:
                index, rest, field = 0, loc[1:], "row"
            elif len(loc) >= 2 and loc[0] == "rows" and isinstance(loc[1], int):
                index, rest = loc[1], loc[2:]
            else:
                other.append(error)
                continue
            kind = str(error.get("type"))
            if not rest:  # the row itself is not an object
                bad[(index, "")] = RowProblem(
                    index,
                    None,
                    "a row must be a JSON object of column: value "
                    f"(got {_json_type(error.get('input'))})",
                    "row_type",
                )
            elif kind == "extra_forbidden":
                unknown.setdefault(index, []).append(str(rest[0]))
            elif kind == "missing":
                missing.setdefault(index, []).append(str(rest[0]))
            else:
                column = str(rest[0])
                bad.setdefault((index, column), self._bad_value(index, column, error))
        problems = list(bad.values())
        for index, names in unknown.items():
            problems.append(
                RowProblem(index, None, f"unknown column(s) {_quoted(names)}", "unknown_column")
            )
        for index, names in missing.items():
            problems.append(
                RowProblem(
                    index,
                    None,
                    f"missing column(s) {_quoted(names)} (send null for a missing value)",
                    "missing_column",
                )
            )
        order = {"unknown_column": 0, "missing_column": 1}
        problems.sort(key=lambda p: (p.row, order.get(p.type, 2)))
        return problems, other, field

    def _bad_value(self, index: int, column: str, error: dict[str, Any]) -> RowProblem:
        kind = self.kinds.get(column, "categorical")
        given = error.get("input")
        message = f"takes {_WANTS[kind]}, got {_json_type(given)}"
        if isinstance(given, float) and not math.isfinite(given):
            message = f"takes {_WANTS[kind]}, got a number that is not finite"
        elif isinstance(given, int | float) and not isinstance(given, bool):
            if kind == "datetime":
                message = (
                    "takes seconds since 1970-01-01 UTC between "
                    f"{EPOCH_MIN_S} and {EPOCH_MAX_S} (years 1 to 9999), got a number "
                    "outside them"
                )
            else:
                message = f"takes {_WANTS[kind]}, got a number out of the float range"
        elif kind == "numeric" and isinstance(given, str):
            message += ' (send numbers as JSON numbers: 12.5, not "12.5")'
        return RowProblem(index, column, f"column {column!r} ({kind}) {message}", "wrong_type")


def _with_example(example: dict[str, Any]) -> Any:
    def extra(schema: dict[str, Any], model: type[BaseModel]) -> None:
        _request_schema(schema, model)
        schema["examples"] = [{"row": example}]

    return extra


def _category(value: Any) -> str | None:
    """A category as the model reads a training value: whole floats as integers, bools as
    ``True``/``False`` (see ``crossover.strategies.tabular.features._as_strings``)."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _dates(values: list[Any], column: str, problems: list[RowProblem]) -> list[Any]:
    """Date strings kept as sent (the model parses each on its own, as here); epoch seconds as
    ISO 8601 strings; a string the model's parser cannot read is a problem."""
    from crossover.tasks.tabular.columns import parse_dates

    out: list[Any] = []
    strings: dict[int, str] = {}
    for index, value in enumerate(values):
        if isinstance(value, str):
            strings[index] = value
            out.append(value)
        elif value is None:
            out.append(None)
        else:
            out.append(pd.Timestamp(float(value), unit="s", tz="UTC").isoformat())
    if strings:
        parsed = parse_dates(pd.Series(list(strings.values()), dtype=object))
        for index, stamp in zip(strings, parsed, strict=True):
            if pd.isna(stamp):
                problems.append(
                    RowProblem(
                        index,
                        column,
                        f"column {column!r} (datetime): the string does not parse as a date; "
                        "send ISO 8601, such as '2024-03-01' or '2024-03-01T12:30:00Z'",
                        "invalid_date",
                    )
                )
    return out


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


def _quoted(names: list[str], limit: int = 10, width: int = 40) -> str:
    shown = [repr(n if len(n) <= width else n[: width - 1] + "…") for n in names[:limit]]
    more = len(names) - limit
    return ", ".join(shown) + (f", and {more} more" if more > 0 else "")


def document_table_limits(openapi: dict[str, Any], settings: ServeSettings) -> dict[str, Any]:
    """Write ``settings``' size limits into a table app's OpenAPI schema (in place): most rows
    per request, most characters of a string value."""
    schemas = openapi.get("components", {}).get("schemas", {})
    rows = schemas.get("TablePredictRequest", {}).get("properties", {}).get("rows")
    if isinstance(rows, dict):
        rows["maxItems"] = settings.max_batch
    for prop in schemas.get("TableRow", {}).get("properties", {}).values():
        for branch in prop.get("anyOf", [prop]):
            if branch.get("type") == "string":
                branch["maxLength"] = settings.max_text_chars
    return openapi
