"""The contract kit of ``text-classification``: support tickets in three classes."""

from __future__ import annotations

from typing import Any

import numpy as np

from crossover.strategies import Strategy
from tests.conftest import FAST_MODEL, make_tickets
from tests.contract.kits.base import Case, Check, Kit
from tests.contract.kits.classification import (
    Split,
    check_classifier_predictions,
    classifier_outputs,
    fit_classifier,
    footprint_counts_own_parameters,
    pretrained_never_sees_training_rows,
)

__all__ = ["TEXT"]


def make_data() -> Split:
    frame = make_tickets(14).sample(frac=1.0, random_state=0).reset_index(drop=True)
    train, test = frame.iloc[:30], frame.iloc[30:]
    return Split(train.text, train.label, test.text, test.label)


def params(cls: type[Strategy]) -> dict[str, Any]:
    return {"model": FAST_MODEL} if "model" in cls._param_names() else {}


def _needs_labels_follow_the_kind(case: Case) -> None:
    assert case.cls.needs_labels == (case.cls.kind != "pretrained")


def _better_than_chance(case: Case) -> None:
    data: Split = case.data
    pred = case.fitted().predict(data.x_test)
    assert np.mean(pred == data.y_test.to_numpy()) > 0.5  # chance is 1/3


def _trained_learns_from_rows(case: Case) -> None:
    """The counterpart of ``pretrained_never_sees_training_rows``: shuffled labels change a
    trained strategy."""
    data: Split = case.data
    real = case.fitted().predict(data.x_test)
    shuffled = data.y_train.sample(frac=1.0, random_state=3).to_numpy()
    noise = case.build().fit(data.x_train, shuffled).predict(data.x_test)
    assert not np.array_equal(real, noise)


TEXT = Kit(
    task="text-classification",
    key_prefix="text.",
    input_kind="text",
    make_data=make_data,
    params=params,
    fit=fit_classifier,
    unfitted_input=lambda data: ["hello"],
    outputs=classifier_outputs,
    check_predictions=check_classifier_predictions,
    round_trip_rtol=1e-6,
    checks=(
        Check("needs_labels_follow_the_kind", _needs_labels_follow_the_kind, needs_fit=False),
        # Not asked of a model behind an API: the local test server is a keyword matcher,
        # not a language model.
        Check("better_than_chance", _better_than_chance, applies=lambda cls: not cls.is_api),
        pretrained_never_sees_training_rows(lambda x_train: ["zzz qqq"] * len(x_train)),
        Check(
            "trained_learns_from_rows",
            _trained_learns_from_rows,
            applies=lambda cls: cls.needs_labels,
        ),
        footprint_counts_own_parameters,
    ),
)
