"""``compare(..., task="tabular-classification")`` end to end on a small synthetic table:
repeated stratified splits by default, ``repeats``, a time split, the decision threshold with
``amount`` and ``cost_fp``; and ``crossover compare --task tabular-classification``."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from crossover._api import compare
from crossover.cli import app
from crossover.errors import ConfigError
from crossover.study import Study
from crossover.tasks.tabular import best_threshold

TABLE = "tabular-classification"
STRATEGIES = "tabular.gbm,tabular.linear"
N_ROWS = 600
BASE_RATE = 0.1
COST_FP = 5.0


def _table(n: int = N_ROWS, seed: int = 1) -> pd.DataFrame:
    """3 numeric columns (one with the signal), 1 categorical, a time, 10 % positives."""
    rng = np.random.default_rng(seed)
    y = np.zeros(n, dtype=int)
    y[rng.choice(n, int(n * BASE_RATE), replace=False)] = 1
    return pd.DataFrame(
        {
            "signal": rng.normal(0.0, 1.0, n) + 2.0 * y,
            "noise": rng.normal(0.0, 1.0, n),
            "amount": np.round(rng.gamma(2.0, 50.0, n), 2),
            "channel": rng.choice(["web", "pos", "app"], n),
            "ts": rng.permutation(n).astype(float),
            "y": y,
        }
    )


def _compare(data: pd.DataFrame | Path, **kwargs: object) -> Study:
    options: dict[str, object] = dict(
        task=TABLE,
        label="y",
        strategies=STRATEGIES,
        budgets="full",
        seeds=1,
        jobs=1,
        progress=False,
        measure_speed=False,
        n_resamples=1000,
    )
    options.update(kwargs)
    return compare(data, **options)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def repeated() -> Study:
    return _compare(_table(), drop=["ts"], budgets="16,full")


@pytest.fixture(scope="module")
def by_time(tmp_path_factory: pytest.TempPathFactory) -> Study:
    path = tmp_path_factory.mktemp("table") / "tx.csv"
    _table().to_csv(path, index=False)
    return _compare(path, time="ts", amount="amount", cost_fp=COST_FP)


def test_small_table_is_measured_over_five_stratified_splits(repeated: Study) -> None:
    assert repeated.task == TABLE
    assert repeated.headline == "pr_auc"
    assert len(repeated.split["split_ids"]) == 5
    assert repeated.split["split_id"] == repeated.split["split_ids"][0]
    assert repeated.split["train_rows"] == 480 and repeated.split["test_rows"] == 120
    assert repeated.settings["repeats"] == 5
    assert repeated.repeated
    # Two leaderboard trials per split, and the budget-16 trials on the primary split only.
    assert len(repeated.results) == 2 * 5 + 2
    for results in repeated.split_results().values():
        assert [r.trial.split_id for r in results] == repeated.split["split_ids"]
    curve = [r for r in repeated.results if r.trial.budget == 16]
    assert {r.trial.split_id for r in curve} == {repeated.primary_split}
    assert {r.trial.split_id for r in repeated.leaderboard_results} == {repeated.primary_split}
    for name in ("tabular.gbm", "tabular.linear"):
        assert repeated.statistics[name]["pr_auc"]["splits"] == 5
    assert set(repeated.curve_points().budget) == {16, "full"}


def test_the_leaderboard_ranks_by_pr_auc_and_the_signal_beats_chance(repeated: Study) -> None:
    board = repeated.leaderboard

    assert (board.metric == "pr_auc").all()
    assert set(board.strategy) == {"tabular.gbm", "tabular.linear"}
    assert board.score.is_monotonic_decreasing
    assert board.score.iloc[0] > 3 * BASE_RATE
    assert (board.ci_low <= board.score).all() and (board.score <= board.ci_high).all()
    for name in board.strategy:
        s = repeated.statistics[name]
        assert {"pr_auc", "roc_auc", "recall_at_fpr", "brier", "accuracy"} <= set(s)
        assert s["roc_auc"]["score"] > 0.7
    assert repeated.spec["positive"] == "1"
    assert repeated.spec["column_types"] == {
        "signal": "numeric",
        "noise": "numeric",
        "amount": "numeric",
        "channel": "categorical",
    }
    assert repeated.thresholds == {}


def test_repeats_is_honoured() -> None:
    study = _compare(_table(), drop=["ts"], repeats=2, strategies="tabular.linear")

    assert len(study.split["split_ids"]) == 2
    assert study.settings["repeats"] == 2
    assert study.statistics["tabular.linear"]["pr_auc"]["splits"] == 2
    assert len(study.results) == 2


def test_time_split_is_one_split_of_the_most_recent_rows(by_time: Study) -> None:
    assert len(by_time.split["split_ids"]) == 1
    assert not by_time.repeated
    assert "time split on 'ts'" in by_time.split["description"]
    assert by_time.split["test_rows"] == 120
    assert by_time.spec["time"] == "ts"
    assert "ts" not in by_time.spec["inputs"]
    assert by_time.settings["load"] == {"task": TABLE, "time": "ts", "amount": "amount"}
    for name, s in by_time.statistics.items():
        pr = s["pr_auc"]
        assert pr["ci_low"] <= pr["score"] <= pr["ci_high"], name
        assert "splits" not in pr


def test_amount_and_cost_fp_fill_the_thresholds(by_time: Study) -> None:
    table = _table()
    test = table[table["ts"] >= 480]  # the most recent 20 %, in the table's order
    assert by_time.y_true == test["y"].astype(str).tolist()
    y = test["y"].to_numpy()
    amounts = test["amount"].to_numpy()

    assert set(by_time.thresholds) == {"tabular.gbm", "tabular.linear"}
    for r in by_time.leaderboard_results:
        t = by_time.thresholds[r.trial.strategy]
        assert t["rows"] == 120 and t["cost_fp"] == COST_FP
        assert t["no_model_loss"] == pytest.approx(amounts[y == 1].sum())
        assert t["saved"] == pytest.approx(t["no_model_loss"] - t["loss"])
        assert t["saved_per_1k_rows"] == pytest.approx(t["saved"] / 120 * 1000)
        assert t["in_sample_saved"] >= 0
        assert 0 <= t["caught"] <= t["flagged"] <= 120
        assert t["loss"] >= 0
        assert r.classes is not None
        score = np.asarray(r.proba)[:, r.classes.index("1")]
        chosen = best_threshold(y, score, amounts, COST_FP)
        assert t["threshold"] == chosen.threshold
        assert t["in_sample_saved"] == pytest.approx(chosen.saved)
    best = by_time.leaderboard.strategy.iloc[0]
    assert by_time.thresholds[best]["saved"] > 0  # the signal is worth reviewing for


def test_cost_fp_without_amount_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="--cost-fp needs --amount"):
        _compare(_table(), cost_fp=COST_FP)


# --- the CLI ---------------------------------------------------------------------------------


def test_cli_compare_on_a_table_writes_the_study_and_the_report(tmp_path: Path) -> None:
    path = tmp_path / "tx.csv"
    _table().drop(columns="ts").to_csv(path, index=False)
    out = tmp_path / "out"

    result = CliRunner().invoke(
        app,
        [
            "compare",
            str(path),
            "--task",
            TABLE,
            "--label",
            "y",
            "--strategies",
            "tabular.gbm",
            "--budgets",
            "full",
            "--repeats",
            "2",
            "--out",
            str(out),
        ],
    )

    assert result.exit_code == 0, result.output
    assert (out / "study.json").is_file() and (out / "report.html").is_file()
    saved = json.loads((out / "study.json").read_text())
    assert saved["task"] == TABLE and saved["headline"] == "pr_auc"
    assert len(saved["split"]["split_ids"]) == 2
    assert "tabular.gbm" in result.stdout


def test_cli_compare_bad_label_is_one_error_line_naming_the_column(tmp_path: Path) -> None:
    path = tmp_path / "tx.csv"
    _table().to_csv(path, index=False)

    result = CliRunner().invoke(
        app,
        ["compare", str(path), "--task", TABLE, "--label", "fraud", "--out", str(tmp_path / "o")],
    )

    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(f"error: {path}: no column 'fraud' (--label)")
    assert "Traceback" not in result.output
    assert not (tmp_path / "o").exists()


def test_cli_compare_unknown_task_exits_2(tmp_path: Path) -> None:
    path = tmp_path / "tx.csv"
    _table().to_csv(path, index=False)

    result = CliRunner().invoke(
        app, ["compare", str(path), "--task", "nonsense", "--out", str(tmp_path / "o")]
    )

    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: --task 'nonsense'"), result.stderr
    assert "tabular-classification" in lines[0]


def test_export_of_a_table_study_retrains_with_its_load_options_and_serves_rows(
    tmp_path: Path,
) -> None:
    """compare (time split, a dropped column) -> study.json -> export -> load_model: the model
    is trained on every row read the same way, takes the study's input columns, and predicts."""
    from crossover._api import write_outputs
    from crossover.artifacts import export_model, load_model

    path = tmp_path / "tx.csv"
    frame = _table().assign(row_id=[f"r{i}" for i in range(N_ROWS)])
    frame.to_csv(path, index=False)
    study = _compare(path, time="ts", drop=["noise"], strategies="tabular.gbm")
    write_outputs(study, tmp_path / "study", report=False)

    model_dir = export_model(tmp_path / "study", tmp_path / "model", strategy="tabular.gbm")
    model = load_model(model_dir)

    manifest = model.manifest
    assert manifest["task"] == TABLE
    assert manifest["trained_on"]["rows"] == N_ROWS
    columns = manifest["input_schema"]["required"]
    assert set(columns) == {"signal", "amount", "channel"}  # no ts, noise, row_id or label
    proba = model.predict_proba(frame[columns])
    assert proba.shape == (N_ROWS, 2)
    positive = model.labels.index("1")
    truth = frame["y"].to_numpy() == 1
    assert proba[truth, positive].mean() > proba[~truth, positive].mean() + 0.3
