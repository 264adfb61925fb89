"""The contract kit of ``image-classification``: three classes of the bundled Fashion-MNIST
example (trousers, sneakers, bags: classes ImageNet knows, so the zero-shot strategy is held to
better than chance as well). Training images are passed as file paths, test images as their
encoded bytes (what a served request holds): a strategy must take both."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from crossover.data import example_path
from crossover.strategies import Strategy
from tests.conftest import FAST_MODEL
from tests.contract.kits.base import Case, Check, Kit
from tests.contract.kits.classification import (
    Split,
    check_classifier_predictions,
    classifier_outputs,
    fit_classifier,
    footprint_counts_own_parameters,
    pretrained_never_sees_training_rows,
)

__all__ = ["IMAGE"]

_CLASSES = ("trouser", "sneaker", "bag")
_TRAIN_PER_CLASS, _TEST_PER_CLASS = 10, 5


def make_data() -> Split:
    root = example_path("fashion")
    x_train: list[str] = []
    y_train: list[str] = []
    x_test: list[bytes] = []
    y_test: list[str] = []
    for name in _CLASSES:
        for path in sorted((root / "train" / name).glob("*.png"))[:_TRAIN_PER_CLASS]:
            x_train.append(str(path))
            y_train.append(name)
        for path in sorted((root / "test" / name).glob("*.png"))[:_TEST_PER_CLASS]:
            x_test.append(path.read_bytes())
            y_test.append(name)
    return Split(x_train, pd.Series(y_train), x_test, pd.Series(y_test))


#: Small settings: short, narrow training; no time budget, which a busy machine could make
#: bind and so make two fits with one seed differ (the same-seed check).
_FAST = {"epochs": 3, "time_budget_s": None, "width": 8, "text_model": FAST_MODEL}


def params(cls: type[Strategy]) -> dict[str, Any]:
    names = cls._param_names()
    return {name: value for name, value in _FAST.items() if name in names}


def _needs_labels_follow_the_kind(case: Case) -> None:
    assert case.cls.needs_labels == (case.cls.kind != "pretrained")


def _better_than_chance(case: Case) -> None:
    data: Split = case.data
    pred = case.fitted().predict(data.x_test)
    assert np.mean(pred == data.y_test.to_numpy()) > 0.5  # chance is 1/3


def _trained_learns_from_rows(case: Case) -> None:
    """Shuffled labels change a trained strategy."""
    data: Split = case.data
    real = case.fitted().predict(data.x_test)
    shuffled = data.y_train.sample(frac=1.0, random_state=3).to_numpy()
    noise = case.build().fit(data.x_train, shuffled).predict(data.x_test)
    assert not np.array_equal(real, noise)


def _other_images(x_train: list[Any]) -> list[Any]:
    """Other images with the labels of ``x_train`` (one image of another class, repeated)."""
    other = sorted((example_path("fashion") / "train" / "coat").glob("*.png"))[0]
    return [str(other)] * len(x_train)


IMAGE = Kit(
    task="image-classification",
    key_prefix="image.",
    input_kind="image",
    make_data=make_data,
    params=params,
    fit=fit_classifier,
    unfitted_input=lambda data: data.x_test[:1],
    outputs=classifier_outputs,
    check_predictions=check_classifier_predictions,
    round_trip_rtol=1e-5,
    round_trip_atol=1e-6,
    checks=(
        Check("needs_labels_follow_the_kind", _needs_labels_follow_the_kind, needs_fit=False),
        Check("better_than_chance", _better_than_chance),
        pretrained_never_sees_training_rows(_other_images),
        Check(
            "trained_learns_from_rows",
            _trained_learns_from_rows,
            applies=lambda cls: cls.needs_labels,
        ),
        footprint_counts_own_parameters,
    ),
)
