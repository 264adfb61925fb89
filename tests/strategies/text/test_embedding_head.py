"""``text.embedding-head``: the head's C comes from cross-validation on the training rows, is
seeded, falls back when a class is too thin to split, and is saved with the model."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from crossover.strategies import Strategy
from crossover.strategies.text import EmbeddingHead
from crossover.strategies.text.embedding_head import C_GRID, DEFAULT_C
from tests.conftest import FAST_MODEL, make_tickets


@pytest.fixture(scope="module")
def split() -> tuple[pd.DataFrame, pd.DataFrame]:
    data = make_tickets(16).sample(frac=1.0, random_state=1).reset_index(drop=True)
    test = data.groupby("label").head(4)
    return data.drop(test.index), test


def _fit(train: pd.DataFrame, **params: object) -> EmbeddingHead:
    model = EmbeddingHead(model=FAST_MODEL, **params)  # type: ignore[arg-type]
    return model.fit(train["text"].tolist(), train["label"].tolist())


def test_embedding_head_c_is_the_grids_best_held_out_accuracy(
    split: tuple[pd.DataFrame, pd.DataFrame],
) -> None:
    model = _fit(split[0])
    assert model.C is None and model.C_ in C_GRID
    assert set(model.cv_accuracy_) == {f"{c:g}" for c in C_GRID}
    accuracy = [model.cv_accuracy_[f"{c:g}"] for c in C_GRID]
    assert all(0.0 <= a <= 1.0 for a in accuracy)
    # The first of the best: the smallest C among equals.
    first_best = C_GRID[accuracy.index(max(accuracy))]
    assert first_best == model.C_
    assert model.head_.C == model.C_


def test_embedding_head_c_is_reproducible_with_the_same_seed(
    split: tuple[pd.DataFrame, pd.DataFrame],
) -> None:
    train, test = split
    first, second = _fit(train, random_state=7), _fit(train, random_state=7)
    assert (first.C_, first.cv_accuracy_) == (second.C_, second.cv_accuracy_)
    texts = test["text"].tolist()
    np.testing.assert_array_equal(first.predict_proba(texts), second.predict_proba(texts))


def test_embedding_head_fixed_c_skips_the_search(split: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    model = _fit(split[0], C=0.5)
    assert (model.C_, model.cv_accuracy_, model.head_.C) == (0.5, {}, 0.5)


@pytest.mark.parametrize("rows_in_thin_class", [1, 2])
def test_embedding_head_thin_class_falls_back_to_the_default_c(
    split: tuple[pd.DataFrame, pd.DataFrame], rows_in_thin_class: int
) -> None:
    train, test = split
    label = train["label"].iloc[0]
    thin = pd.concat(
        [train[train["label"] != label], train[train["label"] == label].head(rows_in_thin_class)]
    )
    model = _fit(thin)
    assert (model.C_, model.cv_accuracy_) == (DEFAULT_C, {})
    assert model.predict(test["text"].tolist()).shape == (len(test),)


def test_embedding_head_learning_curve_budget_of_two_per_class_trains(
    split: tuple[pd.DataFrame, pd.DataFrame],
) -> None:
    train, test = split
    model = _fit(train.groupby("label").head(2))
    assert model.C_ == DEFAULT_C
    proba = model.predict_proba(test["text"].tolist())
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-6)


def test_embedding_head_folds_are_bounded_by_the_smallest_class(
    split: tuple[pd.DataFrame, pd.DataFrame],
) -> None:
    # Three rows per class and five folds asked for: three folds, each row held out once.
    model = _fit(split[0].groupby("label").head(3), cv_folds=5)
    assert model.C_ in C_GRID and len(model.cv_accuracy_) == len(C_GRID)


def test_embedding_head_chosen_c_survives_save_and_load(
    split: tuple[pd.DataFrame, pd.DataFrame], tmp_path: Path
) -> None:
    train, test = split
    texts = test["text"].tolist()
    model = _fit(train)
    saved = model.save(tmp_path / "m")
    assert json.loads((saved / "head.json").read_text())["C"] == model.C_
    loaded = Strategy.load(saved)
    assert isinstance(loaded, EmbeddingHead)
    assert (loaded.C, loaded.C_, loaded.cv_accuracy_) == (None, model.C_, model.cv_accuracy_)
    np.testing.assert_allclose(loaded.predict_proba(texts), model.predict_proba(texts))


def test_embedding_head_folder_saved_before_the_search_reads_c_from_the_head(
    split: tuple[pd.DataFrame, pd.DataFrame], tmp_path: Path
) -> None:
    saved = _fit(split[0], C=20.0).save(tmp_path / "m")
    (saved / "head.json").unlink()  # as written before the search existed
    loaded = Strategy.load(saved)
    assert isinstance(loaded, EmbeddingHead)
    assert (loaded.C_, loaded.cv_accuracy_) == (20.0, {})


def test_the_choice_of_C_is_the_same_on_one_thread_and_on_several(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from crossover.strategies._head import choose_C, cv_threads

    rng = np.random.default_rng(0)
    y = np.repeat(np.array(["a", "b", "c"], dtype=object), 30)
    vectors = rng.normal(size=(90, 16)) + (y == "a")[:, None] * 0.8 + (y == "b")[:, None] * 0.4
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    assert cv_threads() == 1
    serial = choose_C(vectors, y, cv_folds=3, max_iter=500, random_state=0)
    monkeypatch.setenv("OMP_NUM_THREADS", "3")
    assert cv_threads() == 3
    assert choose_C(vectors, y, cv_folds=3, max_iter=500, random_state=0) == serial
    assert len(serial[1]) == 7  # every C of the grid scored
