"""The ``tabular-classification`` task: its splits, its score metrics against scikit-learn, the
headline per label, and the cross-fitted decision threshold."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import (
    average_precision_score,
    brier_score_loss,
    roc_auc_score,
    roc_curve,
)
from sklearn.model_selection import StratifiedKFold

from crossover import tasks
from crossover.data import Dataset, TaskSpec
from crossover.tasks import load
from crossover.tasks.tabular import best_threshold, loss_at_threshold
from crossover.tasks.tabular.metrics import decision_threshold
from crossover.tasks.tabular.task import TASK, score_metrics, splits

TABLE = "tabular-classification"


def _frame(n: int = 600, seed: int = 5, positive_share: float = 0.1) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    y = np.zeros(n, dtype=int)
    y[rng.choice(n, int(n * positive_share), replace=False)] = 1
    return pd.DataFrame(
        {
            "signal": rng.normal(0.0, 1.0, n) + 1.5 * y,  # distinct floats: they name the rows
            "noise": rng.normal(0.0, 1.0, n),
            "channel": rng.choice(["web", "pos", "app"], n),
            "ts": rng.permutation(n).astype(float),
            "y": y,
        }
    )


@pytest.fixture(scope="module")
def dataset() -> Dataset:
    return load(_frame(), task=TABLE, label="y", drop=["ts"])


# --- splits ----------------------------------------------------------------------------------


def test_the_task_is_registered() -> None:
    assert tasks.get(TABLE) is TASK
    assert TASK.needs_proba
    assert TASK.lower_is_better == frozenset({"brier"})


def test_small_table_gets_five_stratified_splits(dataset: Dataset) -> None:
    out = TASK.all_splits(dataset, 0)

    assert len(out) == 5
    assert len({s.split_id for s in out}) == 5
    rows = set(dataset.frame["signal"])
    share = (dataset.labels == "1").mean()
    for i, s in enumerate(out):
        assert len(s.test) == 120 and len(s.train) == 480
        train, test = set(s.train["signal"]), set(s.test["signal"])
        assert not train & test and train | test == rows
        # Stratified: the positive share of the table on both sides.
        assert (s.test["y"] == "1").mean() == pytest.approx(share)
        assert (s.train["y"] == "1").mean() == pytest.approx(share)
        assert f"split {i + 1} of 5" in s.description
        assert list(s.train.index) == list(range(480))  # positions, reset
    # Independent draws: the test sets differ.
    assert len({frozenset(s.test["signal"]) for s in out}) == 5


@pytest.mark.parametrize("repeats", [1, 2, 7])
def test_repeats_is_honoured(dataset: Dataset, repeats: int) -> None:
    out = splits(dataset, 0, repeats)

    assert len(out) == repeats
    assert len({s.split_id for s in out}) == repeats


def test_splits_depend_on_the_seed_only(dataset: Dataset) -> None:
    a, b, c = splits(dataset, 0), splits(dataset, 0), splits(dataset, 1)

    assert [s.split_id for s in a] == [s.split_id for s in b]
    pd.testing.assert_frame_equal(a[2].test, b[2].test)
    assert not {s.split_id for s in a} & {s.split_id for s in c}
    assert set(a[0].test["signal"]) != set(c[0].test["signal"])
    assert TASK.split(dataset, 0).split_id == a[0].split_id


def test_large_table_gets_one_split() -> None:
    frame = _frame(20_000, seed=2, positive_share=0.05).astype({"y": str}).drop(columns="ts")
    spec = TaskSpec(TABLE, ("signal", "noise", "channel"), "y", positive="1")

    out = splits(Dataset(frame, spec), 0)

    assert len(out) == 1
    assert len(out[0].test) == 4000


def test_time_split_tests_on_the_most_recent_rows() -> None:
    data = load(_frame(), task=TABLE, label="y", time="ts")

    out = TASK.all_splits(data, 0, 5)  # repeats do not apply to a time split

    assert len(out) == 1
    (s,) = out
    assert s.test["ts"].min() >= s.train["ts"].max()
    assert len(s.test) == 120 and len(s.train) == 480
    assert "time split on 'ts'" in s.description
    assert splits(data, 3)[0].split_id == s.split_id  # no randomness, no seed in the id


def test_fixed_test_set_is_the_one_split() -> None:
    train, test = _frame(), _frame(200, seed=9)
    data = load(train, task=TABLE, label="y", test=test, drop=["ts"])

    out = splits(data, 0, 5)

    assert len(out) == 1
    pd.testing.assert_frame_equal(out[0].train, data.frame)
    pd.testing.assert_frame_equal(out[0].test, data.test)
    assert "fixed test set" in out[0].description


# --- score metrics ---------------------------------------------------------------------------


def _binary_case(seed: int = 11, n: int = 200) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    y_true = np.where(rng.random(n) < 0.25, "fraud", "ok").astype(object)
    p_fraud = np.clip(0.3 * (y_true == "fraud") + rng.random(n) * 0.7, 0.0, 1.0)
    p_fraud = np.round(p_fraud, 2)  # ties in the scores
    return y_true, np.c_[p_fraud, 1.0 - p_fraud]  # classes ("fraud", "ok")


def _recall_at_fpr(y: np.ndarray, score: np.ndarray, fpr: float) -> float:
    fprs, tprs, _ = roc_curve(y, score, drop_intermediate=False)
    return float(tprs[fprs <= fpr + 1e-12].max())


def test_binary_score_metrics_match_sklearn_with_a_non_default_positive() -> None:
    y_true, proba = _binary_case()
    classes = np.array(["fraud", "ok"], dtype=object)

    got = score_metrics(y_true, proba, classes, {"positive": "fraud", "fpr": 0.1})

    y, score = (y_true == "fraud").astype(int), proba[:, 0]
    assert set(got) == {"pr_auc", "roc_auc", "recall_at_fpr", "brier"}
    assert got["pr_auc"] == pytest.approx(average_precision_score(y, score), abs=1e-12)
    assert got["roc_auc"] == pytest.approx(roc_auc_score(y, score), abs=1e-12)
    assert got["brier"] == pytest.approx(brier_score_loss(y, score), abs=1e-12)
    assert got["recall_at_fpr"] == pytest.approx(_recall_at_fpr(y, score, 0.1), abs=1e-12)


def test_binary_score_metrics_default_to_the_second_class() -> None:
    y_true, proba = _binary_case()
    classes = np.array(["fraud", "ok"], dtype=object)

    got = score_metrics(y_true, proba, classes, {})

    y, score = (y_true == "ok").astype(int), proba[:, 1]
    assert got["pr_auc"] == pytest.approx(average_precision_score(y, score), abs=1e-12)
    assert got["recall_at_fpr"] == pytest.approx(_recall_at_fpr(y, score, 0.01), abs=1e-12)


def test_binary_score_metrics_of_one_class_are_empty() -> None:
    classes = np.array(["0", "1"], dtype=object)
    proba = np.array([[0.2, 0.8], [0.6, 0.4]])

    assert score_metrics(np.array(["1", "1"], dtype=object), proba, classes, {}) == {}


def test_multiclass_score_metrics_match_sklearn() -> None:
    rng = np.random.default_rng(12)
    classes = np.array(["a", "b", "c"], dtype=object)
    codes = rng.integers(0, 3, 150)
    proba = rng.dirichlet([1.0, 1.0, 1.0], 150)
    proba[np.arange(150), codes] += 0.5
    proba /= proba.sum(axis=1, keepdims=True)
    y_true = classes[codes]

    got = score_metrics(y_true, proba, classes, {"positive": None, "fpr": 0.1})

    assert set(got) == {"pr_auc", "roc_auc", "brier"}
    assert got["pr_auc"] == pytest.approx(average_precision_score(codes, proba), abs=1e-12)
    expected_roc = roc_auc_score(codes, proba, multi_class="ovr", average="macro")
    assert got["roc_auc"] == pytest.approx(expected_roc, abs=1e-12)
    expected_brier = brier_score_loss(codes, proba, labels=[0, 1, 2], scale_by_half=False)
    assert got["brier"] == pytest.approx(expected_brier, abs=1e-12)


def test_evaluate_adds_the_label_metrics() -> None:
    y_true, proba = _binary_case()
    classes = np.array(["fraud", "ok"], dtype=object)
    predictions = classes[proba.argmax(axis=1)]

    got = TASK.evaluate(y_true, predictions, proba, classes, {"positive": "fraud"})

    assert got["accuracy"] == pytest.approx(np.mean(predictions == y_true))
    assert {"macro_f1", "pr_auc", "roc_auc", "recall_at_fpr", "brier"} <= set(got)
    assert set(TASK.evaluate(y_true, predictions, None, classes, {})) == {"accuracy", "macro_f1"}


# --- headline --------------------------------------------------------------------------------


def test_headline_is_pr_auc_for_a_binary_label_and_accuracy_otherwise(dataset: Dataset) -> None:
    multiclass = load(
        _frame().assign(y=lambda f: np.arange(len(f)) % 3), task=TABLE, label="y", drop=["ts"]
    )

    assert TASK.headline_for(dataset) == "pr_auc"
    assert multiclass.spec.positive is None
    assert TASK.headline_for(multiclass) == "accuracy"


# --- decision threshold ----------------------------------------------------------------------

SCORE = np.array([0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3, 0.2, 0.15, 0.1])
Y = np.array([1, 0, 1, 0, 0, 1, 0, 0, 1, 0])
AMOUNT = np.array([100.0, 5.0, 50.0, 7.0, 3.0, 20.0, 1.0, np.nan, 4.0, 2.0])
COST_FP = 15.0


def test_decision_threshold_on_all_rows_by_hand() -> None:
    # no model: 100 + 50 + 20 + 4 = 174 lost. Flag >= 0.9: 15 + 74 = 89; >= 0.8: 30 + 74 = 104;
    # >= 0.7: 45 + 24 = 69 (the best); >= 0.6: 84; >= 0.5: 99; >= 0.4: 90 + 4 = 94; lower: more.
    got = decision_threshold(Y, SCORE, AMOUNT, COST_FP, seed=0)

    assert got["threshold"] == 0.7
    assert got["flagged"] == 3 and got["caught"] == 2
    assert got["no_model_loss"] == 174.0
    assert got["in_sample_saved"] == pytest.approx(174.0 - 69.0)
    assert got["rows"] == 10 and got["cost_fp"] == COST_FP


@pytest.mark.parametrize("seed", [0, 3])
def test_decision_threshold_cross_fits_its_loss(seed: int) -> None:
    got = decision_threshold(Y, SCORE, AMOUNT, COST_FP, seed=seed)

    amount = np.nan_to_num(AMOUNT, nan=0.0)
    chosen = best_threshold(Y, SCORE, amount, COST_FP)
    folds = StratifiedKFold(2, shuffle=True, random_state=seed)
    halves = list(folds.split(SCORE.reshape(-1, 1), Y))
    expected = 0.0
    for fit_rows, eval_rows in halves:
        t = best_threshold(Y[fit_rows], SCORE[fit_rows], amount[fit_rows], COST_FP).threshold
        expected += loss_at_threshold(Y[eval_rows], SCORE[eval_rows], amount[eval_rows], COST_FP, t)

    assert got["threshold"] == chosen.threshold
    assert got["loss"] == pytest.approx(expected, abs=1e-9)
    assert got["saved"] == pytest.approx(got["no_model_loss"] - got["loss"], abs=1e-9)
    assert got["saved_per_1k_rows"] == pytest.approx(got["saved"] / 10 * 1000)
    # The halves are a partition of the rows, each with positives.
    assert sorted(np.concatenate([h[1] for h in halves]).tolist()) == list(range(10))
    assert all(Y[h[1]].sum() == 2 for h in halves)


def test_decision_threshold_flags_nothing_when_reviews_cost_more_than_frauds() -> None:
    got = decision_threshold(Y, SCORE, AMOUNT, cost_fp=1000.0)

    assert got["threshold"] == float("inf")
    assert got["flagged"] == 0
    assert got["loss"] == got["no_model_loss"] == 174.0
    assert got["saved"] == 0.0
