"""``forecast.chronos`` on tiny, randomly initialised Chronos-Bolt models (tests/chronos_models.py):
offline resolution of the hub id, forecasts, save and load, and what a machine without the
weights says. The real weights are on the Hugging Face hub, out of reach here: nothing below
measures accuracy."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("chronos", reason="forecast.chronos needs crossover[chronos]")

from typer.testing import CliRunner

from crossover.cli import app
from crossover.errors import ConfigError, ModelError
from crossover.models.forecasters import load_chronos, resolve_forecaster
from crossover.plan import parse_strategies
from crossover.strategies import Strategy, registry
from crossover.strategies.forecast import ForecastChronos, ForecastEnsemble
from crossover.strategies.forecast._base import QUANTILES
from tests.chronos_models import (
    REVISION,
    hf_cache_with,
    save_tiny_chronos_2,
    save_tiny_chronos_bolt,
    use_hf_cache,
)

MODEL = "amazon/chronos-bolt-small"


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A Hugging Face cache holding a tiny Chronos-Bolt as amazon/chronos-bolt-small, offline."""
    root = tmp_path / "hf-cache"
    use_hf_cache(monkeypatch, root)
    hf_cache_with(root, MODEL)
    return root


@pytest.fixture
def empty_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "empty-hf-cache"
    use_hf_cache(monkeypatch, root)
    return root


def histories() -> list[np.ndarray]:
    rng = np.random.default_rng(0)
    out = []
    for n in (90, 40, 13, 3):
        t = np.arange(n)
        out.append(100 + 0.5 * t + 8 * np.sin(2 * np.pi * t / 12) + rng.normal(0, 1, n))
    return out


def test_chronos_hub_id_resolves_offline_from_the_hf_cache(cache: Path) -> None:
    resolved = resolve_forecaster(MODEL)
    assert (resolved.source, resolved.family, resolved.revision) == (
        "hf-cache",
        "chronos-bolt",
        REVISION,
    )
    assert resolved.path == cache / "models--amazon--chronos-bolt-small" / "snapshots" / REVISION
    pipeline = load_chronos(str(resolved.path), resolved.family)
    assert type(pipeline).__name__ == "ChronosBoltPipeline"
    assert ForecastChronos.unavailable_reason() is None


def test_chronos_forecasts_are_shaped_ordered_and_finite(cache: Path) -> None:
    given = [*histories(), np.full(20, 4.0), np.array([7.0])]
    model = ForecastChronos().fit([], season=12, horizon=6, freq="MS")
    for horizon in (6, 20):  # 20: beyond the tiny model's 8-step block
        result = model.forecast(given, horizon)
        assert result.mean.shape == (len(given), horizon)
        assert result.quantiles is not None
        assert result.quantiles.shape == (len(given), horizon, len(QUANTILES))
        assert np.isfinite(result.quantiles).all()
        assert (np.diff(result.quantiles, axis=-1) >= 0).all()
        np.testing.assert_array_equal(result.mean, result.quantiles[:, :, QUANTILES.index(0.5)])
        # A history with no spread is forecast flat at its value, without the model.
        np.testing.assert_array_equal(result.quantiles[4], np.full((horizon, 9), 4.0))
        np.testing.assert_array_equal(result.quantiles[5], np.full((horizon, 9), 7.0))
        assert model.fallbacks_ == 2
    # A random model forecasts near each history's mean: on its scale, not another's.
    assert np.abs(result.mean[0] - given[0].mean()).max() < 5 * given[0].std()
    assert (model.family_, model.revision_) == ("chronos-bolt", REVISION)


def test_chronos_context_length_reads_only_the_last_points(cache: Path) -> None:
    history = histories()[0]
    short = ForecastChronos(context_length=12).fit([], season=12, horizon=4)
    np.testing.assert_array_equal(
        short.forecast([history]).quantiles, short.forecast([history[-12:]]).quantiles
    )


def test_chronos_save_load_round_trip_gives_identical_forecasts(
    cache: Path, tmp_path: Path
) -> None:
    model = ForecastChronos().fit(histories(), season=12, horizon=6, freq="MS")
    saved = model.save(tmp_path / "saved")
    state = json.loads((saved / "chronos.json").read_text())
    assert state["model"] == MODEL and state["revision"] == REVISION
    assert state["weights_identity"] == resolve_forecaster(MODEL).identity
    assert not [p for p in saved.rglob("*") if p.suffix in {".pkl", ".pickle", ".joblib"}]
    loaded = Strategy.load(saved)
    assert isinstance(loaded, ForecastChronos)
    first, second = model.forecast(histories()), loaded.forecast(histories())
    np.testing.assert_array_equal(first.quantiles, second.quantiles)
    np.testing.assert_array_equal(first.mean, second.mean)


def test_chronos_exported_model_serves_offline_the_same_forecasts(
    cache: Path, tmp_path: Path
) -> None:
    from crossover.artifacts.export import export_strategy
    from crossover.artifacts.load import load_model

    model = ForecastChronos().fit(histories(), season=12, horizon=6, freq="MS")
    out = export_strategy(model, tmp_path / "exported")
    manifest = json.loads((out / "manifest.json").read_text())
    assert "chronos-forecasting" in manifest["versions"]
    served = load_model(out)
    np.testing.assert_array_equal(
        served.forecast(histories(), 6).mean, model.forecast(histories()).mean
    )


def test_chronos_load_refuses_other_weights_than_it_was_fitted_with(
    cache: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    saved = ForecastChronos().fit([], season=12, horizon=6).save(tmp_path / "saved")
    other = tmp_path / "other-hf-cache"
    use_hf_cache(monkeypatch, other)
    hf_cache_with(other, MODEL, seed=1)
    with pytest.raises(ModelError, match=r"is not the one the model was fitted with"):
        Strategy.load(saved)


def test_chronos_runs_a_model_folder(tmp_path: Path, empty_cache: Path) -> None:
    folder = save_tiny_chronos_bolt(tmp_path / "my-chronos")
    model = ForecastChronos(model=str(folder)).fit([], season=12, horizon=3)
    assert model.revision_ is None and model.family_ == "chronos-bolt"
    assert model.forecast(histories()).mean.shape == (4, 3)


def test_chronos_runs_a_chronos_2_folder(tmp_path: Path, empty_cache: Path) -> None:
    folder = save_tiny_chronos_2(tmp_path / "chronos-2")
    model = ForecastChronos(model=str(folder)).fit([], season=12, horizon=6)
    assert model.family_ == "chronos-2"
    given = histories()
    result = model.forecast(given)
    assert result.quantiles is not None and result.quantiles.shape == (4, 6, 9)
    assert np.isfinite(result.quantiles).all() and (np.diff(result.quantiles, axis=-1) >= 0).all()
    longer = model.forecast(given, 20)  # beyond its 8-step output
    np.testing.assert_array_equal(longer.mean[:, :6], result.mean)
    np.testing.assert_array_equal(model.forecast([given[1]]).quantiles[0], result.quantiles[1])
    loaded = Strategy.load(model.save(tmp_path / "saved"))
    np.testing.assert_array_equal(loaded.forecast(given).quantiles, result.quantiles)


def test_chronos_refuses_models_it_does_not_run(tmp_path: Path, empty_cache: Path) -> None:
    original = tmp_path / "chronos-t5"
    original.mkdir()
    (original / "config.json").write_text(json.dumps({"chronos_config": {"n_tokens": 4096}}))
    with pytest.raises(ModelError, match=r"a chronos model, not one forecast.chronos runs"):
        ForecastChronos(model=str(original)).fit([], season=12, horizon=3)
    pytest.importorskip("fracast")
    with pytest.raises(ModelError, match=r"use forecast.fracast for Fracast-0"):
        ForecastChronos(model="ztxtech/fracast-0").fit([], season=12, horizon=3)


def test_chronos_without_weights_says_how_to_get_a_copy(empty_cache: Path) -> None:
    reason = ForecastChronos.unavailable_reason()
    assert reason is not None
    assert "no copy of amazon/chronos-bolt-small on this machine" in reason
    assert "hf download amazon/chronos-bolt-small" in reason
    with pytest.raises(ModelError, match=r"'amazon/chronos-bolt-small' is not on this machine"):
        ForecastChronos().fit(histories(), season=12, horizon=6)
    with pytest.raises(ModelError, match=r"hf download amazon/chronos-bolt-small"):
        ForecastChronos().fit(histories(), season=12, horizon=6)


def test_chronos_without_weights_is_left_out_of_the_default_strategies(
    empty_cache: Path,
) -> None:
    assert "forecast.chronos" not in registry.candidates("forecasting")
    assert "forecast.chronos" not in parse_strategies(None, "forecasting")
    assert (
        "no copy of amazon/chronos-bolt-small"
        in registry.unavailable("forecasting")["forecast.chronos"]
    )
    with pytest.raises(ConfigError, match=r"'forecast.chronos' is unavailable on this machine"):
        parse_strategies("forecast.chronos", "forecasting")


def test_chronos_with_weights_is_a_default_strategy(cache: Path) -> None:
    assert "forecast.chronos" in registry.candidates("forecasting")


def test_chronos_asked_for_by_name_without_weights_exits_2(
    empty_cache: Path, tmp_path: Path
) -> None:
    t = np.arange(48)
    frame = pd.DataFrame(
        {
            "month": pd.date_range("2020-01-01", periods=48, freq="MS"),
            "units": 100 + 10 * np.sin(2 * np.pi * t / 12),
        }
    )
    data = tmp_path / "sales.csv"
    frame.to_csv(data, index=False)
    result = CliRunner().invoke(
        app,
        [
            *("compare", str(data), "--task", "forecasting"),
            *("--strategies", "forecast.chronos", "--out", str(tmp_path / "out")),
        ],
    )
    assert result.exit_code == 2, result.output
    lines = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(lines) == 1
    assert "'forecast.chronos' is unavailable on this machine" in lines[0]
    assert "hf download amazon/chronos-bolt-small" in lines[0]


def test_chronos_is_an_optional_ensemble_member(cache: Path) -> None:
    assert "forecast.chronos" not in ForecastEnsemble().get_params()["members"]
    model = ForecastEnsemble(members=("forecast.chronos", "forecast.seasonal-naive"))
    model.fit(histories()[:3], season=12, horizon=6)
    assert set(model.weights_) == {"forecast.chronos", "forecast.seasonal-naive"}
    assert np.isfinite(model.forecast(histories()).mean).all()


@pytest.mark.slow
def test_chronos_without_weights_a_default_study_runs_without_it(
    empty_cache: Path, tmp_path: Path
) -> None:
    import crossover

    rng = np.random.default_rng(0)
    t = np.arange(48)
    frame = pd.concat(
        pd.DataFrame(
            {
                "store": f"s{i}",
                "month": pd.date_range("2020-01-01", periods=48, freq="MS"),
                "units": 100 + 5 * i + 10 * np.sin(2 * np.pi * t / 12) + rng.normal(0, 2, 48),
            }
        )
        for i in range(3)
    )
    study = crossover.compare(
        frame,
        task="forecasting",
        id="store",
        time="month",
        value="units",
        horizon=6,
        windows=1,
        budgets="24",
        seeds=1,
        measure_speed=False,
        jobs=1,
        trials_dir=tmp_path / "trials",
        n_resamples=1000,
        progress=False,
    )
    compared = {r.trial.strategy for r in study.results}
    assert "forecast.chronos" not in compared and "forecast.seasonal-naive" in compared
    assert (
        "hf download amazon/chronos-bolt-small" in study.settings["unavailable"]["forecast.chronos"]
    )
