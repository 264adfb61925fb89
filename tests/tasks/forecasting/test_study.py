"""A forecasting study through ``crossover.compare``: the windows, the history budgets, the
units of the bootstrap, lower-is-better ranking, and the report's data."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import crossover
from crossover.errors import ConfigError, DataError
from crossover.evaluation.budgets import FULL
from crossover.tasks.forecasting.trial import decode_prediction

FAST = "forecast.seasonal-naive,forecast.ets,forecast.gbm"


def sales(n_series: int, length: int = 72, seed: int = 0) -> pd.DataFrame:
    """Monthly sales with a trend, a season and noise; series differ in level and slope."""
    rng = np.random.default_rng(seed)
    season = np.sin(np.arange(length) * 2 * np.pi / 12)
    frames = []
    for i in range(n_series):
        y = 100 + 5 * i + (0.5 + 0.1 * i) * np.arange(length) + 10 * season
        y = y + rng.normal(scale=2.0, size=length)
        frames.append(
            pd.DataFrame(
                {
                    "store": f"store-{i}",
                    "month": pd.date_range("2018-01-01", periods=length, freq="MS"),
                    "units": y,
                }
            )
        )
    return pd.concat(frames, ignore_index=True)


def compare(frame: pd.DataFrame, tmp_path: Path, **options: object) -> crossover.Study:
    values = {
        "task": "forecasting",
        "id": "store",
        "time": "month",
        "value": "units",
        "strategies": FAST,
        "jobs": 1,
        "trials_dir": tmp_path / "trials",
        "n_resamples": 1000,
        "progress": False,
        **options,
    }
    return crossover.compare(frame, **values)  # type: ignore[arg-type]


def test_few_series_are_backtested_on_three_windows_with_pairs_as_units(tmp_path: Path) -> None:
    study = compare(sales(4), tmp_path)
    assert study.spec["horizon"] == 12 and study.spec["season"] == 12
    assert study.split["windows"] == 3 and study.split["unit"] == "series-window"
    assert len(study.y_true) == 4 * 3 and study.y_true[0] == "store-0 @ window 1"
    # Budgets are 1, 2 ... seasons below the median history before the first window (36).
    assert study.settings["budgets"] == ["12", "24", FULL]
    assert study.settings["seeds"] == 1
    board = study.leaderboard
    assert set(board["strategy"]) == set(FAST.split(","))
    assert (board["metric"] == "mase").all()
    # Lower is better: the first row has the smallest MASE and every other row's delta is >= 0.
    assert board["score"].iloc[0] == board["score"].min()
    assert (board["delta_vs_best"].iloc[1:] >= 0).all()
    for r in study.leaderboard_results:
        assert len(r.unit_scores["mase"]) == len(study.y_true)
        windows = decode_prediction(r.predictions[0])
        assert len(windows) == 1 and len(windows[0]["mean"]) == 12
        assert all(lo <= hi for lo, hi in zip(windows[0]["low"], windows[0]["high"], strict=True))
        assert {"mase", "smape", "rmsse", "wql", "coverage_80"} <= set(r.metrics)


def test_many_series_are_the_units_and_a_trial_sees_only_its_history_budget(
    tmp_path: Path,
) -> None:
    study = compare(sales(21, length=60), tmp_path, horizon=6, budgets="12,24")
    assert study.split["windows"] == 1 and study.split["unit"] == "series"
    assert study.y_true == [f"store-{i}" for i in sorted(range(21), key=str)]
    by_budget = {
        (r.trial.strategy, r.trial.budget): r
        for r in study.results
        if r.trial.strategy == "forecast.gbm"
    }
    assert by_budget[("forecast.gbm", 12)].n_train == 12
    assert by_budget[("forecast.gbm", FULL)].n_train == 60 - 6
    # The seasonal naive reads one season back, so its scores do not depend on the budget.
    naive = [r for r in study.results if r.trial.strategy == "forecast.seasonal-naive"]
    assert len({round(r.metrics["mase"], 12) for r in naive}) == 1


def test_the_zero_shot_forecaster_runs_at_every_history_budget(tmp_path: Path) -> None:
    pytest.importorskip("fracast")
    study = compare(
        sales(3, length=60), tmp_path, strategies="forecast.fracast", horizon=6, budgets="12"
    )
    budgets = sorted(str(r.trial.budget) for r in study.results)
    assert budgets == ["12", FULL]
    assert {r.kind for r in study.results} == {"pretrained"}


def test_the_study_round_trips_through_its_json(tmp_path: Path) -> None:
    study = compare(sales(3), tmp_path, strategies="forecast.seasonal-naive,forecast.ets")
    path = study.to_json(tmp_path / "study.json")
    loaded = crossover.load_study(path)
    assert loaded.best == study.best
    assert loaded.leaderboard["strategy"].tolist() == study.leaderboard["strategy"].tolist()
    assert json.loads(path.read_text())["task"] == "forecasting"


def test_bad_input_is_refused_naming_what_to_change(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="--horizon 0"):
        compare(sales(2), tmp_path, horizon=0)
    with pytest.raises(DataError, match="shorter than"):
        compare(sales(2, length=20), tmp_path, horizon=12, windows=3)
    with pytest.raises(ConfigError, match="--fill 'mean'"):
        compare(sales(2), tmp_path, fill="mean")


def test_forecasts_csv_holds_every_backtest_forecast_beside_its_actual(tmp_path: Path) -> None:
    from crossover import tasks
    from crossover._api import write_outputs

    frame = sales(3)
    study = compare(frame, tmp_path, strategies="forecast.seasonal-naive,forecast.ets")
    paths = write_outputs(study, tmp_path / "out", report=False)
    rows = pd.read_csv(paths["forecasts"], parse_dates=["ds", "cutoff"])
    assert len(rows) == 2 * 3 * 3 * 12  # strategies x series x windows x steps
    truth = frame.set_index(["store", "month"])["units"]
    expected = truth.loc[list(zip(rows["unique_id"], rows["ds"], strict=True))].to_numpy()
    assert np.allclose(rows["actual"], expected, rtol=1e-6)
    first = rows[rows["step"] == 1]
    assert ((first["ds"] - first["cutoff"]).dt.days.between(28, 31)).all()
    assert (rows["p10"] <= rows["p90"]).all()
    # The seasonal naive repeats the value one season (12 months) before each step.
    naive = rows[rows["strategy"] == "forecast.seasonal-naive"]
    back = naive["ds"] - pd.DateOffset(months=12)
    repeated = truth.loc[list(zip(naive["unique_id"], back, strict=True))].to_numpy()
    assert np.allclose(naive["forecast"], repeated, rtol=1e-5)  # kept to 6 digits
    plots = tasks.get("forecasting").present.series_plots(study, "forecast.ets")
    assert [p["series"] for p in plots] == sorted(
        (p["series"] for p in plots),
        key=lambda s: -next(q["mase"] for q in plots if q["series"] == s),
    )
    assert len(plots) == 3 and all(len(p["windows"]) == 3 for p in plots)
    assert all(len(w["x"]) == len(w["mean"]) == 12 for p in plots for w in p["windows"])


def test_the_report_plots_the_worst_series_first_and_lists_every_metric(tmp_path: Path) -> None:
    from crossover._api import write_outputs
    from crossover.report.data import ReportData

    study = compare(sales(3), tmp_path, strategies="forecast.seasonal-naive,forecast.ets")
    data = ReportData.from_study(study)
    assert data.ranking_heading == "Forecast accuracy, every metric"
    mases = [s["mase"] for s in data.series]
    assert len(mases) == 3 and mases == sorted(mases, reverse=True)
    assert all(data.charts[s["chart"]] for s in data.series)
    html = (write_outputs(study, tmp_path / "out")["report"]).read_text()
    assert f"How {data.series_strategy} forecast each series, worst first" in html
    assert 'id="chart-series_0"' in html and "forecasts.csv" in html
    assert "cold-start" not in html
    # A forecaster learns from the series' own history: no labels are bought or priced.
    assert "What each candidate costs" in html
    assert "<th>hosting</th>" in html and "labels to buy</th>" not in html


def test_the_cli_costs_table_has_no_labels_to_buy(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from crossover._api import decide
    from crossover.cli._common import print_decision
    from crossover.costs import load_catalog, load_scenario

    study = compare(sales(3), tmp_path, strategies="forecast.seasonal-naive")
    pricing, recommendation = decide(study, load_scenario(None).check(load_catalog()))
    print_decision(study, pricing, recommendation)
    out = capsys.readouterr().out
    assert "forecast.seasonal-naive" in out and "$ / month" in out
    assert "labels to buy" not in out


def test_a_target_error_above_one_is_accepted_for_mase() -> None:
    from crossover.plan import StudyPlan

    assert StudyPlan.of("forecasting", target=1.2).check().target == 1.2
    with pytest.raises(ConfigError, match="get down to"):
        StudyPlan.of("forecasting", target=-1.0).check()
    with pytest.raises(ConfigError, match="between 0 and 1"):
        StudyPlan.of("text-classification", target=1.2).check()


def test_model_goes_to_the_pretrained_strategy_that_runs_its_family(tmp_path: Path) -> None:
    from crossover.models._resolve import DEFAULT_MODEL
    from crossover.models.forecasters import resolve_forecaster
    from crossover.tasks.forecasting.compare import _adjust

    keys = ["forecast.fracast", "forecast.chronos", "forecast.ets"]

    def given(model: str) -> dict[str, dict[str, object]]:
        params: dict[str, dict[str, object]] = {k: {"model": model} for k in keys}
        _adjust(model, keys, params)
        return params

    chronos = given("amazon/chronos-bolt-base")
    assert chronos["forecast.chronos"] == {"model": "amazon/chronos-bolt-base"}
    assert chronos["forecast.fracast"] == {} and chronos["forecast.ets"] == {}
    folder = str(resolve_forecaster("ztxtech/fracast-0").path)  # a Fracast-0 release folder
    fracast = given(folder)
    assert fracast["forecast.fracast"] == {"model": folder} and fracast["forecast.chronos"] == {}
    assert all(p == {} for p in given(DEFAULT_MODEL).values())  # the text encoder's default
    only_fracast = {"forecast.fracast": {"model": "amazon/chronos-2"}}
    with pytest.raises(ConfigError, match=r"--model amazon/chronos-2: a chronos-2 forecaster"):
        _adjust("amazon/chronos-2", ["forecast.fracast"], only_fracast)


def test_a_study_forgets_the_fits_and_forecasts_its_backtests_shared(tmp_path: Path) -> None:
    from crossover.strategies.forecast import _base

    compare(sales(3), tmp_path, strategies="forecast.gbm,forecast.ensemble", budgets="full")
    assert not _base._REUSE and not _base._FITTED


def test_strategies_named_by_the_user_say_nothing_of_those_left_out(tmp_path: Path) -> None:
    study = compare(sales(3), tmp_path, strategies="forecast.seasonal-naive", budgets="full")
    assert study.settings["unavailable"] == {}
