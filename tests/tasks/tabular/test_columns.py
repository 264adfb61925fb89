"""``infer_column_types``: each inference rule, the overrides, and the errors that name a column."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from crossover.errors import ConfigError, DataError
from crossover.tasks.tabular import ColumnTypes, infer_column_types
from tests.conftest import shared_data

N = 60


def _table() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    words = ["card", "refund", "late", "parcel", "never", "arrived", "charged", "twice", "shop"]
    return pd.DataFrame(
        {
            "amount": rng.gamma(2.0, 30.0, N).round(2),
            "n_items": rng.integers(0, 500, N),
            "is_foreign": rng.integers(0, 2, N),
            "verified": rng.random(N) < 0.5,
            "country": rng.choice(["FR", "DE", "US"], N),
            "note": [" ".join(rng.choice(words, 6)) + f" #{i}" for i in range(N)],
            "created": [f"2024-{1 + i % 12:02d}-{1 + i % 28:02d} 10:{i:02d}" for i in range(N)],
            "paid_at": pd.date_range("2024-01-01", periods=N, freq="h"),
            "customer_id": rng.permutation(N) * 7 + 1000,
            "row": np.arange(5, 5 + N),
            "token": [f"tok{i:x}z{i * 31 % 97}" for i in range(N)],
            "fraud": rng.integers(0, 2, N),
        }
    )


def test_infer_column_types_applies_each_rule() -> None:
    types = infer_column_types(_table(), "fraud")
    assert types.kinds == {
        "amount": "numeric",
        "n_items": "numeric",
        "is_foreign": "categorical",
        "verified": "categorical",
        "country": "categorical",
        "note": "text",
        "created": "datetime",
        "paid_at": "datetime",
        "customer_id": "identifier",
        "row": "identifier",
        "token": "identifier",
    }
    assert types.numeric == ["amount", "n_items"]
    assert types.identifier == ["customer_id", "row", "token"]
    assert "fraud" not in types.kinds
    assert types.features == [
        "amount", "n_items", "is_foreign", "verified", "country", "note", "created", "paid_at",
    ]  # fmt: skip
    assert types.overridden == () and types.dropped == ()


def test_infer_column_types_reads_whole_floats_with_gaps_as_integers() -> None:
    codes = pd.Series([1.0, 2.0, np.nan, 3.0] * 10)
    fractions = pd.Series([1.5, 2.0, np.nan, 3.0] * 10)
    frame = pd.DataFrame({"code": codes, "rate": fractions, "y": [0, 1] * 20})
    assert infer_column_types(frame, "y").kinds == {"code": "categorical", "rate": "numeric"}


@pytest.mark.parametrize("name", ["CustomerID", "txn-ref", "account number", "session_uuid"])
def test_infer_column_types_reads_identifier_names(name: str) -> None:
    # Nearly unique (one repeat in 30) and non-consecutive: only the name makes it an identifier.
    values = [i * 13 % 97 for i in range(29)] + [0]
    frame = pd.DataFrame({name: values, "y": [0, 1] * 15})
    assert infer_column_types(frame, "y").kinds == {name: "identifier"}


@pytest.mark.parametrize("name", ["paid", "valid", "keyboard_hits", "width"])
def test_infer_column_types_ignores_names_that_merely_contain_id(name: str) -> None:
    frame = pd.DataFrame({name: [i * 13 % 97 for i in range(30)], "y": [0, 1] * 15})
    assert infer_column_types(frame, "y").kinds == {name: "numeric"}


def test_infer_column_types_needs_20_rows_for_an_unnamed_identifier() -> None:
    small = pd.DataFrame({"code": [f"c{i}" for i in range(19)], "y": [0, 1] * 9 + [0]})
    large = pd.DataFrame({"code": [f"c{i}" for i in range(20)], "y": [0, 1] * 10})
    assert infer_column_types(small, "y").kinds == {"code": "categorical"}
    assert infer_column_types(large, "y").kinds == {"code": "identifier"}


def test_infer_column_types_does_not_read_small_numbers_or_words_as_dates() -> None:
    frame = pd.DataFrame(
        {
            "level": ["1", "2", "3", "12"] * 10,
            "month": ["May", "June", "March", "April"] * 10,
            "version": ["1.2", "2.0", "3.1", "1.0"] * 10,
            "y": [0, 1] * 20,
        }
    )
    assert set(infer_column_types(frame, "y").kinds.values()) == {"categorical"}


def test_infer_column_types_keeps_an_all_empty_column_as_categorical() -> None:
    frame = pd.DataFrame({"blank": [None] * 30, "gone": [np.nan] * 30, "y": [0, 1] * 15})
    assert infer_column_types(frame, "y").kinds == {"blank": "categorical", "gone": "numeric"}


def test_infer_column_types_overrides_win() -> None:
    types = infer_column_types(
        _table(),
        "fraud",
        categorical=["customer_id", "n_items"],
        text_columns=["country"],
        drop=["token", "amount"],
        time="paid_at",
    )
    assert types.kinds["customer_id"] == "categorical"
    assert types.kinds["n_items"] == "categorical"
    assert types.kinds["country"] == "text"
    assert "token" not in types.kinds and "amount" not in types.kinds
    assert "paid_at" not in types.kinds and types.time == "paid_at"
    assert types.dropped == ("amount", "token")
    assert types.overridden == ("n_items", "country", "customer_id")
    assert types.identifier == ["row"]


@pytest.mark.parametrize(
    ("option", "flag"),
    [
        ("categorical", "--categorical"),
        ("text_columns", "--text-columns"),
        ("drop", "--drop"),
        ("time", "--time"),
    ],
)
def test_infer_column_types_unknown_column_names_it_and_lists_columns(
    option: str, flag: str
) -> None:
    value: object = "amuont" if option == "time" else ["amuont"]
    with pytest.raises(ConfigError, match=rf"{flag} names column 'amuont'.*'amount', 'n_items'"):
        infer_column_types(_table(), "fraud", **{option: value})  # type: ignore[arg-type]


def test_infer_column_types_refuses_conflicting_options() -> None:
    with pytest.raises(ConfigError, match=r"'country' is given by both --categorical and --drop"):
        infer_column_types(_table(), "fraud", categorical=["country"], drop=["country"])
    with pytest.raises(ConfigError, match=r"--categorical names the label column 'fraud'"):
        infer_column_types(_table(), "fraud", categorical=["fraud"])
    with pytest.raises(ConfigError, match=r"--drop takes a list .* 'country'"):
        infer_column_types(_table(), "fraud", drop="country")


def test_infer_column_types_missing_label_names_it() -> None:
    with pytest.raises(DataError, match=r"no label column 'Class'.*'amount'"):
        infer_column_types(_table(), "Class")


def test_column_types_without_moves_columns_to_dropped() -> None:
    types = infer_column_types(_table(), "fraud", categorical=["row"], drop=["token"])
    fewer = types.without(["row", "amount", "not-a-column"])
    assert isinstance(fewer, ColumnTypes)
    assert "row" not in fewer.kinds and "amount" not in fewer.kinds
    assert fewer.dropped == ("token", "row", "amount")
    assert "row" not in fewer.overridden
    assert types.kinds["row"] == "categorical"  # the original is unchanged


def test_infer_column_types_on_the_credit_card_sample() -> None:
    frame = pd.read_csv(shared_data("creditcard_fraud", "creditcard_sample.csv"))
    types = infer_column_types(frame, "Class", time="Time")
    assert types.numeric == [f"V{i}" for i in range(1, 29)] + ["Amount"]
    assert types.features == types.numeric
    assert types.time == "Time" and "Class" not in types.kinds
