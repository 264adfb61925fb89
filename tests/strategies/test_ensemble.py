"""``text.ensemble``: the weight comes from cross-validation on the training rows, and the
combination reduces to each member at the ends of its range."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from crossover.strategies import Strategy, registry
from crossover.strategies.text import EmbeddingHead, Ensemble, TfidfLinear
from crossover.strategies.text.ensemble import DEFAULT_WEIGHT, WEIGHT_GRID
from tests.conftest import FAST_MODEL, make_tickets


@pytest.fixture(scope="module")
def split() -> tuple[pd.DataFrame, pd.DataFrame]:
    data = make_tickets(16).sample(frac=1.0, random_state=1).reset_index(drop=True)
    test = data.groupby("label").head(4)
    return data.drop(test.index), test


def _fit(strategy: Strategy, train: pd.DataFrame) -> Strategy:
    return strategy.fit(train["text"].tolist(), train["label"].tolist())


def test_registered_as_a_default_hybrid_with_probabilities() -> None:
    assert registry.get("text.ensemble") is Ensemble
    assert (Ensemble.kind, Ensemble.has_proba, Ensemble.default) == ("hybrid", True, True)
    assert Ensemble(model=FAST_MODEL).embedding_model() == FAST_MODEL


def test_weight_is_chosen_by_cross_validation_on_training_rows(
    split: tuple[pd.DataFrame, pd.DataFrame],
) -> None:
    train, _ = split
    model = _fit(Ensemble(model=FAST_MODEL), train)
    assert isinstance(model, Ensemble)
    assert model.weight_ in WEIGHT_GRID
    assert set(model.cv_accuracy_) == {f"{w:g}" for w in WEIGHT_GRID}
    assert all(0.0 <= a <= 1.0 for a in model.cv_accuracy_.values())
    # The chosen weight is the first of the best held-out accuracies averaged with the
    # neighbours' (by hand: two neighbours inside the grid, one at its ends).
    acc = [model.cv_accuracy_[f"{w:g}"] for w in WEIGHT_GRID]
    smooth = [
        sum(acc[max(0, i - 1) : i + 2]) / len(acc[max(0, i - 1) : i + 2]) for i in range(len(acc))
    ]
    first_best = WEIGHT_GRID[smooth.index(max(smooth))]
    assert model.weight_ == first_best


def test_plateau_prefers_the_middle_of_near_ties() -> None:
    from crossover.strategies.text.ensemble import plateau

    # A one-row lead at the edge of a plateau loses to the plateau's middle.
    accuracy = np.array([0.90, 0.929, 0.930, 0.931, 0.925, 0.91])
    assert int(np.argmax(accuracy)) == 3
    assert int(np.argmax(plateau(accuracy))) == 2
    np.testing.assert_allclose(plateau(accuracy)[0], (0.90 + 0.929) / 2)


def test_one_row_in_a_class_falls_back_to_the_default_weight(
    split: tuple[pd.DataFrame, pd.DataFrame],
) -> None:
    train, _ = split
    label = train["label"].iloc[0]
    thin = pd.concat([train[train["label"] != label], train[train["label"] == label].head(1)])
    model = _fit(Ensemble(model=FAST_MODEL), thin)
    assert isinstance(model, Ensemble)
    assert (model.weight_, model.cv_accuracy_) == (DEFAULT_WEIGHT, {})


def test_weight_zero_is_the_head_and_a_huge_weight_is_the_svm(
    split: tuple[pd.DataFrame, pd.DataFrame],
) -> None:
    train, test = split
    texts = test["text"].tolist()
    head = _fit(EmbeddingHead(model=FAST_MODEL, C=20.0), train)  # the ensemble's head_C
    svm = _fit(TfidfLinear(), train)
    only_head = _fit(Ensemble(model=FAST_MODEL, weight=0.0), train)
    only_svm = _fit(Ensemble(model=FAST_MODEL, weight=1e6), train)
    np.testing.assert_array_equal(only_head.predict(texts), head.predict(texts))
    np.testing.assert_array_equal(only_svm.predict(texts), svm.predict(texts))


def test_probabilities_agree_with_predictions_and_survive_save_load(
    split: tuple[pd.DataFrame, pd.DataFrame], tmp_path: Path
) -> None:
    train, test = split
    texts = test["text"].tolist()
    model = _fit(Ensemble(model=FAST_MODEL), train)
    proba = model.predict_proba(texts)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    np.testing.assert_array_equal(model.classes_[proba.argmax(axis=1)], model.predict(texts))
    loaded = Strategy.load(model.save(tmp_path / "m"))
    assert isinstance(loaded, Ensemble) and loaded.weight_ == model.weight_
    np.testing.assert_allclose(loaded.predict_proba(texts), proba)


def test_two_classes_use_the_single_svm_margin(
    split: tuple[pd.DataFrame, pd.DataFrame],
) -> None:
    train, test = split
    two = sorted(train["label"].unique())[:2]
    model = _fit(Ensemble(model=FAST_MODEL, weight=1e6), train[train["label"].isin(two)])
    svm = _fit(TfidfLinear(), train[train["label"].isin(two)])
    texts = test[test["label"].isin(two)]["text"].tolist()
    np.testing.assert_array_equal(model.predict(texts), svm.predict(texts))
    assert model.predict_proba(texts).shape == (len(texts), 2)


def test_the_weight_is_the_same_with_the_folds_on_one_thread_or_several(
    split: tuple[pd.DataFrame, pd.DataFrame], monkeypatch: pytest.MonkeyPatch
) -> None:
    train, _ = split
    monkeypatch.setenv("OMP_NUM_THREADS", "1")  # cv_threads: one, the folds in turn
    serial = _fit(Ensemble(model=FAST_MODEL), train)
    monkeypatch.setenv("OMP_NUM_THREADS", "3")  # three folds at once
    together = _fit(Ensemble(model=FAST_MODEL), train)
    assert isinstance(serial, Ensemble) and isinstance(together, Ensemble)
    assert together.cv_accuracy_ == serial.cv_accuracy_
    assert together.weight_ == serial.weight_
