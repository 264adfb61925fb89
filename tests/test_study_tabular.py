"""``Study`` on a table, from hand-made trial results: the mean over repeated splits with the
corrected resampled t interval (Nadeau & Bengio), and on one split the score bootstrap of the
probabilities; the JSON round trip keeps probabilities, classes and thresholds."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from crossover.evaluation.bootstrap import _resample_counts, percentile_interval
from crossover.evaluation.score_bootstrap import binary_score_samples
from crossover.evaluation.trials import Trial, TrialResult
from crossover.study import Study, corrected_t_interval, load_study
from crossover.tasks.tabular.metrics import decision_threshold
from crossover.tasks.tabular.task import TASK

NAN = float("nan")
TABLE = "tabular-classification"


def _result(
    strategy: str,
    metrics: dict[str, float],
    predictions: list[str],
    *,
    split_id: str,
    budget: str | int = "full",
    proba: np.ndarray | None = None,
    classes: list[str] | None = None,
    n_train: int = 480,
) -> TrialResult:
    return TrialResult(
        trial=Trial(strategy=strategy, budget=budget, seed=0, split_id=split_id),
        kind="custom",
        metrics=dict(metrics),
        predictions=list(predictions),
        n_train=n_train,
        fit_s=0.5,
        fit_wall_s=0.5,
        encode_train_s=0.0,
        predict_s=0.01,
        latency_p50_ms=NAN,
        latency_p95_ms=NAN,
        throughput_rows_s=NAN,
        size_mb=NAN,
        parameters=10,
        peak_mem_mb=1.0,
        n_classes=2,
        proba=None if proba is None else np.asarray(proba).tolist(),
        classes=classes,
    )


# --- (a) repeated splits ---------------------------------------------------------------------

SPLIT_IDS = [f"s{i}" for i in range(5)]
TRAIN_ROWS, TEST_ROWS = 480, 120
# Known per-split PR-AUC: A best, C close behind (not significant), B clearly worse.
PR_AUC = {
    "tabular.a": [0.60, 0.55, 0.62, 0.58, 0.65],
    "tabular.c": [0.59, 0.56, 0.60, 0.57, 0.63],
    "tabular.b": [0.50, 0.43, 0.53, 0.47, 0.57],
}
ACCURACY = {
    "tabular.a": [0.91, 0.90, 0.92, 0.93, 0.90],
    "tabular.c": [0.92, 0.91, 0.92, 0.92, 0.91],
    "tabular.b": [0.90, 0.89, 0.90, 0.91, 0.88],
}
N_Y = 40


def _primary_rows() -> tuple[list[str], dict[str, np.ndarray]]:
    """The primary split's test labels (8 positives of 40) and a probability table per
    strategy: stored, so that the learning-curve view can bootstrap them."""
    rng = np.random.default_rng(31)
    y = np.array(["1"] * 8 + ["0"] * 32, dtype=object)
    proba = {}
    for name, strength in (("tabular.a", 0.5), ("tabular.c", 0.45), ("tabular.b", 0.2)):
        p = np.clip(strength * (y == "1") + 0.5 * rng.random(N_Y), 0.0, 1.0)
        proba[name] = np.c_[1.0 - p, p]
    return list(y), proba


@pytest.fixture(scope="module")
def repeated() -> Study:
    y_true, proba = _primary_rows()
    results = []
    for name in PR_AUC:
        for i, split_id in enumerate(SPLIT_IDS):
            on_primary = i == 0
            p = proba[name] if on_primary else np.full((N_Y, 2), 0.5)
            results.append(
                _result(
                    name,
                    {"pr_auc": PR_AUC[name][i], "accuracy": ACCURACY[name][i], "macro_f1": 0.5},
                    ["0"] * N_Y,
                    split_id=split_id,
                    proba=p,
                    classes=["0", "1"],
                )
            )
    # A learning-curve trial on the primary split.
    results.append(
        _result(
            "tabular.a",
            {"pr_auc": 0.4, "accuracy": 0.85, "macro_f1": 0.5},
            ["0"] * N_Y,
            split_id="s0",
            budget=16,
            proba=proba["tabular.b"],
            classes=["0", "1"],
            n_train=32,
        )
    )
    return Study(
        results=results,
        y_true=y_true,
        task=TABLE,
        headline="pr_auc",
        spec={"task": TABLE, "positive": "1", "target": "y", "inputs": ["x"]},
        dataset={},
        split={
            "split_id": "s0",
            "split_ids": SPLIT_IDS,
            "train_rows": TRAIN_ROWS,
            "test_rows": TEST_ROWS,
        },
        environment={},
        settings={"n_resamples": 1000, "seed": 0, "fpr": 0.1},
    )


def _interval_by_hand(values: list[float] | np.ndarray) -> tuple[float, float]:
    values = np.asarray(values, dtype=float)
    half = stats.t.ppf(0.975, 4) * math.sqrt((1 / 5 + TEST_ROWS / TRAIN_ROWS) * values.var(ddof=1))
    return values.mean() - half, values.mean() + half


def test_repeated_study_groups_each_strategy_over_its_splits(repeated: Study) -> None:
    assert repeated.repeated
    groups = repeated.split_results()
    assert set(groups) == set(PR_AUC)
    for results in groups.values():
        assert [r.trial.split_id for r in results] == SPLIT_IDS
        assert all(r.trial.budget == "full" for r in results)


@pytest.mark.parametrize("metric", ["pr_auc", "accuracy"])
def test_repeated_score_is_the_mean_with_the_corrected_t_interval(
    repeated: Study, metric: str
) -> None:
    table = PR_AUC if metric == "pr_auc" else ACCURACY
    for name, values in table.items():
        s = repeated.statistics[name][metric]
        low, high = _interval_by_hand(values)
        assert s["score"] == pytest.approx(np.mean(values), abs=1e-12)
        assert s["ci_low"] == pytest.approx(low, abs=1e-12)
        assert s["ci_high"] == pytest.approx(high, abs=1e-12)
        assert s["splits"] == 5
    # Wider than the plain t interval, which ignores that the splits share training rows.
    plain = stats.t.ppf(0.975, 4) * np.std(PR_AUC["tabular.b"], ddof=1) / math.sqrt(5)
    s = repeated.statistics["tabular.b"]["pr_auc"]
    assert (s["ci_high"] - s["ci_low"]) / 2 > plain


def test_repeated_delta_and_significance_against_the_best(repeated: Study) -> None:
    assert repeated.best == "tabular.a"
    best = np.array(PR_AUC["tabular.a"])
    for name, values in PR_AUC.items():
        s = repeated.statistics[name]["pr_auc"]
        diffs = np.array(values) - best
        low, high = _interval_by_hand(diffs)
        assert s["delta"] == pytest.approx(diffs.mean(), abs=1e-12)
        assert s["delta_ci_low"] == pytest.approx(low, abs=1e-12)
        assert s["delta_ci_high"] == pytest.approx(high, abs=1e-12)
    assert repeated.statistics["tabular.a"]["pr_auc"]["significant"] is None
    assert repeated.statistics["tabular.a"]["pr_auc"]["delta"] == 0.0
    assert repeated.statistics["tabular.c"]["pr_auc"]["significant"] is False
    assert repeated.statistics["tabular.b"]["pr_auc"]["significant"] is True


def test_repeated_leaderboard_ranks_by_the_mean(repeated: Study) -> None:
    board = repeated.leaderboard

    assert list(board.strategy) == ["tabular.a", "tabular.c", "tabular.b"]
    assert (board.metric == "pr_auc").all()
    for row in board.itertuples():
        s = repeated.statistics[row.strategy]["pr_auc"]
        assert (row.score, row.ci_low, row.ci_high) == (s["score"], s["ci_low"], s["ci_high"])
    assert list(board.significant.astype(object)) == [pd.NA, False, True]


def test_repeated_paired_delta(repeated: Study) -> None:
    diffs = np.array(PR_AUC["tabular.a"]) - np.array(PR_AUC["tabular.b"])
    low, high = _interval_by_hand(diffs)

    got = repeated.paired_delta("tabular.a", "tabular.b")

    assert got["delta"] == pytest.approx(diffs.mean(), abs=1e-12)
    assert got["ci_low"] == pytest.approx(low, abs=1e-12)
    assert got["ci_high"] == pytest.approx(high, abs=1e-12)
    assert got["significant"] is True
    reverse = repeated.paired_delta("tabular.b", "tabular.a")
    assert reverse["delta"] == pytest.approx(-diffs.mean(), abs=1e-12)
    assert repeated.paired_delta("tabular.c", "tabular.a")["significant"] is False
    accuracy = repeated.paired_delta("tabular.c", "tabular.b", "accuracy")
    assert accuracy["delta"] == pytest.approx(
        np.mean(np.array(ACCURACY["tabular.c"]) - ACCURACY["tabular.b"]), abs=1e-12
    )


def test_corrected_t_interval_of_one_value_is_the_value() -> None:
    assert corrected_t_interval(np.array([0.3]), 0.25) == (0.3, 0.3)
    assert corrected_t_interval(np.array([0.3, 0.3, 0.3]), 0.25) == (0.3, 0.3)


def test_repeated_leaderboard_and_curves_hold_primary_split_trials_only(repeated: Study) -> None:
    assert [r.trial.split_id for r in repeated.leaderboard_results] == ["s0"] * 3

    points = repeated.curve_points()

    assert len(points) == 4  # three leaderboard trials and the budget-16 one, all on s0
    assert sorted(points.strategy) == ["tabular.a", "tabular.a", "tabular.b", "tabular.c"]
    full = points[points.budget == "full"].set_index("strategy")
    # The primary split's own value, not the mean over the splits.
    for name, values in PR_AUC.items():
        assert full.loc[name, "score"] == values[0]
    # Each leaderboard trial carries its test-set bootstrap interval on the primary split.
    y = (np.asarray(repeated.y_true) == "1").astype(int)
    counts = _resample_counts(N_Y, 1000, 0)
    for r in repeated.leaderboard_results:
        score = np.asarray(r.proba)[:, 1]
        samples = binary_score_samples(y, score, counts, fpr=0.1)["pr_auc"]
        low, high = percentile_interval(samples)
        assert full.loc[r.trial.strategy, "score_ci_low"] == pytest.approx(low, abs=1e-12)
        assert full.loc[r.trial.strategy, "score_ci_high"] == pytest.approx(high, abs=1e-12)
    budget = points[points.budget == 16]
    assert budget.score.tolist() == [0.4]
    assert budget.score_ci_low.isna().all()


def test_repeated_study_json_round_trip(repeated: Study, tmp_path: Path) -> None:
    loaded = load_study(repeated.to_json(tmp_path / "study.json"))

    assert loaded.repeated
    assert loaded.statistics == repeated.statistics
    pd.testing.assert_frame_equal(loaded.leaderboard, repeated.leaderboard)


# --- (b) one split, scored on probabilities --------------------------------------------------

N_SINGLE = 200


def _single_rows(
    positive: str = "1", negative: str = "0", n_pos: int = 20, n: int = N_SINGLE
) -> tuple[list[str], dict[str, np.ndarray]]:
    rng = np.random.default_rng(77)
    y = np.array([positive] * n_pos + [negative] * (n - n_pos), dtype=object)
    out = {}
    for name, strength in (("tabular.gbm", 0.5), ("tabular.linear", 0.2)):
        p = np.round(np.clip(strength * (y == positive) + 0.6 * rng.random(n), 0.0, 1.0), 3)
        out[name] = p
    return list(y), out


def _single_study(
    positive: str = "1",
    negative: str = "0",
    n_pos: int = 20,
    n: int = N_SINGLE,
    options: dict[str, Any] | None = None,
) -> Study:
    y_true, scores = _single_rows(positive, negative, n_pos, n)
    classes = sorted([positive, negative])
    pos_col = classes.index(positive)
    results = []
    for name, p in scores.items():
        proba = np.empty((n, 2))
        proba[:, pos_col], proba[:, 1 - pos_col] = p, 1.0 - p
        predictions = np.asarray(classes, dtype=object)[proba.argmax(axis=1)]
        metrics = TASK.evaluate(
            np.asarray(y_true, dtype=object),
            predictions,
            proba,
            np.asarray(classes, dtype=object),
            {"positive": positive, "fpr": 0.05},
        )
        results.append(
            _result(
                name,
                metrics,
                [str(v) for v in predictions],
                split_id="t",
                proba=proba,
                classes=classes,
            )
        )
    return Study(
        results=results,
        y_true=y_true,
        task=TABLE,
        headline="pr_auc",
        spec={"task": TABLE, "positive": positive, "target": "y", "inputs": ["x"]},
        dataset={},
        split={"split_id": "t", "split_ids": ["t"], "train_rows": 4 * n, "test_rows": n},
        environment={},
        settings={"n_resamples": 1000, "seed": 0, "fpr": 0.05, **(options or {})},
    )


@pytest.fixture(scope="module")
def single() -> Study:
    return _single_study()


def _samples(study: Study, strategy: str, positive: str) -> dict[str, np.ndarray]:
    r = next(x for x in study.leaderboard_results if x.trial.strategy == strategy)
    assert r.classes is not None
    y = (np.asarray(study.y_true, dtype=object) == positive).astype(int)
    score = np.asarray(r.proba)[:, r.classes.index(positive)]
    counts = _resample_counts(len(y), 1000, 0)
    return binary_score_samples(y, score, counts, fpr=0.05)


def test_single_split_statistics_use_the_score_bootstrap(single: Study) -> None:
    assert not single.repeated
    assert single.best == "tabular.gbm"
    for r in single.leaderboard_results:
        samples = _samples(single, r.trial.strategy, "1")
        for metric in ("pr_auc", "roc_auc", "recall_at_fpr", "brier"):
            s = single.statistics[r.trial.strategy][metric]
            assert s["score"] == r.metrics[metric]
            assert s["ci_low"] <= s["score"] <= s["ci_high"], metric
            low, high = percentile_interval(samples[metric])
            assert (s["ci_low"], s["ci_high"]) == pytest.approx((low, high), abs=1e-12)
        assert "accuracy" in single.statistics[r.trial.strategy]
    gbm = single.statistics["tabular.gbm"]["pr_auc"]
    linear = single.statistics["tabular.linear"]["pr_auc"]
    assert gbm["significant"] is None
    assert linear["delta"] == pytest.approx(linear["score"] - gbm["score"], abs=1e-12)
    assert linear["significant"] is True


def test_single_split_paired_delta_is_paired_on_the_same_resamples(single: Study) -> None:
    a, b = _samples(single, "tabular.gbm", "1"), _samples(single, "tabular.linear", "1")
    low, high = percentile_interval(a["pr_auc"] - b["pr_auc"])

    got = single.paired_delta("tabular.gbm", "tabular.linear")

    gbm, linear = (
        single.statistics[k]["pr_auc"]["score"] for k in ("tabular.gbm", "tabular.linear")
    )
    assert got["delta"] == pytest.approx(gbm - linear, abs=1e-12)
    assert (got["ci_low"], got["ci_high"]) == pytest.approx((low, high), abs=1e-12)
    assert got["significant"] is True


def test_single_split_positive_may_be_the_first_class() -> None:
    study = _single_study(positive="fraud", negative="ok")

    for r in study.leaderboard_results:
        assert r.classes == ["fraud", "ok"]
        samples = _samples(study, r.trial.strategy, "fraud")
        s = study.statistics[r.trial.strategy]["pr_auc"]
        assert s["score"] == r.metrics["pr_auc"]
        low, high = percentile_interval(samples["pr_auc"])
        assert (s["ci_low"], s["ci_high"]) == pytest.approx((low, high), abs=1e-12)
        assert s["ci_low"] <= s["score"] <= s["ci_high"]


def test_single_split_interval_is_finite_with_few_test_positives() -> None:
    study = _single_study(n_pos=2, n=30)  # about 1 resample in 8 holds no positive

    for name in ("tabular.gbm", "tabular.linear"):
        s = study.statistics[name]["pr_auc"]
        assert math.isfinite(s["ci_low"]) and math.isfinite(s["ci_high"])


def test_single_split_json_round_trip_keeps_proba_classes_and_thresholds(tmp_path: Path) -> None:
    study = _single_study()
    amounts = np.linspace(1.0, 200.0, N_SINGLE)
    y = (np.asarray(study.y_true) == "1").astype(int)
    study.thresholds = {
        r.trial.strategy: decision_threshold(y, np.asarray(r.proba)[:, 1], amounts, 5.0, 0)
        for r in study.leaderboard_results
    }

    loaded = Study.from_json(study.to_json(tmp_path / "study.json"))

    assert loaded.thresholds == study.thresholds
    assert loaded.statistics == study.statistics
    pd.testing.assert_frame_equal(loaded.leaderboard, study.leaderboard)
    for before, after in zip(study.results, loaded.results, strict=True):
        assert after.classes == before.classes == ["0", "1"]
        assert after.proba == before.proba
        assert after.metrics == before.metrics
    # Recomputed from the stored probabilities, the statistics are the same.
    fresh = Study.from_dict({**loaded.to_dict(), "statistics": {}})
    assert fresh.statistics == study.statistics
