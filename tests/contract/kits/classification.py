"""What every classification kit shares: the data's shape, fitting, outputs, and the checks
that read the same for texts and tables."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

import numpy as np
import pytest

from crossover.strategies import Strategy
from tests.contract.kits.base import Case, Check

__all__ = [
    "Split",
    "check_classifier_predictions",
    "classifier_outputs",
    "fit_classifier",
    "footprint_counts_own_parameters",
    "pretrained_never_sees_training_rows",
]


class Split(NamedTuple):
    """Inputs and labels to train on, and to test on."""

    x_train: Any
    y_train: Any
    x_test: Any
    y_test: Any


def fit_classifier(strategy: Strategy, data: Split) -> Strategy:
    return strategy.fit(data.x_train, data.y_train)


def classifier_outputs(strategy: Strategy, data: Split) -> dict[str, Any]:
    outputs = {"labels": strategy.predict(data.x_test)}
    if strategy.has_proba:
        outputs["proba"] = strategy.predict_proba(data.x_test)
    return outputs


def check_classifier_predictions(case: Case, strategy: Strategy) -> None:
    """One known label per input; probabilities, where the strategy has them, sum to one and
    agree with the labels; a strategy without them says so."""
    data: Split = case.data
    pred = strategy.predict(data.x_test)
    assert pred.shape == (len(data.x_test),)
    assert set(pred) <= set(data.y_train)
    assert list(strategy.classes_) == sorted(set(data.y_train))
    if strategy.has_proba:
        proba = strategy.predict_proba(data.x_test)
        assert proba.shape == (len(data.x_test), len(strategy.classes_))
        np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-6)
        np.testing.assert_array_equal(strategy.classes_[proba.argmax(axis=1)], pred)
    else:
        with pytest.raises(NotImplementedError):
            strategy.predict_proba(data.x_test)


def _footprint_counts_own_parameters(case: Case) -> None:
    strategy = case.fitted()
    footprint = strategy.footprint()
    if case.cls.is_api:
        # The provider's model: nothing of it is self-hosted; only a head trained on its
        # output (text.api-embedding-head) has parameters of its own.
        head = getattr(strategy, "head_", None)
        own = 0 if head is None else int(head.coef_.size + head.intercept_.size)
        assert footprint["parameters"] == own
        assert footprint["base_model_bytes"] == 0
    else:
        assert footprint["parameters"] > 0


footprint_counts_own_parameters = Check(
    "footprint_counts_own_parameters", _footprint_counts_own_parameters
)


def pretrained_never_sees_training_rows(other_rows: Callable[[Any], Any]) -> Check:
    """The check that a pretrained strategy's ``_fit`` gets no row, and that other rows with
    the same label set (``other_rows(x_train)``, labels reversed) give the same model."""

    def run(case: Case) -> None:
        data: Split = case.data
        strategy = case.build()
        seen: list[tuple[Any, Any]] = []
        original = type(strategy)._fit

        def spy(self: Strategy, X: Any, y: Any) -> None:
            seen.append((X, y))
            original(self, X, y)

        case.monkeypatch.setattr(type(strategy), "_fit", spy)
        strategy.fit(data.x_train, data.y_train)
        assert [(X is None, y is None) for X, y in seen] == [(True, True)]
        reversed_labels: Any = np.asarray(data.y_train)[::-1]
        other = case.build().fit(other_rows(data.x_train), reversed_labels)
        np.testing.assert_array_equal(other.predict(data.x_test), strategy.predict(data.x_test))
        if strategy.has_proba:
            np.testing.assert_array_equal(
                other.predict_proba(data.x_test), strategy.predict_proba(data.x_test)
            )

    return Check(
        "pretrained_never_sees_training_rows", run, applies=lambda cls: not cls.needs_labels
    )
