"""The forecast route of a model that takes series: ``POST /v1/forecast``; the 404 that points a
client from ``/v1/predict`` to it; and the 422s that name the series at fault.

Every problem with a request's series is answered in one 422 whose message names each series
by its id (and ``details`` by its position): a history shorter than the model forecasts from,
a value that is not a finite number, a ``start`` that is not on the model's frequency grid, an
id sent twice. A body the schema refuses (a value that is not a number, say) is named the same
way (``crossover.serve.errors.series_body_error``).
"""

from __future__ import annotations

import asyncio
import json
import math
from functools import partial
from typing import Any

import numpy as np
from fastapi import APIRouter

from crossover._format import iso_times
from crossover.artifacts.load import FORECAST_MAX_HORIZON
from crossover.serve.errors import ApiError
from crossover.serve.schemas import (
    ForecastRequest,
    ForecastResponse,
    SeriesForecast,
    SeriesHistory,
    check_forecast_limits,
)
from crossover.serve.served import ForecastingModel, MetricsDep, ServedDep
from crossover.serve.table import TableSpec

__all__ = [
    "FORECAST_DOC",
    "FORECAST_SHAPE",
    "add_forecast_routes",
    "forecast",
    "predict_unsupported",
    "step_labels",
]

FORECAST_SHAPE = (
    '{"series": [{"id": "store-1", "history": [112, 118, ...], "start": "2024-01-01"}], '
    '"horizon": 12}'
)

FORECAST_DOC = f"""The next `horizon` steps of each series, forecast from its recent history.

Send `{FORECAST_SHAPE}`: each series' values oldest first, one per step of the model's frequency
(`GET /v1/model`: `forecast.freq`); `start`, the time of the first value, is optional and
labels the forecast steps (`timestamps`). `horizon` defaults to the horizon of the model's study
(the one its accuracy was measured at), at most {FORECAST_MAX_HORIZON}.

The answer gives each series' point forecast (`mean`) and its quantiles 0.1 ... 0.9 (null for
a model without them), in request order.

A model fitted with covariates (`GET /v1/model`: `forecast.static` and `forecast.known`) needs
them in each series: `"static": {{"region": "north"}}` (one value each) and
`"known": {{"promo": [0, 1, ...]}}` (numbers or booleans, one per history point and then one per
step forecast: `len(history) + horizon` values). A model fitted without covariates takes none.

422 naming the series (by id) whose history is shorter than the model forecasts from
(`forecast.min_history` in the manifest), holds a value that is not a finite number, or whose
`start` is not on the model's frequency grid; naming the series and the covariate when one the
model needs is missing, has the wrong number of values or a value that is not finite, or the
model does not use it; and for an id sent twice.
"""


def _name(series_id: Any) -> str:
    return json.dumps(str(series_id))


def _problem(index: int, series_id: Any, msg: str, type_: str, *field: Any) -> dict[str, Any]:
    return {"loc": ["series", index, *field], "id": str(series_id), "msg": msg, "type": type_}


def _series_error(problems: list[dict[str, Any]]) -> ApiError:
    """One 422 for every problem of a request's series, each naming its series by id."""
    parts = [f"series {_name(p['id'])}: {p['msg']}" for p in problems]
    message = "; ".join(parts[:5]) + (f" (and {len(parts) - 5} more)" if len(parts) > 5 else "")
    kinds = {p["type"] for p in problems}
    type_ = kinds.pop() if len(kinds) == 1 else "invalid_series"
    return ApiError(422, type_, message, details=problems)


def step_labels(start: str | int, freq: str | None, offset: int, horizon: int) -> list[Any]:
    """The times of ``horizon`` steps that follow ``offset`` steps after ``start``: ISO dates
    (a date with its time only when not midnight) for a model with a frequency, whole numbers
    without one. ``ValueError`` for a start of the wrong kind or off the frequency's grid."""
    if freq is None:
        if not isinstance(start, int):
            raise ValueError("start must be a whole-number step: the model's data had no calendar")
        return list(range(start + offset, start + offset + horizon))
    import pandas as pd

    if not isinstance(start, str):
        raise ValueError(f"start must be a timestamp such as 2024-01-01 (the model's {freq})")
    try:
        first: Any = pd.Timestamp(start)
    except (TypeError, ValueError):
        first = pd.NaT
    if pd.isna(first):
        raise ValueError(f"start {start!r} is not a date or time; use ISO, such as 2024-01-01")
    grid = pd.date_range(first, periods=offset + horizon, freq=freq)
    if grid[0] != first:
        raise ValueError(
            f"start {start!r} is not on the model's {freq} grid (the next point on it is "
            f"{iso_times([grid[0]])[0]})"
        )
    return iso_times(list(grid[offset:]))


def _check(
    series: list[SeriesHistory], model: ForecastingModel, horizon: int
) -> list[list[Any] | None]:
    """Each series' step labels (None without a start); a 422 naming every series at fault."""
    problems: list[dict[str, Any]] = []
    fewest = model.min_history
    seen: dict[str, int] = {}
    labels: list[list[Any] | None] = []
    for index, item in enumerate(series):
        if item.id in seen:
            problems.append(
                _problem(
                    index,
                    item.id,
                    f"sent twice (series {seen[item.id]} and {index})",
                    "duplicate_id",
                    "id",
                )
            )
        seen.setdefault(item.id, index)
        values = item.history
        if len(values) < fewest:
            problems.append(
                _problem(
                    index,
                    item.id,
                    f"its history has {len(values)} point(s); this model forecasts from at "
                    f"least {fewest}",
                    "history_too_short",
                    "history",
                )
            )
        bad = next((i for i, v in enumerate(values) if not math.isfinite(v)), None)
        if bad is not None:
            problems.append(
                _problem(
                    index,
                    item.id,
                    f"history[{bad}] is {values[bad]}, not a finite number; fill or drop "
                    "missing values before sending",
                    "invalid_history",
                    "history",
                    bad,
                )
            )
        problems += _covariate_problems(index, item, model, horizon)
        labels.append(None)
        if item.start is not None:
            try:
                labels[-1] = step_labels(item.start, model.freq, len(values), horizon)
            except (ValueError, OverflowError) as exc:
                problems.append(_problem(index, item.id, str(exc), "invalid_start", "start"))
    if problems:
        raise _series_error(problems)
    return labels


def _names(names: list[str]) -> str:
    return ", ".join(json.dumps(n) for n in names) or "none"


def _covariate_problems(
    index: int, item: SeriesHistory, model: ForecastingModel, horizon: int
) -> list[dict[str, Any]]:
    """A series' covariates against the model's: each one it needs present (the known ones
    with ``len(history) + horizon`` finite values), none it does not use."""
    problems: list[dict[str, Any]] = []
    uses = f"the model uses static {_names(model.static_names)}, known {_names(model.known_names)}"
    for kind, sent, needed in (
        ("static", item.static or {}, model.static_names),
        ("known", item.known or {}, model.known_names),
    ):
        for name in sent:
            if name not in needed:
                problems.append(
                    _problem(
                        index,
                        item.id,
                        f"{kind} covariate {json.dumps(name)} is not one this model uses ({uses})",
                        "unknown_covariate",
                        kind,
                        name,
                    )
                )
        for name in needed:
            if name not in sent:
                problems.append(
                    _problem(
                        index,
                        item.id,
                        f"{kind} covariate {json.dumps(name)} is missing; the model was fitted "
                        f"with it ({uses})",
                        "missing_covariate",
                        kind,
                    )
                )
    want = len(item.history) + horizon
    for name in model.known_names:
        values = (item.known or {}).get(name)
        if values is None:
            continue
        if len(values) != want:
            problems.append(
                _problem(
                    index,
                    item.id,
                    f"known covariate {json.dumps(name)} has {len(values)} value(s); it needs "
                    f"{want}: one per history point ({len(item.history)}) and per step "
                    f"forecast ({horizon})",
                    "invalid_covariate",
                    "known",
                    name,
                )
            )
        bad = next((i for i, v in enumerate(values) if not math.isfinite(float(v))), None)
        if bad is not None:
            problems.append(
                _problem(
                    index,
                    item.id,
                    f"known covariate {json.dumps(name)}[{bad}] is {values[bad]}, not a finite "
                    "number",
                    "invalid_covariate",
                    "known",
                    name,
                    bad,
                )
            )
    return problems


def _quantile_name(q: float) -> str:
    return f"{q:g}"


async def forecast(
    body: ForecastRequest, served: ServedDep, metrics: MetricsDep
) -> ForecastResponse:
    model: ForecastingModel | None = served.forecaster
    if model is None:  # the app was built for another kind of model (cannot happen)
        raise ApiError(
            404, "not_a_forecaster", f"the served model ({served.strategy}) does not forecast"
        )
    check_forecast_limits(body, served.settings)
    horizon = body.horizon if body.horizon is not None else model.default_horizon
    labels = _check(body.series, model, horizon)
    histories = [np.asarray(item.history, dtype=np.float64) for item in body.series]
    metrics.request_texts.labels("/v1/forecast").observe(len(histories))
    loop = asyncio.get_running_loop()
    call = partial(model.forecast, histories, horizon)
    if model.static_names or model.known_names:
        call = partial(
            model.forecast,
            histories,
            horizon,
            static=[item.static or {} for item in body.series],
            known=[item.known or {} for item in body.series],
        )
    result = await loop.run_in_executor(served.executor, call)
    levels = model.quantile_levels
    out = []
    for i, item in enumerate(body.series):
        quantiles = None
        if result.quantiles is not None:
            quantiles = {
                _quantile_name(q): result.quantiles[i, :, j].tolist() for j, q in enumerate(levels)
            }
        out.append(
            SeriesForecast(
                id=item.id,
                mean=result.mean[i].tolist(),
                quantiles=quantiles,
                timestamps=labels[i],
            )
        )
    return ForecastResponse(forecasts=out, horizon=horizon, freq=model.freq, model=served.strategy)


async def predict_unsupported(served: ServedDep) -> None:
    """The predict route of a forecasting model: a 404 that names the route to use."""
    raise ApiError(
        404,
        "not_a_classifier",
        f"the served model ({served.strategy}) forecasts series; it does not classify: use "
        f"POST /v1/forecast with {FORECAST_SHAPE}",
    )


def add_forecast_routes(v1: APIRouter, table: TableSpec | None = None) -> None:
    """The model routes of a model that takes series on ``v1``: forecast; ``/v1/predict``
    answers a 404 that names the route to use (``table`` is unused: it has no columns)."""
    v1.add_api_route(
        "/forecast",
        forecast,
        methods=["POST"],
        summary="Forecast series from their recent history",
        description=FORECAST_DOC,
    )
    # Not in the schema: it answers every request with a 404 naming /v1/forecast.
    v1.add_api_route("/predict", predict_unsupported, methods=["POST"], include_in_schema=False)
