"""``crossover.load(..., task="tabular-classification")``: typed reading, the label (given,
guessed, as text), the rows kept, the column kinds and inputs, the positive class, ``--amount``,
a fixed test set, the recorded options, and errors that name the file."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from crossover.data import Dataset, TaskSpec
from crossover.data._read import read_table
from crossover.errors import ConfigError, DataError
from crossover.tasks import load

N = 60
TABLE = "tabular-classification"


def _frame(n: int = N, seed: int = 3) -> pd.DataFrame:
    """Transactions: an identifier, two numbers, a category, a constant, a time, 15 frauds."""
    rng = np.random.default_rng(seed)
    fraud = (np.arange(n) % 4 == 0).astype(int)
    return pd.DataFrame(
        {
            "txn_id": np.arange(n) + 1000,
            "amount": np.round(rng.gamma(2.0, 40.0, n), 2),
            "velocity": np.round(rng.normal(0.0, 1.0, n) + fraud, 3),
            "channel": rng.choice(["web", "pos", "app"], n),
            "country": "FR",
            "ts": rng.permutation(n).astype(float),
            "is_fraud": fraud,
        }
    )


def _csv(tmp_path: Path, frame: pd.DataFrame, name: str = "tx.csv") -> Path:
    path = tmp_path / name
    frame.to_csv(path, index=False)
    return path


def _named(path: Path) -> str:
    return re.escape(str(path))


@pytest.fixture
def crossover_log(caplog: pytest.LogCaptureFixture) -> Iterator[pytest.LogCaptureFixture]:
    """caplog on the "crossover" logger itself (the CLI may have stopped its propagation)."""
    logger = logging.getLogger("crossover")
    logger.addHandler(caplog.handler)
    caplog.set_level(logging.WARNING, logger="crossover")
    try:
        yield caplog
    finally:
        logger.removeHandler(caplog.handler)


# --- typed reading ---------------------------------------------------------------------------


def test_typed_csv_gives_numeric_columns_and_reads_na_as_missing(tmp_path: Path) -> None:
    path = tmp_path / "na.csv"
    lines = ["amount,velocity,channel,is_fraud"]
    for i in range(N):
        amount = "NA" if i % 7 == 0 else f"{i * 0.5}"
        velocity = "null" if i % 5 == 0 else f"{i * 1.5}"
        lines.append(f"{amount},{velocity},{'web' if i % 2 else 'app'},{int(i % 4 == 0)}")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")

    typed = read_table(path, [], typed=True)
    untyped = read_table(path, [])
    dataset = load(path, task=TABLE)

    assert pd.api.types.is_float_dtype(typed["amount"])
    assert pd.api.types.is_float_dtype(typed["velocity"])
    assert pd.api.types.is_integer_dtype(typed["is_fraud"])
    assert not pd.api.types.is_numeric_dtype(untyped["amount"])  # text reading keeps strings
    assert int(typed["amount"].isna().sum()) == 9  # rows 0, 7, ..., 56
    assert int(typed["velocity"].isna().sum()) == 12  # rows 0, 5, ..., 55
    assert pd.api.types.is_float_dtype(dataset.frame["amount"])
    assert int(dataset.frame["amount"].isna().sum()) == 9
    assert dataset.spec.column_types == {
        "amount": "numeric",
        "velocity": "numeric",
        "channel": "categorical",
    }


# --- the label -------------------------------------------------------------------------------


def test_label_given_is_used_and_not_reported_as_inferred(tmp_path: Path) -> None:
    frame = _frame().rename(columns={"is_fraud": "outcome"})
    dataset = load(_csv(tmp_path, frame), task=TABLE, label="outcome")

    assert isinstance(dataset, Dataset)
    assert dataset.spec.task == TABLE
    assert dataset.spec.target == "outcome"
    assert dataset.inferred == {}
    assert list(dataset.frame.columns)[-1] == "outcome"


@pytest.mark.parametrize("name", ["is_fraud", "label", "target", "Target"])
def test_label_is_guessed_from_its_name(tmp_path: Path, name: str) -> None:
    frame = _frame().rename(columns={"is_fraud": name})
    dataset = load(_csv(tmp_path, frame), task=TABLE)

    assert dataset.spec.target == name
    assert dataset.inferred == {"label": name}


def test_two_label_like_columns_are_ambiguous_and_the_error_names_them(tmp_path: Path) -> None:
    frame = _frame().assign(label=lambda f: f["is_fraud"])
    path = _csv(tmp_path, frame)

    with pytest.raises(DataError) as caught:
        load(path, task=TABLE)

    message = str(caught.value)
    assert message.startswith(f"{path}: ")
    assert "--label" in message
    assert "'is_fraud'" in message and "'label'" in message
    assert "\n" not in message


def test_no_label_like_column_asks_for_label(tmp_path: Path) -> None:
    path = _csv(tmp_path, _frame().rename(columns={"is_fraud": "outcome"}))

    with pytest.raises(DataError, match=rf"^{_named(path)}: .*--label.*'outcome'"):
        load(path, task=TABLE)


def test_unknown_label_names_the_file_and_the_columns(tmp_path: Path) -> None:
    path = _csv(tmp_path, _frame())

    with pytest.raises(DataError, match=rf"^{_named(path)}: no column 'fraud' \(--label\).*"):
        load(path, task=TABLE, label="fraud")


# --- labels as text --------------------------------------------------------------------------


def test_int_label_with_missing_values_becomes_1_and_0_not_1_0(tmp_path: Path) -> None:
    frame = _frame().astype({"is_fraud": float})
    frame.loc[[1, 2], "is_fraud"] = np.nan  # pandas reads the column back as floats
    path = _csv(tmp_path, frame)
    assert pd.api.types.is_float_dtype(read_table(path, [], typed=True)["is_fraud"])

    dataset = load(path, task=TABLE)

    assert sorted(dataset.labels.unique()) == ["0", "1"]
    assert dataset.spec.positive == "1"


def test_bool_label_becomes_1_and_0(tmp_path: Path) -> None:
    frame = _frame().assign(is_fraud=lambda f: f["is_fraud"].astype(bool))
    for data in (frame, _csv(tmp_path, frame)):
        dataset = load(data, task=TABLE)
        assert sorted(dataset.labels.unique()) == ["0", "1"]
        assert dataset.spec.positive == "1"


def test_bool_label_with_missing_values_becomes_1_and_0(tmp_path: Path) -> None:
    frame = _frame().assign(is_fraud=lambda f: f["is_fraud"].astype(bool).astype(object))
    frame.loc[[1, 2], "is_fraud"] = None
    train = _csv(tmp_path, frame)
    test = _csv(tmp_path, _frame(40, seed=8).astype({"is_fraud": bool}), "test.csv")

    dataset = load(train, task=TABLE, test=test)

    assert sorted(dataset.labels.unique()) == ["0", "1"]
    assert dataset.test is not None  # the test file's labels (no missing value) match
    assert sorted(dataset.test["is_fraud"].unique()) == ["0", "1"]


def test_string_labels_are_stripped(tmp_path: Path) -> None:
    frame = _frame().assign(is_fraud=lambda f: np.where(f["is_fraud"] == 1, " yes", "no "))
    dataset = load(_csv(tmp_path, frame), task=TABLE)

    assert sorted(dataset.labels.unique()) == ["no", "yes"]
    assert dataset.spec.positive == "yes"


# --- rows ------------------------------------------------------------------------------------


def test_unlabelled_rows_are_dropped_with_a_warning(
    tmp_path: Path, crossover_log: pytest.LogCaptureFixture
) -> None:
    frame = _frame().astype({"is_fraud": float})
    frame.loc[[3, 5, 9], "is_fraud"] = np.nan
    path = _csv(tmp_path, frame)

    dataset = load(path, task=TABLE)

    assert len(dataset.frame) == N - 3
    assert dataset.labels.notna().all()
    expected = f"{path}: 3 row(s) have no value in the label column 'is_fraud'; they are left out"
    assert expected in dataset.warnings
    assert expected in crossover_log.messages
    # The kept rows are the labelled ones, in order.
    kept = frame[frame["is_fraud"].notna()].reset_index(drop=True)
    np.testing.assert_allclose(dataset.frame["velocity"], kept["velocity"])


# --- column kinds and inputs -----------------------------------------------------------------


def test_column_types_and_inputs(tmp_path: Path) -> None:
    path = _csv(tmp_path, _frame())

    dataset = load(path, task=TABLE, time="ts")
    spec = dataset.spec

    # txn_id: an identifier, dropped; country: constant, dropped; ts: the time column.
    assert spec.inputs == ("amount", "velocity", "channel")
    assert spec.column_types == {
        "amount": "numeric",
        "velocity": "numeric",
        "channel": "categorical",
    }
    assert spec.time == "ts"
    assert "ts" not in spec.inputs and "ts" not in spec.column_types
    assert list(dataset.frame.columns) == ["amount", "velocity", "channel", "ts", "is_fraud"]
    assert any("'txn_id' looks like an identifier" in w for w in dataset.warnings)
    assert any("'country' holds the same value 'FR'" in w for w in dataset.warnings)
    assert all(w.startswith(f"{path}: ") for w in dataset.warnings)


def test_drop_is_honoured_and_the_kinds_can_be_overridden(tmp_path: Path) -> None:
    dataset = load(
        _csv(tmp_path, _frame()),
        task=TABLE,
        drop=["velocity", "ts"],
        categorical=["txn_id"],
    )

    assert dataset.spec.inputs == ("txn_id", "amount", "channel")
    assert dataset.spec.column_types == {
        "txn_id": "categorical",
        "amount": "numeric",
        "channel": "categorical",
    }
    assert "velocity" not in dataset.frame.columns and "ts" not in dataset.frame.columns
    assert not any("txn_id" in w for w in dataset.warnings)


def test_drop_of_an_unknown_column_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="--drop names column 'nope'"):
        load(_csv(tmp_path, _frame()), task=TABLE, drop=["nope"])


# --- the positive class ----------------------------------------------------------------------


def test_positive_is_the_rarer_class_by_default(tmp_path: Path) -> None:
    frame = _frame().assign(is_fraud=lambda f: np.where(f["is_fraud"] == 1, "fraud", "ok"))
    assert load(_csv(tmp_path, frame), task=TABLE).spec.positive == "fraud"
    flipped = frame.assign(is_fraud=lambda f: np.where(f["is_fraud"] == "fraud", "ok", "fraud"))
    assert load(flipped, task=TABLE).spec.positive == "ok"


def test_positive_given_is_kept_as_text(tmp_path: Path) -> None:
    path = _csv(tmp_path, _frame())

    assert load(path, task=TABLE, positive="0").spec.positive == "0"
    assert load(path, task=TABLE, positive="1").spec.positive == "1"


def test_positive_that_is_not_a_class_names_the_file(tmp_path: Path) -> None:
    path = _csv(tmp_path, _frame())

    with pytest.raises(DataError, match=rf"^{_named(path)}: positive class 'maybe'"):
        load(path, task=TABLE, positive="maybe")


def test_multiclass_label_has_no_positive(tmp_path: Path) -> None:
    frame = _frame().assign(is_fraud=lambda f: np.arange(len(f)) % 3)
    assert load(_csv(tmp_path, frame), task=TABLE).spec.positive is None


def test_positive_given_for_an_int_label_with_missing_values(tmp_path: Path) -> None:
    frame = _frame().astype({"is_fraud": float})
    frame.loc[[1, 2], "is_fraud"] = np.nan

    path = _csv(tmp_path, frame)

    assert load(path, task=TABLE, positive="1").spec.positive == "1"
    assert load(path, task=TABLE, positive="0").spec.positive == "0"


def test_positive_given_for_a_bool_label(tmp_path: Path) -> None:
    path = _csv(tmp_path, _frame().assign(is_fraud=lambda f: f["is_fraud"].astype(bool)))

    assert load(path, task=TABLE, positive="1").spec.positive == "1"
    assert load(path, task=TABLE, positive="0").spec.positive == "0"
    # The classes are "1" and "0" as reported, not True/False; the error names the file.
    with pytest.raises(DataError, match=rf"^{_named(path)}: positive class 'True'.*'0', '1'"):
        load(path, task=TABLE, positive="True")


# --- the amount column -----------------------------------------------------------------------


def test_amount_is_recorded_and_stays_an_input(tmp_path: Path) -> None:
    dataset = load(_csv(tmp_path, _frame()), task=TABLE, amount="amount")

    assert dataset.spec.amount == "amount"
    assert "amount" in dataset.spec.inputs


def test_amount_column_missing_is_a_data_error(tmp_path: Path) -> None:
    path = _csv(tmp_path, _frame())

    with pytest.raises(DataError, match=rf"^{_named(path)}: no column 'value' \(--amount\)"):
        load(path, task=TABLE, amount="value")


def test_amount_column_not_numeric_is_a_data_error(tmp_path: Path) -> None:
    path = _csv(tmp_path, _frame())

    with pytest.raises(DataError, match=rf"^{_named(path)}: .*'channel' must hold numbers"):
        load(path, task=TABLE, amount="channel")


def test_amount_column_dropped_is_a_data_error(tmp_path: Path) -> None:
    path = _csv(tmp_path, _frame())

    with pytest.raises(DataError, match=rf"^{_named(path)}: .*'amount' is not a feature column"):
        load(path, task=TABLE, amount="amount", drop=["amount"])


# --- a fixed test set ------------------------------------------------------------------------


def test_fixed_test_set_keeps_the_training_columns_and_text_labels(tmp_path: Path) -> None:
    train = _csv(tmp_path, _frame())
    test_frame = _frame(40, seed=8).astype({"is_fraud": float})
    test_frame.loc[0, "is_fraud"] = np.nan
    test = _csv(tmp_path, test_frame.assign(extra=1.0), "test.csv")

    dataset = load(train, task=TABLE, test=test, time="ts")

    assert dataset.test is not None
    assert dataset.test_source == str(test)
    assert list(dataset.test.columns) == list(dataset.frame.columns)
    assert len(dataset.test) == 39  # the unlabelled row is left out
    assert sorted(dataset.test["is_fraud"].unique()) == ["0", "1"]


def test_fixed_test_set_missing_a_column_names_it_and_the_file(tmp_path: Path) -> None:
    train = _csv(tmp_path, _frame())
    test = _csv(tmp_path, _frame(40, seed=8).drop(columns=["channel"]), "test.csv")

    with pytest.raises(DataError, match=rf"^{_named(test)}: no column\(s\) 'channel'"):
        load(train, task=TABLE, test=test)


def test_fixed_test_set_missing_the_label_names_it(tmp_path: Path) -> None:
    train = _csv(tmp_path, _frame())
    test = _csv(tmp_path, _frame(40, seed=8).drop(columns=["is_fraud"]), "test.csv")

    with pytest.raises(DataError, match=rf"^{_named(test)}: no column\(s\) 'is_fraud'"):
        load(train, task=TABLE, test=test)


def test_fixed_test_label_unseen_in_training_is_a_data_error(tmp_path: Path) -> None:
    train = _csv(tmp_path, _frame())
    test = _csv(tmp_path, _frame(40, seed=8).assign(is_fraud=[0, 1, 2, 3] * 10), "test.csv")

    with pytest.raises(DataError, match=rf"^{_named(test)}: label\(s\) \['2', '3'\] do not occur"):
        load(train, task=TABLE, test=test)


# --- options and the spec --------------------------------------------------------------------


def test_dataset_options_record_the_load_options(tmp_path: Path) -> None:
    path = _csv(tmp_path, _frame())

    plain = load(path, task=TABLE)
    dataset = load(
        path,
        task=TABLE,
        label="is_fraud",
        categorical=["channel"],
        drop=["velocity"],
        time="ts",
        positive="1",
        amount="amount",
    )

    assert plain.options == {}
    assert dataset.options == {
        "categorical": ["channel"],
        "drop": ["velocity"],
        "time": "ts",
        "positive": "1",
        "amount": "amount",
    }
    assert TaskSpec.from_dict(dataset.spec.to_dict()) == dataset.spec


def test_dataframe_source_is_named_in_errors() -> None:
    with pytest.raises(DataError, match=r"^<DataFrame>: no column 'nope' \(--label\)"):
        load(_frame(), task=TABLE, label="nope")


def test_a_time_column_of_dates_is_also_a_calendar_feature_without_its_absolute_time() -> None:
    """--time splits on the column; when it holds dates, its hour, weekday and month are
    features, but not its absolute time (the test period lies beyond every training time)."""
    from crossover.strategies.tabular import TabularGbm

    rng = np.random.default_rng(3)
    n = 300
    frame = pd.DataFrame(
        {
            "when": pd.date_range("2026-01-01", periods=n, freq="7h").strftime("%Y-%m-%dT%H:%M"),
            "amount": rng.gamma(2.0, 30.0, n),
            "y": (rng.random(n) < 0.2).astype(int),
        }
    )
    dataset = load(frame, task="tabular-classification", label="y", time="when")
    assert dataset.spec.column_types is not None
    assert dataset.spec.column_types["when"] == "datetime"
    assert "when" in dataset.spec.inputs

    x, y = dataset.frame[list(dataset.spec.inputs)], dataset.frame["y"]
    model = TabularGbm(column_types=dataset.spec.column_types, time_column="when").fit(x, y)
    names = model.estimator_.preprocessor_.feature_names_out_
    assert "when__hour" in names and "when__day_of_week" in names
    assert "when__epoch_s" not in names
    # Without time_column the same column is an ordinary datetime, absolute time included.
    plain = TabularGbm(column_types=dataset.spec.column_types).fit(x, y)
    assert "when__epoch_s" in plain.estimator_.preprocessor_.feature_names_out_


def test_a_time_column_of_numbers_splits_but_is_no_feature() -> None:
    rng = np.random.default_rng(4)
    n = 200
    frame = pd.DataFrame(
        {"t": np.arange(n) * 17.0, "x": rng.normal(size=n), "y": (rng.random(n) < 0.2).astype(int)}
    )
    dataset = load(frame, task="tabular-classification", label="y", time="t")
    assert "t" not in dataset.spec.inputs
    assert "t" in dataset.frame.columns  # still there to split on
