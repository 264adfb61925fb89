"""The recommendation task in the study: preparation, the trial, the per-user bootstrap,
learning curves over interactions, the report and the CLI."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

import crossover
from crossover.cli import app
from crossover.errors import ConfigError, DataError
from crossover.evaluation.bootstrap import _resample_counts
from crossover.study import load_study
from crossover.tasks.recommendation.task import prepare, ranking_scores
from tests.conftest import FAST_MODEL
from tests.strategies.recsys.test_recommenders import make_shop


@pytest.fixture(scope="module")
def shop_files(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("shop")
    interactions, items = make_shop()
    interactions = interactions.rename(columns={"user": "customer", "item": "sku"})
    interactions["stars"] = 5
    interactions.loc[interactions.index % 10 == 0, "stars"] = 2  # 10 % are not positives
    items = items.rename(columns={"item": "sku"})
    interactions.to_csv(folder / "events.csv", index=False)
    items.to_csv(folder / "items.csv", index=False)
    return folder / "events.csv", folder / "items.csv"


OPTIONS: dict[str, Any] = {
    "user": "customer",
    "item": "sku",
    "time": "t",
    "rating": "stars",
    "model": FAST_MODEL,
    "holdout": 2,
    "budgets": "100,full",
    "seeds": 2,
    "jobs": 1,
    "progress": False,
    "n_resamples": 1000,
}


@pytest.fixture(scope="module")
def study(shop_files: tuple[Path, Path], tmp_path_factory: pytest.TempPathFactory) -> Any:
    events, items = shop_files
    trials = tmp_path_factory.mktemp("trials")
    return crossover.compare(
        events, task="recommendation", items=items, trials_dir=trials, **OPTIONS
    )


def test_prepare_keeps_positives_collapses_duplicates_and_splits_per_user() -> None:
    frame = pd.DataFrame(
        {
            "u": [1, 1, 1, 1, 2, 2, 2, 3],
            "i": [10, 11, 11, 12, 10, 13, 14, 10],
            "r": [5, 4, 5, 5, 1, 5, 4, 5],
            "t": [1, 2, 3, 4, 1, 2, 3, 1],
        }
    )
    prepared = prepare(frame, user="u", item="i", rating="r", time="t", holdout=1)
    # The rating-1 row is dropped, the repeated (1, 11) kept once (the most recent).
    assert prepared.n_interactions == 6
    assert all(isinstance(v, str) for v in prepared.train["user"])
    assert prepared.train["item"].iloc[0] == "10"
    test = sorted(zip(prepared.test["user"], prepared.test["item"], strict=True))
    assert test == [("1", "12"), ("2", "14")]  # each user's most recent; user 3 trains only
    assert prepared.info.n_train_only_users == 1
    assert any("kept 7 of 8" in n for n in prepared.notes)


def test_prepare_names_the_bad_column() -> None:
    frame = pd.DataFrame({"u": [1, 2], "i": [1, 2]})
    with pytest.raises(DataError, match="'user_id'"):
        prepare(frame, user="user_id", item="i")
    items = pd.DataFrame({"id": [1, 2], "title": ["a", "b"]})
    with pytest.raises(DataError, match="--item-id"):
        prepare(frame, user="u", item="i", items=items)


def test_ranking_scores_match_hand_computed_values() -> None:
    lists = {"a": ["x", "y", "z"], "b": ["y", "x", "w"]}
    relevant = {"a": {"y"}, "b": {"w", "q"}}
    metrics, units = ranking_scores(lists, relevant, cold={"q", "w"}, catalogue=list("xyzwq"), k=3)
    # a: hit at 2 -> NDCG 1/log2(3); b: hit at 3 of 2 relevant -> (1/2) / (1 + 1/log2(3)).
    ndcg_a = 1 / np.log2(3)
    ndcg_b = 0.5 / (1 + 1 / np.log2(3))
    assert units["ndcg_at_3"] == pytest.approx([ndcg_a, ndcg_b])
    assert metrics["ndcg_at_3"] == pytest.approx((ndcg_a + ndcg_b) / 2)
    assert metrics["recall_at_3"] == pytest.approx((1 + 0.5) / 2)
    assert metrics["map_at_3"] == pytest.approx((0.5 + (1 / 3) / 2) / 2)
    assert metrics["coverage_at_3"] == pytest.approx(4 / 5)
    # The cold slice holds b only; a is not in it (None, not 0).
    assert units["cold_ndcg_at_3"] == [None, pytest.approx(ndcg_b)]
    assert metrics["cold_recall_at_3"] == pytest.approx(0.5)


def test_study_has_every_strategy_metric_and_interval(study: Any) -> None:
    board = study.leaderboard
    assert set(board["strategy"]) == {
        "recsys.popularity",
        "recsys.content-embeddings",
        "recsys.als",
        "recsys.hybrid",
    }
    assert study.headline == "ndcg_at_10"
    for name, stats in study.statistics.items():
        s = stats["ndcg_at_10"]
        assert s["ci_low"] <= s["score"] <= s["ci_high"], name
        assert {"recall_at_10", "map_at_10"} <= set(stats)
    for r in study.leaderboard_results:
        assert "coverage_at_10" in r.metrics
        assert len(r.unit_scores["ndcg_at_10"]) == len(study.y_true) == study.split["test_users"]
        assert len(r.predictions) == len(study.y_true)


def test_intervals_are_a_bootstrap_over_users(study: Any) -> None:
    """The study's interval equals the percentile interval of the users' resampled means."""
    r = next(x for x in study.leaderboard_results if x.trial.strategy == "recsys.als")
    values = np.asarray(r.unit_scores["ndcg_at_10"], dtype=np.float64)
    counts = _resample_counts(len(values), 1000, 0).astype(np.float64)
    means = counts @ values / counts.sum(axis=1)
    low, high = np.percentile(means, [2.5, 97.5])
    s = study.statistics["recsys.als"]["ndcg_at_10"]
    assert s["score"] == pytest.approx(values.mean())
    assert (s["ci_low"], s["ci_high"]) == (pytest.approx(low), pytest.approx(high))


def test_cold_slice_is_scored_on_its_users_only(study: Any) -> None:
    r = next(x for x in study.leaderboard_results if x.trial.strategy == "recsys.hybrid")
    cold = r.unit_scores.get("cold_ndcg_at_10")
    if study.split["cold_users"] == 0:
        assert cold is None
        return
    defined = [v for v in cold if v is not None]
    assert len(defined) == study.split["cold_users"]
    assert r.metrics["cold_ndcg_at_10"] == pytest.approx(np.mean(defined))


def test_learning_curve_budgets_count_training_interactions(study: Any) -> None:
    curve = study.learning_curve
    trained = curve[curve["budget_per_class"] == 100]
    assert set(trained["strategy"]) == {"recsys.popularity", "recsys.als", "recsys.hybrid"}
    assert (trained["n_labels"] == 100).all() and (trained["seed_count"] == 2).all()
    content = curve[curve["strategy"] == "recsys.content-embeddings"]
    assert list(content["budget_per_class"]) == [0]  # pre-trained: one flat point
    # Trained on a sample, but measured on every test user (the history is the query).
    sampled = [r for r in study.results if r.trial.budget == 100]
    assert all(len(r.unit_scores["ndcg_at_10"]) == len(study.y_true) for r in sampled)


def test_curve_sentences_count_interactions_not_labels() -> None:
    from crossover.evaluation.learning_curve import LabelsNeeded, describe

    item = LabelsNeeded(
        "recsys.als", "custom", 3000, 0.02, 0.05, None, 12000.0, 9000.0, 20000.0, False
    )
    lines = describe(
        [item],
        pretrained="recsys.content-embeddings",
        metric="ndcg_at_10",
        unit="training interactions",
    )
    assert "from 3,000 training interactions" in lines[0]
    assert "about 12,000 training interactions" in lines[0]
    assert "per class" not in lines[0]


def test_study_round_trips_through_json(study: Any, tmp_path: Path) -> None:
    study.to_json(tmp_path / "study.json")
    again = load_study(tmp_path / "study.json")
    assert again.statistics == json.loads(json.dumps(study.to_dict()))["statistics"]
    assert again.leaderboard_results[0].unit_scores is not None
    recomputed = type(again)(**{**again.__dict__, "statistics": {}, "curves": {}})
    a, b = recomputed.statistics["recsys.als"], study.statistics["recsys.als"]
    assert a["ndcg_at_10"]["ci_low"] == pytest.approx(b["ndcg_at_10"]["ci_low"])


def test_rerun_resumes_every_trial(
    shop_files: tuple[Path, Path], tmp_path: Path, study: Any
) -> None:
    events, items = shop_files
    options = {**OPTIONS, "budgets": "full", "seeds": 1, "measure_speed": False}
    first = crossover.compare(
        events, task="recommendation", items=items, trials_dir=tmp_path, **options
    )
    files = {p: p.stat().st_mtime_ns for p in tmp_path.glob("*.json")}
    second = crossover.compare(
        events, task="recommendation", items=items, trials_dir=tmp_path, **options
    )
    assert {p: p.stat().st_mtime_ns for p in tmp_path.glob("*.json")} == files
    assert second.statistics == first.statistics


def test_without_items_only_the_interaction_strategies_run(shop_files: tuple[Path, Path]) -> None:
    events, _ = shop_files
    options = {**OPTIONS, "budgets": "full", "seeds": 1, "measure_speed": False}
    study = crossover.compare(events, task="recommendation", **options)
    assert set(study.leaderboard["strategy"]) == {"recsys.als", "recsys.popularity"}
    with pytest.raises(ConfigError, match="--items"):
        crossover.compare(events, task="recommendation", strategies="recsys.hybrid", **options)


def test_report_and_summary_show_the_ranking_metrics(study: Any, tmp_path: Path) -> None:
    from crossover._api import decide, write_outputs

    pricing, recommendation = decide(study)
    paths = write_outputs(study, tmp_path, pricing=pricing, recommendation=recommendation)
    html = paths["report"].read_text()
    assert "Ranking metrics and the cold-start slice" in html
    assert "bootstrap intervals over the test users" in html
    assert "goes wrong" not in html  # no confusion matrix of user ids
    summary = paths["summary"].read_text()
    assert "NDCG@10 [95 % CI]" in summary and "coverage@10" in summary


def test_cli_compare_recommendation(shop_files: tuple[Path, Path], tmp_path: Path) -> None:
    events, items = shop_files
    args = ["compare", str(events), "--task", "recommendation", "--user", "customer"]
    args += ["--item", "sku", "--items", str(items), "--time", "t", "--rating", "stars"]
    args += ["--model", FAST_MODEL, "--budgets", "full", "--seeds", "1", "--holdout", "2"]
    result = CliRunner().invoke(app, [*args, "--out", str(tmp_path / "out"), "--jobs", "1"])
    assert result.exit_code == 0, result.output
    assert "ranking metrics at k = 10" in result.output
    assert (tmp_path / "out" / "report.html").exists()
    data = json.loads((tmp_path / "out" / "study.json").read_text())
    assert data["task"] == "recommendation" and data["settings"]["load"]["user"] == "customer"


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--item", "sku"], "--user"),
        (["--user", "nobody", "--item", "sku"], "'nobody'"),
        (["--user", "customer", "--item", "sku", "--rating", "sku"], "'sku'"),
        (["--user", "customer", "--item", "sku", "--strategies", "recsys.hybrid"], "--items"),
        (["--user", "customer", "--item", "sku", "--k", "0"], "--k"),
    ],
)
def test_cli_bad_input_exits_2_with_the_reason(
    shop_files: tuple[Path, Path], tmp_path: Path, extra: list[str], message: str
) -> None:
    events, _ = shop_files
    args = ["compare", str(events), "--task", "recommendation", *extra, "--budgets", "full"]
    result = CliRunner().invoke(app, [*args, "--out", str(tmp_path / "out")])
    assert result.exit_code == 2, result.output
    assert message in result.output


def test_crossover_compare_runs_the_recommendation_task(shop_files: tuple[Path, Path]) -> None:
    import crossover

    events, items = shop_files
    options = {**OPTIONS, "budgets": "full", "seeds": 1, "measure_speed": False}
    study = crossover.compare(events, task="recommendation", items=items, **options)
    assert study.task == "recommendation" and study.headline == "ndcg_at_10"
    assert "recsys.hybrid" in set(study.leaderboard["strategy"])
