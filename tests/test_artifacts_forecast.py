"""Exporting a forecasting study: the chosen forecaster fitted on the full history of every
series, a hashed pickle-free folder that forecasts as the same strategy fitted directly and that
serves ``POST /v1/forecast``; moved or changed series named."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

import crossover
from crossover.artifacts import UNSAFE_SUFFIXES, export_model, load_model
from crossover.cli import app
from crossover.errors import ConfigError, DataError
from crossover.serve import create_app
from crossover.strategies.forecast import ForecastEts
from crossover.strategies.forecast._base import QUANTILES

#: The synthetic panel: monthly series, each a level, a trend, a yearly wave and noise.
SERIES, MONTHS, HORIZON = 4, 40, 6


def make_panel(seed: int = 0) -> pd.DataFrame:
    """``SERIES`` monthly series of ``MONTHS`` points from 2020-01: columns store, month,
    sales."""
    rng = np.random.default_rng(seed)
    months = pd.date_range("2020-01-01", periods=MONTHS, freq="MS")
    steps = np.arange(MONTHS)
    frames = []
    for s in range(SERIES):
        wave = (6 + 2 * s) * np.sin(2 * np.pi * (steps + s) / 12)
        sales = 100 + 15 * s + 0.4 * steps + wave + rng.normal(0, 1.5, MONTHS)
        frames.append(
            pd.DataFrame({"store": f"store-{s}", "month": months, "sales": sales.round(2)})
        )
    return pd.concat(frames, ignore_index=True)


def make_forecast_study(root: Path) -> Path:
    """A forecasting study of the synthetic panel (the seasonal naive baseline and ETS):
    ``root/out/study.json``; the series are ``root/sales.csv``."""
    make_panel().to_csv(root / "sales.csv", index=False)
    study = crossover.compare(
        root / "sales.csv",
        task="forecasting",
        id="store",
        horizon=HORIZON,
        strategies=["forecast.seasonal-naive", "forecast.ets"],
        jobs=1,
        progress=False,
        measure_speed=False,
        n_resamples=1000,
    )
    (root / "out").mkdir()
    study.to_json(root / "out" / "study.json")
    return root / "out"


@pytest.fixture(scope="module")
def study_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_forecast_study(tmp_path_factory.mktemp("forecast-study"))


@pytest.fixture(scope="module")
def ets_dir(study_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return export_model(
        study_dir, tmp_path_factory.mktemp("forecast-model") / "m", strategy="forecast.ets"
    )


def _histories() -> dict[str, np.ndarray]:
    panel = make_panel()
    return {
        str(k): g.sort_values("month")["sales"].to_numpy(dtype=np.float64)
        for k, g in panel.groupby("store")
    }


def test_exported_forecaster_forecasts_as_the_strategy_fitted_directly(ets_dir: Path) -> None:
    model = load_model(ets_dir)
    histories = list(_histories().values())
    direct = ForecastEts().fit(histories, season=12, horizon=HORIZON, freq="MS")
    assert model.forecasts and model.labels == [] and not model.recommends
    assert (model.default_horizon, model.freq, model.season) == (HORIZON, "MS", 12)
    ours, theirs = model.forecast(histories), direct.forecast(histories)
    assert ours.mean.shape == (SERIES, HORIZON)
    np.testing.assert_allclose(ours.mean, theirs.mean)
    assert ours.quantiles is not None and theirs.quantiles is not None
    np.testing.assert_allclose(ours.quantiles, theirs.quantiles)
    assert model.quantile_levels == list(QUANTILES)
    assert model.min_history == 13


def test_manifest_describes_the_forecaster_and_lists_every_file(
    study_dir: Path, ets_dir: Path
) -> None:
    manifest = json.loads((ets_dir / "manifest.json").read_text())
    study = crossover.load_study(study_dir / "study.json")
    files = {
        p.relative_to(ets_dir).as_posix()
        for p in ets_dir.rglob("*")
        if p.is_file() and p.name != "manifest.json"
    }
    assert set(manifest["files"]) == files and "strategy/forecast.json" in files
    assert not [p for p in ets_dir.rglob("*") if p.suffix in UNSAFE_SUFFIXES]
    assert manifest["task"] == "forecasting" and manifest["input_kind"] == "series"
    assert manifest["labels"] == [] and manifest["embedding_model"] is None
    assert manifest["forecast"] == {
        "horizon": HORIZON,
        "freq": "MS",
        "season": 12,
        "min_history": 13,
        "quantiles": list(QUANTILES),
    }
    schema = manifest["input_schema"]
    assert set(schema["properties"]) == {"series", "horizon"}
    assert schema["properties"]["horizon"]["default"] == HORIZON
    history = schema["properties"]["series"]["items"]["properties"]["history"]
    assert history["minItems"] == 13
    trained = manifest["trained_on"]
    assert trained["series"] == SERIES and trained["rows"] == SERIES * MONTHS
    assert trained["data_fingerprint"] == study.dataset["fingerprint"]
    assert manifest["metrics"]["mase"]["score"] == pytest.approx(
        study.statistics["forecast.ets"]["mase"]["score"]
    )
    windows = study.spec["windows"]
    assert manifest["metrics"]["measured_on"] == (
        f"{windows} backtest window(s) of {HORIZON} steps at the end of each of {SERIES} series"
    )


def test_changed_or_moved_series_are_named(study_dir: Path, tmp_path: Path) -> None:
    make_panel().iloc[:-1].to_csv(tmp_path / "fewer.csv", index=False)
    with pytest.raises(DataError, match="differ from those the study measured"):
        export_model(
            study_dir, tmp_path / "a", strategy="forecast.ets", data=tmp_path / "fewer.csv"
        )
    with pytest.raises(ConfigError, match="--data FILE"):
        export_model(study_dir, tmp_path / "b", strategy="forecast.ets", data=tmp_path / "gone.csv")
    # The study's own file moved: named, with the option that points to its new place.
    moved = Path(shutil.copytree(study_dir, tmp_path / "moved"))
    study = json.loads((moved / "study.json").read_text())
    study["settings"]["data_paths"]["data"] = str(tmp_path / "was-here.csv")
    (moved / "study.json").write_text(json.dumps(study))
    with pytest.raises(ConfigError, match=r"series file.*was-here.csv is gone.*--data FILE"):
        export_model(moved, tmp_path / "c", strategy="forecast.ets")
    with pytest.raises(ConfigError, match="--test is not for forecasting"):
        export_model(study_dir, tmp_path / "d", strategy="forecast.ets", test=tmp_path / "t.csv")
    assert not any((tmp_path / name).exists() for name in "abcd")


def test_cli_export_of_a_forecasting_study_then_served(study_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "m"
    res = CliRunner().invoke(
        app, ["export", str(study_dir), "--strategy", "forecast.seasonal-naive", "--out", str(out)]
    )
    assert res.exit_code == 0, res.output
    assert f"fitted on {SERIES} series, {SERIES * MONTHS} points" in res.stdout
    assert f"horizon {HORIZON} steps, frequency MS" in res.stdout
    assert "POST /v1/forecast" in res.stdout
    history = _histories()["store-2"]
    with TestClient(create_app(out)) as client:
        answer = client.post(
            "/v1/forecast",
            json={
                "series": [{"id": "store-2", "history": history.tolist(), "start": "2020-01-01"}]
            },
        )
    assert answer.status_code == 200, answer.text
    (forecast,) = answer.json()["forecasts"]
    # The seasonal naive forecast: the value one season before each step.
    assert forecast["mean"] == pytest.approx(history[-12:][:HORIZON].tolist())
    assert forecast["timestamps"][0] == "2023-05-01"  # 40 months after 2020-01
