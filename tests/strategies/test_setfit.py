"""``text.setfit``: pair sampling, the time budget, what it saves, and a real fine-tune."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from crossover.errors import ConfigError
from crossover.models import get_embedder
from crossover.models._resolve import DEFAULT_MODEL
from crossover.strategies import Strategy, registry
from crossover.strategies.text import setfit as setfit_module
from crossover.strategies.text.setfit import SetFit, sample_pairs
from tests.conftest import FAST_MODEL, make_tickets

PICKLE_SUFFIXES = {".pkl", ".pickle", ".joblib", ".bin", ".pt", ".pth"}


@pytest.fixture(scope="module")
def train() -> pd.DataFrame:
    return make_tickets(10).sample(frac=1.0, random_state=0).reset_index(drop=True)


def test_registered_as_an_opt_in_hybrid_for_small_budgets() -> None:
    cls = registry.get("text.setfit")
    assert cls is SetFit
    assert (cls.kind, cls.task, cls.has_proba) == ("hybrid", "text-classification", True)
    assert cls.max_default_budget == 16
    # Minutes per trial on a CPU: asked for by name, never part of the default study.
    assert cls.default is False
    assert "text.setfit" not in registry.candidates("text-classification")
    assert "text.setfit" in registry.keys("text-classification")
    # The runner must neither pre-embed with the base model nor charge its encoding.
    assert SetFit(model=FAST_MODEL).embedding_model() is None


def test_sample_pairs_follows_setfit() -> None:
    labels = ["a"] * 3 + ["b"] * 5 + ["c"]
    pairs = sample_pairs(labels, 4, None, seed=0)
    for row, partner, target in pairs:
        assert row != partner
        assert (labels[row] == labels[partner]) == (target == 1.0)
    targets = Counter(t for _, _, t in pairs)
    # Every round: one negative per row, one positive per row that has a classmate ("c" has none).
    assert targets == {0.0: 4 * 9, 1.0: 4 * 8}
    assert sample_pairs(labels, 4, None, seed=0) == pairs
    assert sample_pairs(labels, 4, None, seed=1) != pairs


def test_sample_pairs_for_in_batch_negatives_has_positives_only() -> None:
    labels = ["a"] * 3 + ["b"] * 5 + ["c"]
    pairs = sample_pairs(labels, 4, None, seed=0, negatives=False)
    # Two classmates per row and round, as many pairs as SetFit's (but for "c", alone).
    assert len(pairs) == 4 * 2 * 8
    assert all(labels[r] == labels[p] and r != p and t == 1.0 for r, p, t in pairs)


def test_sample_pairs_cap_keeps_positives_and_negatives_balanced() -> None:
    labels = [f"class{i % 7}" for i in range(70)]
    pairs = sample_pairs(labels, 20, 101, seed=0)
    assert len(pairs) == 101
    targets = Counter(t for _, _, t in pairs)
    assert abs(targets[1.0] - targets[0.0]) <= 1


def test_sample_pairs_leaves_out_pairs_that_do_not_exist() -> None:
    # One class: positives only. Two singleton classes: negatives only.
    assert Counter(t for _, _, t in sample_pairs(["only"] * 4, 3, None, seed=0)) == {1.0: 12}
    pairs = sample_pairs(["x", "y"], 2, None, seed=0)
    assert sorted(pairs) == [(0, 1, 0.0)] * 2 + [(1, 0, 0.0)] * 2


def test_tiny_time_budget_still_gives_a_fitted_model(train: pd.DataFrame) -> None:
    # Without the budget, 500 iterations would be ~1,900 steps (minutes on a CPU).
    strategy = SetFit(model=FAST_MODEL, num_iterations=500, max_pairs=None, time_budget_s=0.01)
    strategy.fit(train.text, train.label)
    assert strategy.stopped_by_time_budget_
    assert strategy.train_steps_ == 0  # loading the encoder alone used up 10 ms
    pred = strategy.predict(train.text)
    assert set(pred) <= set(train.label)
    assert strategy.predict_proba(train.text).shape == (len(train), 3)


@pytest.fixture
def fake_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    """A clock that advances one second each time it is read."""
    ticks = iter(range(10**6))
    monkeypatch.setattr(setfit_module, "_clock", lambda: float(next(ticks)))


@pytest.mark.usefixtures("fake_clock")
def test_time_budget_stops_training_between_steps(train: pd.DataFrame) -> None:
    # Reads: fit starts (t=0, deadline 4.5), the check before training (1), then one per
    # step: steps end at 2, 3, 4 and 5, and the fourth reaches the deadline.
    strategy = SetFit(model=FAST_MODEL, num_iterations=20, time_budget_s=4.5)
    strategy.fit(train.text, train.label)
    assert strategy.train_pairs_ == 20 * 2 * len(train)
    assert strategy.train_steps_ == 4
    assert strategy.stopped_by_time_budget_
    assert (strategy.predict(train.text) == train.label.to_numpy()).mean() > 0.5


def test_label_texts_add_one_row_per_class(train: pd.DataFrame) -> None:
    strategy = SetFit(model=FAST_MODEL, num_iterations=1, label_texts=True)
    strategy.fit(train.text, train.label, label_descriptions={"refund_request": "money back"})
    assert strategy.train_pairs_ == 2 * (len(train) + 3)
    assert strategy.predict(["money back"])[0] == "refund_request"


def test_unknown_loss_is_a_config_error(train: pd.DataFrame) -> None:
    with pytest.raises(ConfigError, match="in-batch, cosine"):
        SetFit(model=FAST_MODEL, loss="triplet").fit(train.text, train.label)


def test_fine_tunes_a_copy_and_saves_it_as_safetensors(train: pd.DataFrame, tmp_path: Path) -> None:
    shared = get_embedder(FAST_MODEL)
    texts = train.text.tolist()[:5]
    before = shared.encode(texts, use_cache=False)
    # A static encoder only moves at a high learning rate.
    strategy = SetFit(model=FAST_MODEL, num_iterations=2, learning_rate=0.5)
    strategy.fit(train.text, train.label)
    assert strategy.train_steps_ > 0 and not strategy.stopped_by_time_budget_
    tuned = strategy._encode(texts)
    assert not np.allclose(tuned, before, atol=1e-3)
    # The process-wide model other strategies embed with is untouched.
    np.testing.assert_array_equal(shared.encode(texts, use_cache=False), before)

    saved = strategy.save(tmp_path / "model")
    assert list((saved / "body").glob("*.safetensors"))
    assert (saved / "head.skops").is_file()
    assert not [f for f in saved.rglob("*") if f.suffix in PICKLE_SUFFIXES]
    loaded = Strategy.load(saved)
    assert isinstance(loaded, SetFit)
    np.testing.assert_allclose(loaded._encode(texts), tuned, rtol=1e-6)
    assert loaded.train_steps_ == strategy.train_steps_
    footprint = strategy.footprint()
    assert footprint["base_model_bytes"] == 0  # the encoder travels with the strategy
    assert footprint["parameters"] > strategy.head_.coef_.size


@pytest.mark.slow
def test_real_fine_tune_of_minilm_moves_its_embeddings() -> None:
    tickets = make_tickets(8)
    small = tickets.groupby("label").head(4)  # 4 per class, 3 classes
    # Three rounds of pairs (about 5 steps): enough to move the encoder, a few seconds on a CPU.
    strategy = SetFit(model=DEFAULT_MODEL, num_iterations=3).fit(small.text, small.label)
    assert strategy.train_steps_ > 0 and not strategy.stopped_by_time_budget_
    probe = tickets.text.tolist()
    base = get_embedder(DEFAULT_MODEL).encode(probe, use_cache=False)
    tuned = strategy._encode(probe)
    # Same texts, different encoder: the vectors moved, yet not beyond recognition.
    cosines = np.sum(base * tuned, axis=1)
    assert cosines.min() < 0.999
    assert cosines.mean() > 0.5
    assert (strategy.predict(tickets.text) == tickets.label.to_numpy()).mean() > 0.9
