"""Serving a forecasting model: ``POST /v1/forecast``, each series' recent history in, the next
steps with quantiles out; 422s that name the series at fault."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient

from crossover.artifacts import FORECAST_MAX_HORIZON, export_model
from crossover.serve import ServeSettings, create_app
from crossover.strategies.forecast import ForecastEts
from tests.serve.conftest import metric_value
from tests.test_artifacts_forecast import HORIZON, make_forecast_study, make_panel


@pytest.fixture(scope="module")
def ets_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    study_dir = make_forecast_study(tmp_path_factory.mktemp("forecast-study"))
    return export_model(study_dir, study_dir.parent / "model", strategy="forecast.ets")


@pytest.fixture(scope="module")
def client(ets_dir: Path) -> Iterator[TestClient]:
    with TestClient(create_app(ets_dir)) as test_client:
        yield test_client


def _history(store: int, points: int | None = None) -> list[float]:
    panel = make_panel()
    values = panel.loc[panel["store"] == f"store-{store}", "sales"].tolist()
    return [float(v) for v in values[-points:]] if points else [float(v) for v in values]


def _error(response: Any, status: int, type_: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    error: dict[str, Any] = response.json()["error"]
    assert error["type"] == type_, error
    return error


def test_forecasts_equal_the_strategy_on_the_same_history(client: TestClient) -> None:
    histories = [_history(0), _history(1, 30), _history(3, 13)]
    body = {"series": [{"id": f"s{i}", "history": h} for i, h in enumerate(histories)]}
    answer = client.post("/v1/forecast", json=body)
    assert answer.status_code == 200, answer.text
    payload = answer.json()
    assert payload["horizon"] == HORIZON and payload["freq"] == "MS"
    assert payload["model"] == "forecast.ets"
    direct = ForecastEts().fit(histories, season=12, horizon=HORIZON, freq="MS")
    expected = direct.forecast([np.asarray(h) for h in histories])
    assert expected.quantiles is not None
    assert [f["id"] for f in payload["forecasts"]] == ["s0", "s1", "s2"]
    for i, forecast in enumerate(payload["forecasts"]):
        np.testing.assert_allclose(forecast["mean"], expected.mean[i])
        assert list(forecast["quantiles"]) == [f"0.{k}" for k in range(1, 10)]
        got = np.array(list(forecast["quantiles"].values())).T  # (horizon, 9)
        np.testing.assert_allclose(got, expected.quantiles[i])
        assert forecast["timestamps"] is None
    shorter = client.post("/v1/forecast", json={**body, "horizon": 3}).json()
    np.testing.assert_allclose(shorter["forecasts"][0]["mean"], expected.mean[0][:3])


def test_quantiles_are_ordered_around_the_median(client: TestClient) -> None:
    body = {"series": [{"id": "store-2", "history": _history(2)}], "horizon": 9}
    (forecast,) = client.post("/v1/forecast", json=body).json()["forecasts"]
    grid = np.array(list(forecast["quantiles"].values()))  # (9, horizon)
    assert grid.shape == (9, 9)
    assert (np.diff(grid, axis=0) >= 0).all()
    assert (grid[-1] > grid[0]).all()  # noisy series: a real spread
    np.testing.assert_allclose(grid[4], forecast["mean"])  # ETS: the median is the mean


def test_timestamps_follow_a_monthly_start(client: TestClient) -> None:
    body = {
        "series": [
            {"id": 7, "history": _history(0, 14), "start": "2023-11-01"},
            {"id": "b", "history": _history(1, 13), "start": "2024-02-01T00:00:00"},
        ],
        "horizon": 3,
    }
    answer = client.post("/v1/forecast", json=body).json()["forecasts"]
    assert answer[0]["id"] == "7"  # an integer id is its decimal text
    assert answer[0]["timestamps"] == ["2025-01-01", "2025-02-01", "2025-03-01"]
    assert answer[1]["timestamps"] == ["2025-03-01", "2025-04-01", "2025-05-01"]


@pytest.mark.parametrize(
    ("start", "fragment"),
    [("2024-01-15", "not on the model's MS grid"), ("soon", "not a date"), (3, "timestamp")],
)
def test_a_bad_start_is_a_422_naming_the_series(
    client: TestClient, start: Any, fragment: str
) -> None:
    body = {"series": [{"id": "kiosk", "history": _history(0, 13), "start": start}]}
    error = _error(client.post("/v1/forecast", json=body), 422, "invalid_start")
    assert '"kiosk"' in error["message"] and fragment in error["message"]
    assert error["details"][0]["loc"] == ["series", 0, "start"]


def test_a_short_history_is_a_422_naming_the_series(client: TestClient) -> None:
    body = {
        "series": [
            {"id": "store-1", "history": _history(1)},
            {"id": "kiosk-9", "history": [10.0, 11.0, 12.0]},
        ]
    }
    error = _error(client.post("/v1/forecast", json=body), 422, "history_too_short")
    assert '"kiosk-9"' in error["message"] and "store-1" not in error["message"]
    assert "3 point(s)" in error["message"] and "at least 13" in error["message"]
    (detail,) = error["details"]
    assert detail["loc"] == ["series", 1, "history"] and detail["id"] == "kiosk-9"


def test_values_that_are_not_finite_numbers_name_the_series(client: TestClient) -> None:
    values = ",".join(str(v) for v in _history(0, 13)[1:])
    for bad in ("NaN", "Infinity", "-Infinity"):
        raw = f'{{"series": [{{"id": "cafe", "history": [{bad},{values}]}}]}}'
        answer = client.post(
            "/v1/forecast", content=raw, headers={"content-type": "application/json"}
        )
        error = _error(answer, 422, "invalid_history")
        assert '"cafe"' in error["message"] and "history[0]" in error["message"]
    for bad_value in ("12", None, [1], True):
        history: list[Any] = [*_history(0, 13), bad_value]
        body = {
            "series": [{"id": "ok", "history": _history(1)}, {"id": "deli", "history": history}]
        }
        error = _error(client.post("/v1/forecast", json=body), 422, "invalid_request")
        assert 'series "deli": history.13' in error["message"]
        assert error["details"][0]["loc"] == ["series", 1, "history", 13]
        assert error["details"][0]["id"] == "deli"


def test_several_problems_are_answered_at_once(client: TestClient) -> None:
    body = {
        "series": [
            {"id": "a", "history": [1.0]},
            {"id": "a", "history": _history(0)},
            {"id": "c", "history": _history(0), "start": "2020-01-31"},
        ]
    }
    error = _error(client.post("/v1/forecast", json=body), 422, "invalid_series")
    types = [d["type"] for d in error["details"]]
    assert types == ["history_too_short", "duplicate_id", "invalid_start"]
    assert 'series "c"' in error["message"]


@pytest.mark.parametrize(
    ("body", "loc"),
    [
        ({"series": [], "horizon": 2}, ["series"]),
        ({"series": [{"id": "x", "history": list(range(13))}], "horizon": 0}, ["horizon"]),
        (
            {
                "series": [{"id": "x", "history": list(range(13))}],
                "horizon": FORECAST_MAX_HORIZON + 1,
            },
            ["horizon"],
        ),
        ({"series": [{"id": "x", "history": list(range(13))}], "horizon": 2.5}, ["horizon"]),
        ({"series": [{"id": "x", "history": list(range(13)), "extra": 1}]}, ["series", 0, "extra"]),
        ({"series": [{"history": list(range(13))}]}, ["series", 0, "id"]),
        ({"inputs": "a text"}, ["series"]),
    ],
)
def test_bodies_the_schema_refuses_are_422(
    client: TestClient, body: dict[str, Any], loc: list[Any]
) -> None:
    error = _error(client.post("/v1/forecast", json=body), 422, "invalid_request")
    assert loc in [d["loc"] for d in error["details"]]


def test_too_many_series_is_too_large(ets_dir: Path) -> None:
    with TestClient(create_app(ets_dir, ServeSettings(max_batch=2))) as small:
        body = {"series": [{"id": str(i), "history": _history(0)} for i in range(3)]}
        error = _error(small.post("/v1/forecast", json=body), 422, "too_large")
        schema = small.get("/openapi.json").json()["components"]["schemas"]
    assert "3 series" in error["message"] and "at most 2" in error["message"]
    assert schema["ForecastRequest"]["properties"]["series"]["maxItems"] == 2


def test_predict_on_a_forecaster_names_the_forecast_route(client: TestClient) -> None:
    error = _error(client.post("/v1/predict", json={"inputs": "a"}), 404, "not_a_classifier")
    assert "/v1/forecast" in error["message"]


def test_openapi_documents_forecast(client: TestClient) -> None:
    openapi = client.get("/openapi.json").json()
    assert "/v1/forecast" in openapi["paths"] and "/v1/predict" not in openapi["paths"]
    operation = openapi["paths"]["/v1/forecast"]["post"]
    body_ref = operation["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    answer_ref = operation["responses"]["200"]["content"]["application/json"]["schema"]["$ref"]
    assert body_ref.endswith("/ForecastRequest") and answer_ref.endswith("/ForecastResponse")
    assert "422" in operation["responses"]
    schemas = openapi["components"]["schemas"]
    assert set(schemas["ForecastRequest"]["properties"]) == {"series", "horizon"}
    assert set(schemas["SeriesHistory"]["properties"]) == {"id", "history", "start"}
    assert {"forecasts", "horizon", "freq", "model"} <= set(
        schemas["ForecastResponse"]["properties"]
    )
    assert set(schemas["SeriesForecast"]["properties"]) == {"id", "mean", "quantiles", "timestamps"}
    horizon = schemas["ForecastRequest"]["properties"]["horizon"]["anyOf"][0]
    assert horizon["maximum"] == FORECAST_MAX_HORIZON
    # The documented example is a request the model answers.
    example = schemas["ForecastRequest"]["examples"][0]
    assert client.post("/v1/forecast", json=example).status_code == 200


def test_health_metrics_and_manifest(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
    assert client.get("/readyz").json() == {"status": "ready"}
    manifest = client.get("/v1/model").json()
    assert manifest["task"] == "forecasting" and manifest["strategy"] == "forecast.ets"
    assert manifest["forecast"]["min_history"] == 13 and manifest["forecast"]["freq"] == "MS"
    client.post("/v1/forecast", json={"series": [{"id": "a", "history": _history(0)}]})
    metrics = client.get("/metrics").text
    answered = metric_value(
        metrics, "crossover_http_requests_total", method="POST", route="/v1/forecast", status=200
    )
    assert answered is not None and answered >= 1
