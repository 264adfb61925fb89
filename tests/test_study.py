from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

import crossover
from crossover.errors import ConfigError, DataError
from crossover.study import LEADERBOARD_COLUMNS, LEARNING_CURVE_COLUMNS, load_study
from tests.conftest import FAST_MODEL, make_tickets


@pytest.fixture(scope="module")
def study() -> crossover.Study:
    return crossover.compare(
        make_tickets(15),
        model=FAST_MODEL,
        progress=False,
        measure_speed=False,
        n_resamples=1000,
        budgets="2,4,full",
        seeds=2,
        jobs=1,
        target=0.8,
    )


def test_compare_measures_every_default_strategy_on_the_same_rows(study: crossover.Study) -> None:
    board = study.leaderboard
    assert list(board.columns) == LEADERBOARD_COLUMNS
    assert set(board.strategy) == {
        "text.zero-shot-embeddings",
        "text.tfidf-linear",
        "text.embedding-head",
        "text.ensemble",
    }
    assert set(board.kind) == {"pretrained", "custom", "hybrid"}
    assert board.score.is_monotonic_decreasing
    assert (board.ci_low <= board.score).all() and (board.score <= board.ci_high).all()
    assert board.delta_vs_best.iloc[0] == 0 and pd.isna(board.significant.iloc[0])
    assert (board.delta_vs_best <= 0).all()
    n_test = study.split["test_rows"]
    assert all(len(r.predictions) == n_test for r in study.results)
    assert len(study.results) == 1 + 3 * (1 + 2 * 2)  # pretrained; 3 trained x (full + 2x2)
    assert study.split["train_rows"] + n_test == 45
    assert study.environment["cpu_count"] >= 1
    assert study.environment["versions"]["scikit-learn"]


def test_study_json_round_trip(study: crossover.Study, tmp_path: Path) -> None:
    path = study.to_json(tmp_path / "study.json")
    data = json.loads(path.read_text())
    assert data["schema_version"] == 1
    assert data["dataset"]["fingerprint"] == study.dataset["fingerprint"]
    loaded = load_study(path)
    pd.testing.assert_frame_equal(loaded.leaderboard, study.leaderboard)
    assert loaded.statistics == study.statistics
    # The output folder of compare works as well as its study.json.
    assert load_study(tmp_path).statistics == study.statistics


def test_load_study_refuses_other_schema(tmp_path: Path) -> None:
    path = tmp_path / "study.json"
    path.write_text(json.dumps({"schema_version": 99}))
    with pytest.raises(DataError, match="schema version 99"):
        load_study(path)
    with pytest.raises(DataError, match="no such study file"):
        load_study(tmp_path / "missing.json")


def test_compare_is_deterministic_for_a_seed() -> None:
    kwargs = dict(
        model=FAST_MODEL, progress=False, measure_speed=False, n_resamples=1000, budgets="full"
    )
    a = crossover.compare(make_tickets(10), strategies="text.tfidf-linear", seed=4, **kwargs)
    b = crossover.compare(make_tickets(10), strategies="text.tfidf-linear", seed=4, **kwargs)
    cols = ["strategy", "score", "ci_low", "ci_high"]
    pd.testing.assert_frame_equal(a.leaderboard[cols], b.leaderboard[cols])


def test_compare_rejects_unknown_strategy() -> None:
    with pytest.raises(ConfigError, match=r"unknown strategy 'text\.nope'"):
        crossover.compare(make_tickets(5), strategies="text.nope", progress=False)


def test_compare_measures_speed(tmp_path: Path) -> None:
    study = crossover.compare(
        make_tickets(10),
        strategies=["text.tfidf-linear"],
        progress=False,
        n_resamples=1000,
        budgets="full",
    )
    row = study.leaderboard.iloc[0]
    assert 0 < row.latency_p50_ms <= row.latency_p95_ms
    assert row.throughput_rows_s > 0 and row.size_mb > 0 and row.fit_s > 0
    paths = crossover.write_outputs(study, tmp_path)
    csv = pd.read_csv(paths["leaderboard"])
    assert list(csv.columns) == LEADERBOARD_COLUMNS


def test_study_learning_curve_table_and_labels_needed(study: crossover.Study) -> None:
    curve = study.learning_curve
    assert list(curve.columns) == LEARNING_CURVE_COLUMNS
    head = curve[curve.strategy == "text.embedding-head"].set_index("budget_per_class")
    assert list(head.index) == [2, 4, "full"]
    assert list(head.seed_count) == [2, 2, 1]
    assert list(head.n_labels) == [6, 12, 36]
    assert (head.score_ci_low <= head.score_mean).all()
    # The full-budget point is the leaderboard's trial.
    board = study.leaderboard.set_index("strategy")
    assert head.loc["full", "score_mean"] == board.loc["text.embedding-head", "score"]
    pretrained = curve[curve.kind == "pretrained"]
    assert list(pretrained.budget_per_class) == [0]
    assert list(pretrained.n_labels) == [0]
    needed = {n["strategy"]: n for n in study.curves["labels_needed"]}
    assert set(needed) == {"text.embedding-head", "text.ensemble", "text.tfidf-linear"}
    assert needed["text.tfidf-linear"]["target"] == 0.8
    assert study.curves["summary"]
    assert all(line.startswith("text.") for line in study.curves["summary"])
