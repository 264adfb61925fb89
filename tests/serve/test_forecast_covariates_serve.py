"""Serving a forecaster fitted with covariates: the exported model names them, each request
series sends them (the known ones for its history and the steps forecast), and a 422 names the
series and the covariate when one is missing, of the wrong length or not the model's."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from fastapi.testclient import TestClient

import crossover
from crossover.artifacts import export_model, load_model
from crossover.serve import create_app
from tests.tasks.forecasting.test_covariates import promo_sales

HORIZON = 4
WEEKS = 80


@pytest.fixture(scope="module")
def study_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("covariate-study")
    promo_sales(6, WEEKS).to_csv(root / "sales.csv", index=False)
    study = crossover.compare(
        root / "sales.csv",
        task="forecasting",
        id="store",
        time="week",
        value="sales",
        horizon=HORIZON,
        known="promo",
        static="size",
        strategies=["forecast.seasonal-naive", "forecast.gbm"],
        budgets=["full"],
        jobs=1,
        progress=False,
        measure_speed=False,
        n_resamples=1000,
    )
    (root / "out").mkdir()
    study.to_json(root / "out" / "study.json")
    return root / "out"


@pytest.fixture(scope="module")
def gbm_dir(study_dir: Path) -> Path:
    return export_model(study_dir, study_dir.parent / "gbm", strategy="forecast.gbm")


@pytest.fixture(scope="module")
def client(gbm_dir: Path) -> Iterator[TestClient]:
    with TestClient(create_app(gbm_dir)) as test_client:
        yield test_client


def _series(store: int, points: int = 60, horizon: int = HORIZON) -> dict[str, Any]:
    """A request series: the store's last ``points`` weeks before its last ``horizon``, its
    size, and its promotion flags for those weeks and the ``horizon`` after."""
    frame = promo_sales(6, WEEKS)
    rows = frame[frame["store"] == f"store-{store}"]
    end = len(rows) - horizon
    return {
        "id": f"store-{store}",
        "history": rows["sales"].iloc[end - points : end].tolist(),
        "static": {"size": str(rows["size"].iloc[0])},
        "known": {"promo": [bool(v) for v in rows["promo"].iloc[end - points : end + horizon]]},
    }


def _error(response: Any, type_: str) -> dict[str, Any]:
    assert response.status_code == 422, response.text
    error: dict[str, Any] = response.json()["error"]
    assert error["type"] == type_, error
    return error


def test_the_export_names_the_covariates(gbm_dir: Path) -> None:
    manifest = json.loads((gbm_dir / "manifest.json").read_text())
    assert manifest["forecast"]["static"] == ["size"]
    assert manifest["forecast"]["known"] == ["promo"]
    item = manifest["input_schema"]["properties"]["series"]["items"]
    assert {"static", "known"} <= set(item["required"])
    assert item["properties"]["known"]["required"] == ["promo"]
    state = json.loads((gbm_dir / "strategy" / "gbm.json").read_text())
    assert state["categories"] == {"size": ["large", "medium", "small"]}


def test_a_forecast_with_covariates_equals_the_loaded_model(
    client: TestClient, gbm_dir: Path
) -> None:
    body = {"series": [_series(0), _series(1, 70)], "horizon": HORIZON}
    response = client.post("/v1/forecast", json=body)
    assert response.status_code == 200, response.text
    model = load_model(gbm_dir)
    direct = model.forecast(
        [np.asarray(s["history"]) for s in body["series"]],  # type: ignore[index]
        HORIZON,
        static=[s["static"] for s in body["series"]],  # type: ignore[index]
        known=[s["known"] for s in body["series"]],  # type: ignore[index]
    )
    got = np.array([f["mean"] for f in response.json()["forecasts"]])
    np.testing.assert_allclose(got, direct.mean, rtol=1e-9)
    # The promotions move the forecast: the same history without them is forecast lower.
    quiet = _series(0)
    quiet["known"]["promo"] = [False] * len(quiet["known"]["promo"])
    promoted = _series(0)
    promoted["known"]["promo"] = [True] * len(promoted["known"]["promo"])
    low = client.post("/v1/forecast", json={"series": [quiet]}).json()["forecasts"][0]["mean"]
    high = client.post("/v1/forecast", json={"series": [promoted]}).json()["forecasts"][0]["mean"]
    assert np.mean(high) > 1.5 * np.mean(low)


def test_a_missing_covariate_is_a_422_naming_the_series_and_the_covariate(
    client: TestClient,
) -> None:
    series = _series(2)
    del series["known"]
    error = _error(client.post("/v1/forecast", json={"series": [series]}), "missing_covariate")
    assert 'series "store-2": known covariate "promo" is missing' in error["message"]
    series = _series(2)
    series["static"] = {}
    error = _error(client.post("/v1/forecast", json={"series": [series]}), "missing_covariate")
    assert 'series "store-2": static covariate "size" is missing' in error["message"]


def test_known_values_of_the_wrong_length_are_a_422_naming_the_series(client: TestClient) -> None:
    series = _series(3)
    series["known"]["promo"] = series["known"]["promo"][:-1]  # one step short of the horizon
    error = _error(client.post("/v1/forecast", json={"series": [series]}), "invalid_covariate")
    assert (
        'series "store-3": known covariate "promo" has 63 value(s); it needs 64'
        in (error["message"])
    )
    # A longer horizon needs more of them.
    error = _error(
        client.post("/v1/forecast", json={"series": [_series(3)], "horizon": HORIZON + 2}),
        "invalid_covariate",
    )
    assert "it needs 66" in error["message"]


def test_a_covariate_the_model_does_not_use_is_a_422(client: TestClient) -> None:
    series = _series(4)
    series["known"]["price"] = [1.0] * len(series["known"]["promo"])
    error = _error(client.post("/v1/forecast", json={"series": [series]}), "unknown_covariate")
    assert 'known covariate "price" is not one this model uses' in error["message"]


def test_openapi_lists_the_models_covariates(client: TestClient) -> None:
    schemas = client.get("/openapi.json").json()["components"]["schemas"]
    series = schemas["SeriesHistory"]
    assert {"static", "known"} <= set(series["required"])
    assert list(series["properties"]["known"]["properties"]) == ["promo"]
    assert list(series["properties"]["static"]["properties"]) == ["size"]


def test_a_model_without_covariates_takes_none(study_dir: Path) -> None:
    plain_dir = export_model(
        study_dir, study_dir.parent / "naive", strategy="forecast.seasonal-naive"
    )
    manifest = json.loads((plain_dir / "manifest.json").read_text())
    assert "known" not in manifest["forecast"]
    with TestClient(create_app(plain_dir)) as plain:
        schemas = plain.get("/openapi.json").json()["components"]["schemas"]
        assert "known" not in schemas["SeriesHistory"]["properties"]
        series = _series(0)
        answered = plain.post(
            "/v1/forecast", json={"series": [{k: series[k] for k in ("id", "history")}]}
        )
        assert answered.status_code == 200
        error = _error(plain.post("/v1/forecast", json={"series": [series]}), "unknown_covariate")
        assert (
            'series "store-0": static covariate "size" is not one this model uses'
            in (error["message"])
        )


def test_the_csv_holds_what_the_request_sends() -> None:
    """The helper's request matches the data (a guard on the fixtures above)."""
    frame = promo_sales(6, WEEKS)
    series = _series(1)
    rows = frame[frame["store"] == "store-1"]
    assert series["history"][-1] == pytest.approx(rows["sales"].iloc[-HORIZON - 1])
    assert len(series["known"]["promo"]) == 60 + HORIZON
    assert isinstance(pd.Timestamp(rows["week"].iloc[0]), pd.Timestamp)
