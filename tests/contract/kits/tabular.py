"""The contract kit of ``tabular-classification``: fraud-like card payments with a free-text memo.

Beyond the shared contract a table model names a missing input column, ignores extra columns
and their order, keeps its input schema through save and load, and reads multiclass tables.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest

from crossover.errors import DataError
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

__all__ = ["TABULAR", "TYPES", "make_table"]

TYPES = {"amount": "numeric", "channel": "categorical", "hours": "numeric", "memo": "text"}


def make_table(n: int, seed: int) -> tuple[pd.DataFrame, np.ndarray]:
    """Fraud-like rows: large night-time amounts and 'gift card' memos are fraud-prone."""
    rng = np.random.default_rng(seed)
    amount = rng.lognormal(3.0, 1.0, n)
    hours = rng.integers(0, 24, n).astype(float)
    channel = rng.choice(["online", "store", "phone"], n)
    risky = rng.random(n) < 0.2
    memo = np.where(risky, "prepaid gift card voucher shop", "grocery market weekly food")
    logit = -4.0 + 2.0 * (np.log(amount) - 3.0) + 2.5 * (hours < 5) + 3.5 * risky
    y = np.where(rng.random(n) < 1 / (1 + np.exp(-logit)), "fraud", "ok")
    amount[rng.random(n) < 0.05] = np.nan  # missing values are allowed
    frame = pd.DataFrame({"amount": amount, "channel": channel, "hours": hours, "memo": memo})
    return frame, y


def make_data() -> Split:
    x_train, y_train = make_table(600, 1)
    x_test, y_test = make_table(300, 2)
    return Split(x_train, y_train, x_test, y_test)


def params(cls: type[Strategy]) -> dict[str, Any]:
    names = cls._param_names()
    out: dict[str, Any] = {"column_types": TYPES}
    if "model" in names:
        out["model"] = FAST_MODEL
    if "n_components" in names:
        out["n_components"] = 4
    return out


def _declares_probabilities(case: Case) -> None:
    assert case.cls.has_proba


def _better_than_chance(case: Case) -> None:
    from sklearn.metrics import average_precision_score

    data: Split = case.data
    proba = case.fitted().predict_proba(data.x_test)
    base_rate = np.mean(data.y_test == "fraud")
    assert average_precision_score(data.y_test == "fraud", proba[:, 0]) > 2 * base_rate


def _missing_input_column_is_named(case: Case) -> None:
    strategy = case.fitted()
    with pytest.raises(DataError, match="'hours'"):
        strategy.predict(case.data.x_test.drop(columns=["hours"]))


def _extra_columns_and_column_order_do_not_matter(case: Case) -> None:
    x_test = case.data.x_test
    strategy = case.fitted()
    shuffled = x_test[list(reversed(x_test.columns))].assign(unused=1.0)
    np.testing.assert_allclose(strategy.predict_proba(shuffled), strategy.predict_proba(x_test))


def _input_schema_survives_save_and_load(case: Case) -> None:
    strategy: Any = case.fitted()
    loaded: Any = Strategy.load(strategy.save(case.tmp_path / "model"))
    assert loaded.input_schema() == strategy.input_schema()


def _shuffled_labels_change_the_model(case: Case) -> None:
    data: Split = case.data
    real = case.fitted().predict_proba(data.x_test)
    shuffled: Any = np.random.default_rng(5).permutation(data.y_train)
    noise = case.build().fit(data.x_train, shuffled).predict_proba(data.x_test)
    assert not np.allclose(real, noise)


def _multiclass_tables_work(case: Case) -> None:
    data: Split = case.data
    hours = data.x_train["hours"]
    y: Any = np.where(hours < 8, "night", np.where(hours < 16, "day", "eve"))
    strategy = case.build().fit(data.x_train, y)
    proba = strategy.predict_proba(data.x_test)
    assert proba.shape == (len(data.x_test), 3)
    assert set(strategy.predict(data.x_test)) <= {"night", "day", "eve"}


def _other_rows(x_train: pd.DataFrame) -> pd.DataFrame:
    return x_train.assign(amount=1.0, channel="store", hours=12.0, memo="zzz qqq")


def _not_api(cls: type[Strategy]) -> bool:
    return not cls.is_api


TABULAR = Kit(
    task="tabular-classification",
    key_prefix="tabular.",
    input_kind="table",
    make_data=make_data,
    params=params,
    fit=fit_classifier,
    unfitted_input=lambda data: data.x_test,
    outputs=classifier_outputs,
    check_predictions=check_classifier_predictions,
    round_trip_rtol=1e-9,
    round_trip_atol=1e-12,
    checks=(
        Check("declares_probabilities", _declares_probabilities, needs_fit=False),
        # Not asked of a model behind an API: the local test server is a keyword matcher.
        Check("better_than_chance", _better_than_chance, applies=_not_api),
        Check(
            "missing_input_column_is_named",
            _missing_input_column_is_named,
        ),
        Check(
            "extra_columns_and_column_order_do_not_matter",
            _extra_columns_and_column_order_do_not_matter,
        ),
        Check(
            "input_schema_survives_save_and_load",
            _input_schema_survives_save_and_load,
        ),
        pretrained_never_sees_training_rows(_other_rows),
        Check(
            "shuffled_labels_change_the_model",
            _shuffled_labels_change_the_model,
            applies=lambda cls: cls.needs_labels,
        ),
        footprint_counts_own_parameters,
        Check("multiclass_tables_work", _multiclass_tables_work),
    ),
)
