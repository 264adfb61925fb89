"""``tabular-classification`` beyond the contract suite: the hybrid's text column, TabPFN's
availability, and the defaults."""

from __future__ import annotations

import pytest

from crossover.errors import DataError
from crossover.strategies import Strategy, registry
from tests.contract.kits.classification import Split
from tests.contract.kits.tabular import TABULAR, TYPES

TASK = TABULAR.task


@pytest.fixture(scope="module")
def data() -> Split:
    split: Split = TABULAR.data()
    return split


def build(key: str, **overrides: object) -> Strategy:
    return TABULAR.build(registry.get(key), **overrides)


def test_gbm_embeddings_needs_a_text_column(data: Split) -> None:
    types = {k: v for k, v in TYPES.items() if k != "memo"}
    with pytest.raises(DataError, match="no free-text column"):
        build("tabular.gbm-embeddings", column_types=types).fit(
            data.x_train.drop(columns=["memo"]), data.y_train
        )


def test_gbm_embeddings_reads_the_text(data: Split) -> None:
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
        pytest.skip("TabPFN and its weights are installed here; the contract suite ran it")
    assert "tabpfn" in reason.lower()
    assert "tabular.tabpfn" not in registry.candidates(TASK)
    assert registry.unavailable(TASK)["tabular.tabpfn"] == reason


def test_defaults_offer_the_hybrid_only_with_a_text_column() -> None:
    with_text = registry.candidates(TASK, has_text=True)
    without = registry.candidates(TASK, has_text=False)
    assert "tabular.gbm-embeddings" in with_text
    assert "tabular.gbm-embeddings" not in without
    assert {"tabular.gbm", "tabular.linear"} <= set(without)
