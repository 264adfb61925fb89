"""One suite run over every registered tabular-classification strategy.

Shapes, probabilities, seeded determinism, the save/load round trip without pickle, the
estimator contract, the input columns (missing ones named, extra ones ignored), and that a
strategy unavailable here says why. A strategy that cannot run on this machine (TabPFN without
its weights) is skipped with its reason.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from crossover.errors import DataError, ModelError
from crossover.strategies import Strategy, registry
from tests.conftest import FAST_MODEL

TASK = "tabular-classification"
# Models behind a paid API have their own suite against a local server (tests/llm).
KEYS = [k for k in registry.keys(TASK) if not registry.get(k).is_api]
TYPES = {"amount": "numeric", "channel": "categorical", "hours": "numeric", "memo": "text"}


def _skip_unavailable(key: str) -> None:
    reason = registry.get(key).unavailable_reason()
    if reason is not None:
        pytest.skip(f"{key} is unavailable here: {reason}")


def build(key: str, **overrides: Any) -> Strategy:
    cls = registry.get(key)
    params: dict[str, Any] = {"column_types": TYPES}
    if "model" in cls._param_names():
        params["model"] = FAST_MODEL
    if "n_components" in cls._param_names():
        params["n_components"] = 4
    params.update(overrides)
    return cls(**params)


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


@pytest.fixture(scope="module")
def data() -> tuple[pd.DataFrame, np.ndarray, pd.DataFrame, np.ndarray]:
    x_train, y_train = make_table(600, 1)
    x_test, y_test = make_table(300, 2)
    return x_train, y_train, x_test, y_test


@pytest.mark.parametrize("key", KEYS)
def test_declares_contract_attributes(key: str) -> None:
    cls = registry.get(key)
    assert cls.key == key and cls.key.startswith("tabular.")
    assert cls.task == TASK
    assert cls.kind in {"pretrained", "custom", "hybrid"}
    assert cls.input_kind == "table"
    assert cls.has_proba
    assert cls.summary


@pytest.mark.parametrize("key", KEYS)
def test_init_only_stores_parameters(key: str) -> None:
    strategy = build(key)
    params = strategy.get_params()
    assert type(strategy)(**params).get_params() == params
    assert not [name for name in vars(strategy) if name.endswith("_")]


@pytest.mark.parametrize("key", KEYS)
def test_predict_before_fit_raises(key: str, data: Any) -> None:
    with pytest.raises(ModelError, match="not fitted"):
        build(key).predict(data[2])


@pytest.mark.parametrize("key", KEYS)
def test_fit_predicts_probabilities_better_than_chance(key: str, data: Any) -> None:
    from sklearn.metrics import average_precision_score

    _skip_unavailable(key)
    x_train, y_train, x_test, y_test = data
    strategy = build(key)
    assert strategy.fit(x_train, y_train) is strategy
    assert list(strategy.classes_) == ["fraud", "ok"]
    proba = strategy.predict_proba(x_test)
    assert proba.shape == (len(x_test), 2)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-6)
    pred = strategy.predict(x_test)
    np.testing.assert_array_equal(strategy.classes_[proba.argmax(axis=1)], pred)
    base_rate = np.mean(y_test == "fraud")
    assert average_precision_score(y_test == "fraud", proba[:, 0]) > 2 * base_rate


@pytest.mark.parametrize("key", KEYS)
def test_same_seed_same_probabilities(key: str, data: Any) -> None:
    _skip_unavailable(key)
    x_train, y_train, x_test, _ = data
    first = build(key).fit(x_train, y_train).predict_proba(x_test)
    second = build(key).fit(x_train, y_train).predict_proba(x_test)
    np.testing.assert_array_equal(first, second)


@pytest.mark.parametrize("key", KEYS)
def test_save_load_round_trip_without_pickle(key: str, data: Any, tmp_path: Path) -> None:
    _skip_unavailable(key)
    x_train, y_train, x_test, _ = data
    strategy = build(key).fit(x_train, y_train)
    saved = strategy.save(tmp_path / "model")
    assert not [p for p in saved.rglob("*") if p.suffix in (".pkl", ".pickle", ".joblib")]
    loaded = Strategy.load(saved)
    assert type(loaded) is type(strategy)
    assert loaded.get_params() == json.loads(json.dumps(strategy.get_params()))
    np.testing.assert_allclose(
        loaded.predict_proba(x_test), strategy.predict_proba(x_test), rtol=1e-9, atol=1e-12
    )
    assert loaded.input_schema() == strategy.input_schema()  # type: ignore[attr-defined]


@pytest.mark.parametrize("key", KEYS)
def test_missing_input_column_is_named(key: str, data: Any) -> None:
    _skip_unavailable(key)
    x_train, y_train, x_test, _ = data
    strategy = build(key).fit(x_train, y_train)
    with pytest.raises(DataError, match="'hours'"):
        strategy.predict(x_test.drop(columns=["hours"]))


@pytest.mark.parametrize("key", KEYS)
def test_extra_columns_and_column_order_do_not_matter(key: str, data: Any) -> None:
    _skip_unavailable(key)
    x_train, y_train, x_test, _ = data
    strategy = build(key).fit(x_train, y_train)
    shuffled = x_test[list(reversed(x_test.columns))].assign(unused=1.0)
    np.testing.assert_allclose(strategy.predict_proba(shuffled), strategy.predict_proba(x_test))


@pytest.mark.parametrize("key", KEYS)
def test_footprint_reports_size_and_parameters(key: str, data: Any) -> None:
    _skip_unavailable(key)
    x_train, y_train, _, _ = data
    footprint = build(key).fit(x_train, y_train).footprint()
    assert footprint["size_mb"] > 0
    assert footprint["parameters"] > 0


@pytest.mark.parametrize("key", KEYS)
def test_shuffled_labels_change_the_model(key: str, data: Any) -> None:
    _skip_unavailable(key)
    x_train, y_train, x_test, _ = data
    real = build(key).fit(x_train, y_train).predict_proba(x_test)
    shuffled = np.random.default_rng(5).permutation(y_train)
    noise = build(key).fit(x_train, shuffled).predict_proba(x_test)
    assert not np.allclose(real, noise)


def test_multiclass_tables_work_for_every_available_strategy(data: Any) -> None:
    x_train, _, x_test, _ = data
    y = np.where(x_train["hours"] < 8, "night", np.where(x_train["hours"] < 16, "day", "eve"))
    for key in KEYS:
        if registry.get(key).unavailable_reason() is not None:
            continue
        strategy = build(key).fit(x_train, y)
        proba = strategy.predict_proba(x_test)
        assert proba.shape == (len(x_test), 3), key
        assert set(strategy.predict(x_test)) <= {"night", "day", "eve"}


def test_gbm_embeddings_needs_a_text_column(data: Any) -> None:
    x_train, y_train, _, _ = data
    types = {k: v for k, v in TYPES.items() if k != "memo"}
    with pytest.raises(DataError, match="no free-text column"):
        build("tabular.gbm-embeddings", column_types=types).fit(
            x_train.drop(columns=["memo"]), y_train
        )


def test_gbm_embeddings_reads_the_text(data: Any) -> None:
    """The memo carries signal the other columns lack: the hybrid beats the plain GBM on it."""
    from sklearn.metrics import average_precision_score

    x_train, y_train, x_test, y_test = data
    plain = build("tabular.gbm").fit(x_train, y_train).predict_proba(x_test)[:, 0]
    hybrid = build("tabular.gbm-embeddings").fit(x_train, y_train).predict_proba(x_test)[:, 0]
    truth = y_test == "fraud"
    assert average_precision_score(truth, hybrid) > average_precision_score(truth, plain)


def test_tabpfn_is_listed_unavailable_with_a_reason_or_runs() -> None:
    cls = registry.get("tabular.tabpfn")
    reason = cls.unavailable_reason()
    if reason is None:
        pytest.skip("TabPFN and its weights are installed here; the suite above ran it")
    assert "tabpfn" in reason.lower()
    assert "tabular.tabpfn" not in registry.candidates(TASK)
    assert registry.unavailable(TASK)["tabular.tabpfn"] == reason


def test_defaults_offer_the_hybrid_only_with_a_text_column() -> None:
    with_text = registry.candidates(TASK, has_text=True)
    without = registry.candidates(TASK, has_text=False)
    assert "tabular.gbm-embeddings" in with_text
    assert "tabular.gbm-embeddings" not in without
    assert {"tabular.gbm", "tabular.linear"} <= set(without)
