"""``check_table``: each fatal problem and each warning, by a table that has exactly that one."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from crossover.errors import DataError
from crossover.tasks.tabular import (
    check_table,
    infer_column_types,
    resolve_positive,
    unusable_columns,
)
from tests.conftest import shared_data

N = 300


def _table(n_fraud: int = 30, seed: int = 0) -> pd.DataFrame:
    """Noise features, a categorical column unrelated to the label, ``n_fraud`` positives."""
    rng = np.random.default_rng(seed)
    fraud = np.zeros(N, dtype=int)
    fraud[rng.choice(N, n_fraud, replace=False)] = 1
    return pd.DataFrame(
        {
            "amount": rng.gamma(2.0, 30.0, N).round(2),
            "hour": rng.integers(0, 24, N),
            "channel": rng.choice(["web", "app", "shop"], N),
            "fraud": fraud,
        }
    )


def _check(frame: pd.DataFrame, label: str = "fraud", **options: object) -> list[str]:
    return check_table(frame, label, infer_column_types(frame, label), **options)  # type: ignore[arg-type]


def test_check_table_passes_a_clean_table_without_warnings() -> None:
    assert _check(_table()) == []


def test_check_table_missing_label_column_names_it() -> None:
    frame = _table()
    types = infer_column_types(frame, "fraud")
    with pytest.raises(DataError, match=r"no label column 'Class'.*'amount', 'hour'"):
        check_table(frame.drop(columns="fraud"), "Class", types)


def test_check_table_single_class_is_fatal() -> None:
    frame = _table().assign(fraud=0)
    with pytest.raises(DataError, match=r"'fraud' has fewer than two classes \(found 0\)"):
        _check(frame)


def test_check_table_positive_class_under_10_rows_is_fatal() -> None:
    with pytest.raises(DataError, match=r"positive class 1 .* only 9 row\(s\) of 300.*--positive"):
        _check(_table(n_fraud=9))
    assert _check(_table(n_fraud=10)) == []


def test_check_table_given_positive_is_matched_by_text_and_counted() -> None:
    frame = _table(n_fraud=150 + 3)  # class 0 is now the rarer one, with 147 rows
    assert _check(frame, positive="1") == []
    frame = frame.assign(fraud=np.where(np.arange(N) < 5, "chargeback", "ok"))
    with pytest.raises(DataError, match=r"positive class 'chargeback' .* only 5 row"):
        _check(frame, positive="chargeback")
    with pytest.raises(DataError, match=r"positive class 'fraud' does not occur.*'ok'"):
        _check(frame, positive="fraud")


def test_resolve_positive_defaults_to_the_rarer_class() -> None:
    assert resolve_positive(pd.Series([0, 0, 1, 1, 1])) == 0
    assert resolve_positive(pd.Series(["no", "yes", "no", "yes"])) == "yes"
    assert resolve_positive(pd.Series([0, 1, 1, 0])) == 1
    assert resolve_positive(pd.Series(["a", "b", "c"])) is None
    assert resolve_positive(pd.Series(["a", "b", "c"]), "b") == "b"


def test_check_table_class_with_a_single_row_is_fatal() -> None:
    frame = _table().assign(fraud=["a", "b"] * (N // 2 - 1) + ["a", "lonely"])
    with pytest.raises(DataError, match=r"class\(es\) 'lonely' .* have a single row"):
        _check(frame)


def test_check_table_warns_about_rare_classes_of_a_multiclass_label() -> None:
    frame = _table().assign(fraud=["a", "b"] * (N // 2 - 3) + ["rare"] * 6)
    warnings = _check(frame)
    assert len(warnings) == 1
    assert "'rare' (6)" in warnings[0] and "fewer than 10 rows" in warnings[0]


def test_check_table_warns_about_rows_without_label() -> None:
    frame = _table().astype({"fraud": float})
    frame.loc[:3, "fraud"] = np.nan
    expected = "4 row(s) have no value in the label column 'fraud'; they are left out"
    assert _check(frame) == [expected]


def test_check_table_drops_constant_and_empty_columns() -> None:
    frame = _table().assign(currency="EUR", blank=np.nan, sometimes=[1.0, np.nan] * (N // 2))
    types = infer_column_types(frame, "fraud")
    assert unusable_columns(frame, types) == ["currency", "blank"]
    assert check_table(frame, "fraud", types) == [
        "column 'currency' holds the same value 'EUR' in every row; it is dropped",
        "column 'blank' is empty in every row; it is dropped",
    ]


def test_check_table_warns_that_an_identifier_is_dropped_unless_kept() -> None:
    frame = _table().assign(transaction_id=np.arange(1000, 1000 + N) * 3)
    warnings = _check(frame)
    assert len(warnings) == 1
    assert "column 'transaction_id' looks like an identifier (300 distinct values" in warnings[0]
    assert "--categorical transaction_id" in warnings[0]
    kept = infer_column_types(frame, "fraud", categorical=["transaction_id"])
    assert check_table(frame, "fraud", kept) == []


def test_check_table_no_usable_feature_is_fatal() -> None:
    frame = _table()[["fraud"]].assign(row=np.arange(N), country="FR")
    with pytest.raises(DataError, match=r"no usable feature column.*'fraud'"):
        _check(frame)


@pytest.mark.parametrize("sign", [1.0, -1.0])
def test_check_table_flags_a_numeric_leak(sign: float) -> None:
    frame = _table()
    rng = np.random.default_rng(1)
    frame["chargeback_score"] = sign * (frame["fraud"] * 10 + rng.normal(0, 1, N))
    warnings = _check(frame)
    assert len(warnings) == 1
    assert warnings[0].startswith("likely leakage: column 'chargeback_score' alone predicts")
    assert "(ROC-AUC 1.000)" in warnings[0] and "--drop chargeback_score" in warnings[0]


def test_check_table_flags_a_leak_through_missing_values() -> None:
    frame = _table()
    frame["dispute_days"] = np.where(frame["fraud"] == 1, np.nan, frame["amount"])
    assert any("'dispute_days'" in w and "likely leakage" in w for w in _check(frame))


def test_check_table_does_not_flag_a_strong_but_imperfect_feature() -> None:
    frame = _table()
    rng = np.random.default_rng(2)
    frame["risk"] = frame["fraud"] * 2 + rng.normal(0, 1, N)  # ROC-AUC about 0.92
    assert _check(frame) == []


def test_check_table_flags_a_categorical_leak() -> None:
    frame = _table()
    frame["status"] = np.where(frame["fraud"] == 1, "charged back", "settled")
    frame.loc[frame.index[frame["fraud"] == 0][:1], "status"] = "charged back"  # 1 row in 270
    warnings = _check(frame)
    assert len(warnings) == 1
    assert "likely leakage: column 'status'" in warnings[0]
    assert "(balanced accuracy 0.998)" in warnings[0]


def test_check_table_does_not_flag_a_categorical_with_a_value_per_row() -> None:
    # Unique per row but with spaces, so neither an identifier nor free text: in-sample every
    # value "predicts" its row; out of fold none does.
    frame = _table().assign(memo=[f"memo {i}" for i in range(N)])
    assert infer_column_types(frame, "fraud").kinds["memo"] == "categorical"
    assert _check(frame) == []


def test_check_table_flags_a_numeric_leak_of_a_multiclass_label() -> None:
    frame = _table()
    bins = pd.cut(frame["amount"], [-1, 30, 80, np.inf], labels=["low", "mid", "high"])
    frame["fraud"] = bins.astype(str)
    warnings = _check(frame)
    assert len(warnings) == 1
    assert "likely leakage: column 'amount'" in warnings[0] and "balanced accuracy" in warnings[0]


def test_check_table_on_the_credit_card_sample() -> None:
    frame = pd.read_csv(shared_data("creditcard_fraud", "creditcard_sample.csv"))
    types = infer_column_types(frame, "Class", time="Time")
    assert check_table(frame, "Class", types) == []
    assert resolve_positive(frame["Class"]) == 1
    leaky = frame.assign(reported=frame["Class"] * 2.0 + 1.0)
    warnings = check_table(leaky, "Class", infer_column_types(leaky, "Class", time="Time"))
    assert len(warnings) == 1 and "likely leakage: column 'reported'" in warnings[0]
