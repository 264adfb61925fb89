"""Request and response bodies of the HTTP API (pydantic v2).

Requests are strict: unknown fields are refused (``extra="forbid"``), a text must be a JSON
string (no number or null coerced into one), and an empty or blank text is refused. A payload in
another server's format, such as mlflow's ``{"dataframe_split": ...}``, therefore gets a 422 that
names the problem instead of a prediction made from whatever string could be found in it.

The size limits depend on the server's ``ServeSettings``: :func:`check_limits` applies them
after parsing (a breach is a 422 of type ``too_large``), and :func:`document_limits` writes
them into the app's OpenAPI schema (``maxItems``, ``maxLength``) for clients and
schema-driven tests.

A table model's predict body is built from its columns: see :mod:`crossover.serve.table`.
A recommendation model answers ``POST /v1/recommend`` (:class:`RecommendRequest`,
:class:`RecommendResponse`): its ids are JSON strings or integers, compared as text.
A forecasting model answers ``POST /v1/forecast`` (:class:`ForecastRequest`,
:class:`ForecastResponse`): each series' recent history in, the next steps with quantiles out.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    JsonValue,
    StrictInt,
    StrictStr,
    StringConstraints,
    WithJsonSchema,
)
from pydantic_core import PydanticCustomError

from crossover.artifacts.load import FORECAST_MAX_HORIZON, FORECAST_MAX_POINTS, RECOMMEND_MAX_K
from crossover.serve.settings import ServeSettings

__all__ = [
    "EmbeddingData",
    "EmbeddingsRequest",
    "EmbeddingsResponse",
    "ErrorBody",
    "ErrorResponse",
    "ForecastRequest",
    "ForecastResponse",
    "Health",
    "LimitExceeded",
    "PredictRequest",
    "PredictResponse",
    "Prediction",
    "RecommendRequest",
    "RecommendResponse",
    "SeriesForecast",
    "SeriesHistory",
    "Usage",
    "check_forecast_limits",
    "check_limits",
    "check_recommend_limits",
    "document_covariates",
    "document_limits",
]

#: A text to classify or embed: a JSON string with at least one non-blank character.
#: ``\S`` alone means two things: pydantic's (Rust) regex counts U+0085 as white space and
#: JSON Schema's (ECMA-262) counts U+FEFF; naming both makes the documented pattern and the
#: validation accept exactly the same strings (a client that trusts /docs is never refused).
NON_BLANK = r"[^\s\u0085\ufeff]"
Text = Annotated[
    StrictStr,
    StringConstraints(min_length=1, pattern=NON_BLANK),
    Field(description="A non-empty text; it must hold at least one non-whitespace character."),
]
TextBatch = Annotated[list[Text], Field(min_length=1, description="One or more texts.")]


class _Request(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


class PredictRequest(_Request):
    """``{"inputs": "one text"}`` or ``{"inputs": ["a text", "another"]}``."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"inputs": "where is my parcel?"}]})

    inputs: Text | TextBatch = Field(
        description="One text, or a batch of texts; each gets one prediction, in order."
    )

    def texts(self) -> list[str]:
        return [self.inputs] if isinstance(self.inputs, str) else list(self.inputs)


class Prediction(BaseModel):
    label: str = Field(description="The predicted class.")
    probabilities: dict[str, float] | None = Field(
        description="Probability of every class (they sum to 1), or null for a model that "
        "gives none."
    )


class PredictResponse(BaseModel):
    """The predictions, without the list of classes: ``GET /v1/model`` gives it once
    (``labels``), and each prediction's probabilities name every class."""

    model: str = Field(description="The strategy key of the served model.")
    predictions: list[Prediction] = Field(description="One per input text, in input order.")


class EmbeddingsRequest(_Request):
    """The OpenAI embeddings request: ``{"input": ..., "model": ...}``.

    OpenAI's ``dimensions`` is not accepted: truncating the vectors of a model that was not
    trained for it gives poorer embeddings without a word, so such a request is a 422.
    """

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"input": "where is my parcel?", "model": "any"}]}
    )

    input: Text | TextBatch = Field(description="One text, or a batch of texts.")
    model: StrictStr | None = Field(
        None,
        description="Accepted for compatibility with OpenAI clients; the served model answers "
        "whatever is named here, and the response says which model that is.",
    )
    encoding_format: Literal["float", "base64"] = Field(
        "float",
        description="'float': lists of numbers; 'base64': little-endian float32 bytes, "
        "base64-encoded (what the openai Python client asks for by default).",
    )
    user: StrictStr | None = Field(None, description="Accepted and ignored.")

    def texts(self) -> list[str]:
        return [self.input] if isinstance(self.input, str) else list(self.input)


class EmbeddingData(BaseModel):
    object: Literal["embedding"] = "embedding"
    index: int
    embedding: list[float] | str


class Usage(BaseModel):
    prompt_tokens: int = Field(
        description="Whitespace-separated words in the input (an estimate of tokens)."
    )
    total_tokens: int


class EmbeddingsResponse(BaseModel):
    object: Literal["list"] = "list"
    data: list[EmbeddingData]
    model: str
    usage: Usage


def _as_id(value: Any) -> str:
    """An id as text: a non-empty JSON string as it is, a JSON integer as its decimal text."""
    if isinstance(value, str) and value:
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    raise PydanticCustomError("id_type", "an id must be a non-empty string or an integer")


#: A user or item id: a non-empty JSON string, or an integer read as its decimal text.
Id = Annotated[
    str,
    BeforeValidator(_as_id),
    WithJsonSchema(
        {
            "anyOf": [{"type": "string", "minLength": 1}, {"type": "integer"}],
            "description": 'An id: a non-empty string, or an integer (42 is the id "42").',
        }
    ),
]


class RecommendRequest(_Request):
    """``{"user": "42", "k": 10}`` (a known user) or ``{"items": ["1", "50"], "k": 10}``
    (a session or a new user); ``exclude`` lists items never to return."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"user": "42", "k": 10}, {"items": ["1", "50"], "k": 10, "exclude": []}]
        }
    )

    user: Id | None = Field(
        None,
        description="A user with training interactions: their top k, their own training items "
        "left out. Send either user or items.",
    )
    items: list[Id] | None = Field(
        None,
        min_length=1,
        description="The item ids of a session or a new user: the top k for them, these items "
        "left out. Send either user or items.",
    )
    k: StrictInt | None = Field(
        None,
        ge=1,
        le=RECOMMEND_MAX_K,
        description="How many items to return (default: the k of the model's study); fewer "
        "when fewer items are left to rank.",
    )
    exclude: list[Id] = Field(
        default_factory=list, description="Item ids never to return (already in a cart, say)."
    )


class RecommendResponse(BaseModel):
    items: list[str] = Field(description="The recommended item ids, best first.")
    k: int = Field(description="The list length asked for (items has at most k).")
    user: str | None = Field(description="The user of the request; null for an items request.")
    known_user: bool = Field(
        description="Whether the list is the user's own (true), or was ranked from the request's "
        "items (false)."
    )
    model: str = Field(description="The strategy key of the served model (as /v1/predict).")
    strategy: str = Field(description="The strategy key of the served model.")


class SeriesHistory(_Request):
    """One series: its id, its recent history (oldest first), and optionally the time of the
    history's first point."""

    id: Id = Field(description="The series' id, echoed in its forecast.")
    history: list[float] = Field(
        min_length=1,
        max_length=FORECAST_MAX_POINTS,
        description="The series' recent values, oldest first, one per step of the model's "
        "frequency; finite numbers. The model's manifest (GET /v1/model, forecast.min_history) "
        "says the fewest it forecasts from.",
    )
    start: StrictStr | StrictInt | None = Field(
        None,
        description="The time of the history's first point: a timestamp on the model's "
        "frequency grid (ISO, such as 2024-01-01), or a whole-number step for a model whose "
        "data had no calendar. With it, the forecast's steps are labelled (timestamps).",
    )
    static: dict[str, StrictStr | int | float | bool | None] | None = Field(
        None,
        description="For a model fitted with static covariates (GET /v1/model: "
        "forecast.static): the series' value of each, by name (a text or a number; null: "
        'missing), e.g. {"region": "north"}.',
    )
    known: dict[str, list[float | bool]] | None = Field(
        None,
        description="For a model fitted with covariates known in advance (GET /v1/model: "
        "forecast.known): each one's values by name, one per history point and then one per "
        'step forecast (len(history) + horizon values), e.g. {"promo": [0, 1, ...]}.',
    )


#: Two years of monthly values (the airline passengers' first, in thousands).
_EXAMPLE_HISTORY: list[JsonValue] = [112, 118, 132, 129, 121, 135, 148, 148, 136, 119, 104, 118]
_EXAMPLE_HISTORY += [115, 126, 141, 135, 125, 149, 170, 170, 158, 133, 114, 140]


class ForecastRequest(_Request):
    """``{"series": [{"id": "store-1", "history": [...], "start": "2024-01-01"}],
    "horizon": 12}``."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "series": [
                        {
                            "id": "store-1",
                            "history": _EXAMPLE_HISTORY,
                            "start": "2024-01-01",
                        },
                    ],
                    "horizon": 3,
                }
            ]
        }
    )

    series: list[SeriesHistory] = Field(
        min_length=1, description="The series to forecast, each from its own history."
    )
    horizon: StrictInt | None = Field(
        None,
        ge=1,
        le=FORECAST_MAX_HORIZON,
        description="The steps to forecast after each history (default: the horizon of the "
        "model's study, the one its accuracy was measured at).",
    )


class SeriesForecast(BaseModel):
    id: str = Field(description="The series' id (as text).")
    mean: list[float] = Field(description="The point forecast of each step, in order.")
    quantiles: dict[str, list[float]] | None = Field(
        description='Forecasts at the quantiles "0.1" ... "0.9" (each a list over the steps; '
        "non-decreasing from one quantile to the next), or null for a model that gives none."
    )
    timestamps: list[str] | list[int] | None = Field(
        None,
        description="The time of each step (ISO dates, or whole-number steps), when the "
        "request gave the series' start.",
    )


class ForecastResponse(BaseModel):
    forecasts: list[SeriesForecast] = Field(description="One per series, in request order.")
    horizon: int = Field(description="The steps forecast.")
    freq: str | None = Field(
        description="The model's frequency (a pandas alias such as MS), null for whole-number "
        "steps."
    )
    model: str = Field(description="The strategy key of the served model (as /v1/predict).")


class Health(BaseModel):
    status: str


class ErrorBody(BaseModel):
    type: str = Field(description="A stable, machine-readable error kind.")
    message: str = Field(description="What is wrong and what to do about it.")
    details: list[dict[str, Any]] | None = Field(
        None, description="For validation errors: one entry per problem (loc, msg, type)."
    )


class ErrorResponse(BaseModel):
    error: ErrorBody


class LimitExceeded(Exception):
    """A request over one of the server's size limits (HTTP 422, type ``too_large``)."""


def check_limits(texts: list[str], settings: ServeSettings) -> None:
    """Raise ``LimitExceeded`` naming the first limit ``texts`` breaks."""
    if len(texts) > settings.max_batch:
        raise LimitExceeded(
            f"the batch has {len(texts)} texts; this server accepts at most "
            f"{settings.max_batch} per request (max_batch); split it into smaller requests"
        )
    for index, text in enumerate(texts):
        if len(text) > settings.max_text_chars:
            raise LimitExceeded(
                f"text {index} has {len(text)} characters; this server accepts at most "
                f"{settings.max_text_chars} (max_text_chars); shorten it"
            )


def check_recommend_limits(body: RecommendRequest, settings: ServeSettings) -> None:
    """Raise ``LimitExceeded`` when a recommend request lists too many or too long ids."""
    for field, ids in (("items", body.items or []), ("exclude", body.exclude)):
        if len(ids) > settings.max_batch:
            raise LimitExceeded(
                f"{field} has {len(ids)} ids; this server accepts at most {settings.max_batch} "
                "(max_batch)"
            )
    ids = ([body.user] if body.user is not None else []) + (body.items or []) + body.exclude
    longest = max((len(i) for i in ids), default=0)
    if longest > settings.max_text_chars:
        raise LimitExceeded(
            f"an id has {longest} characters; this server accepts at most "
            f"{settings.max_text_chars} (max_text_chars)"
        )


def check_forecast_limits(body: ForecastRequest, settings: ServeSettings) -> None:
    """Raise ``LimitExceeded`` when a forecast request sends too many series."""
    if len(body.series) > settings.max_batch:
        raise LimitExceeded(
            f"the request has {len(body.series)} series; this server accepts at most "
            f"{settings.max_batch} per request (max_batch); split it into smaller requests"
        )


#: The request fields that hold texts, by schema name.
_TEXT_FIELDS = {"PredictRequest": "inputs", "EmbeddingsRequest": "input"}


def document_covariates(openapi: dict[str, Any], manifest: dict[str, Any]) -> dict[str, Any]:
    """Write a forecasting model's covariates (its manifest's ``forecast.static`` and
    ``forecast.known``) into an OpenAPI schema of the app (in place): each series' ``static``
    and ``known`` fields list them, required; a model without covariates documents neither."""
    facts = manifest.get("forecast") or {}
    series = openapi.get("components", {}).get("schemas", {}).get("SeriesHistory", {})
    props = series.get("properties", {})
    for kind, values in (
        ("static", {"type": ["string", "number", "boolean", "null"]}),
        ("known", {"type": "array", "items": {"type": ["number", "boolean"]}}),
    ):
        names = [str(n) for n in facts.get(kind) or []]
        if kind not in props:
            continue
        if not names:
            del props[kind]
            continue
        description = props[kind].get("description", "")
        props[kind] = {
            "type": "object",
            "properties": {n: dict(values) for n in names},
            "required": names,
            "additionalProperties": False,
            "description": description,
        }
        series.setdefault("required", []).append(kind)
    return openapi


def document_limits(openapi: dict[str, Any], settings: ServeSettings) -> dict[str, Any]:
    """Write ``settings``' size limits into an OpenAPI schema of the app (in place)."""
    schemas = openapi.get("components", {}).get("schemas", {})
    for name, field in _TEXT_FIELDS.items():
        prop = schemas.get(name, {}).get("properties", {}).get(field, {})
        for branch in prop.get("anyOf", []):
            if branch.get("type") == "string":
                branch["maxLength"] = settings.max_text_chars
            elif branch.get("type") == "array":
                branch["maxItems"] = settings.max_batch
                branch["items"]["maxLength"] = settings.max_text_chars
    forecast = schemas.get("ForecastRequest", {}).get("properties", {})
    if "series" in forecast:
        forecast["series"]["maxItems"] = settings.max_batch
    recommend = schemas.get("RecommendRequest", {}).get("properties", {})
    for field in ("items", "exclude"):
        prop = recommend.get(field, {})
        for branch in [prop, *prop.get("anyOf", [])]:
            if branch.get("type") == "array":
                branch["maxItems"] = settings.max_batch
    return openapi
