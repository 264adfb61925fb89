"""Loading and validation of labelled data.

``load`` reads a file (CSV, TSV, Parquet, JSON Lines) or a DataFrame, infers or checks the
columns, validates the rows and returns a ``Dataset``. Problems a user can fix raise a
``DataError`` whose one-line message names the file, the column or the value.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from pathlib import Path

import pandas as pd
import yaml

from crossover.data._columns import infer_columns
from crossover.data._dataset import Dataset, TaskSpec, fingerprint_frame
from crossover.data._read import SUPPORTED_SUFFIXES, read_table
from crossover.data._tabular import labels_as_text, prepare_table
from crossover.data._validate import check_classes, check_test, clean_rows
from crossover.errors import DataError

__all__ = [
    "SUPPORTED_SUFFIXES",
    "Dataset",
    "TaskSpec",
    "example_path",
    "fingerprint_frame",
    "load",
    "load_label_descriptions",
]

logger = logging.getLogger("crossover")
_EXAMPLES = Path(__file__).parent / "examples"


def example_path(name: str = "support_tickets") -> Path:
    """Path of a bundled example data set (``support_tickets``, ``fraud_transactions``)."""
    return _EXAMPLES / f"{name}.csv"


def _as_frame(
    data: str | Path | pd.DataFrame, warnings: list[str], *, typed: bool = False
) -> tuple[pd.DataFrame, str]:
    if isinstance(data, pd.DataFrame):
        if data.empty:
            raise DataError("<DataFrame>: the DataFrame is empty; it holds no rows")
        return data, "<DataFrame>"
    return read_table(data, warnings, typed=typed), str(data)


def load_label_descriptions(path: str | Path) -> dict[str, str]:
    """Read a label -> description mapping from a YAML or JSON file."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: no such label-descriptions file; check the path")
    try:
        text = path.read_text(encoding="utf-8")
        loaded = json.loads(text) if path.suffix.lower() == ".json" else yaml.safe_load(text)
    except (UnicodeDecodeError, json.JSONDecodeError, yaml.YAMLError) as exc:
        reason = str(exc).splitlines()[0]
        raise DataError(f"{path}: not valid YAML/JSON ({reason}); fix the file") from exc
    if not isinstance(loaded, dict) or not loaded:
        raise DataError(f"{path}: expected a mapping of label -> description, one per line")
    bad = [k for k, v in loaded.items() if not isinstance(v, str) or not v.strip()]
    if bad:
        raise DataError(f"{path}: the description of label {bad[0]!r} is not a non-empty text")
    return {str(k): v.strip() for k, v in loaded.items()}


def _check_descriptions(
    descriptions: dict[str, str], labels: set[str], source: str, warnings: list[str]
) -> None:
    unknown = sorted(set(descriptions) - labels)
    if unknown and len(unknown) == len(descriptions):
        raise DataError(
            f"{source}: none of the described labels ({', '.join(map(repr, unknown[:5]))}) "
            "occur in the data; the keys must be the label values"
        )
    if unknown:
        warnings.append(f"{source}: descriptions of unknown labels ignored: {unknown[:10]}")
    missing = sorted(labels - set(descriptions))
    if missing:
        warnings.append(
            f"{source}: no description for {len(missing)} label(s) ({missing[:5]}); "
            "their names are used instead"
        )


def load(
    data: str | Path | pd.DataFrame,
    *,
    text: str | None = None,
    label: str | None = None,
    test: str | Path | pd.DataFrame | None = None,
    label_descriptions: str | Path | dict[str, str] | None = None,
    strict: bool = False,
    task: str = "text-classification",
    categorical: Sequence[str] = (),
    text_columns: Sequence[str] = (),
    drop: Sequence[str] = (),
    time: str | None = None,
    positive: str | None = None,
    amount: str | None = None,
) -> Dataset:
    """Read and validate a labelled data set: texts, or a table (``task="tabular-classification"``).

    Parameters
    ----------
    data : path or DataFrame
        CSV, TSV, Parquet or JSON Lines file, or a DataFrame.
    text, label : str, default=None
        Column names; inferred when there is exactly one candidate (see ``Dataset.inferred``).
    test : path or DataFrame, default=None
        A fixed test set with the same columns; otherwise the study holds out 20 %.
    label_descriptions : path or dict, default=None
        Label -> description, used by pretrained strategies instead of the bare label names.
    strict : bool, default=False
        Raise instead of dropping rows with an empty text or label.
    task : {"text-classification", "tabular-classification"}
    categorical, text_columns, drop : sequence of str
        Tables only: columns to treat as categorical or as free text whatever they hold, and
        columns to leave out (the others' kinds are inferred).
    time : str, default=None
        Tables only: train on the past and test on the most recent rows of this column.
    positive : str, default=None
        Tables only: the positive class of a binary label (default: the rarer class).
    amount : str, default=None
        Tables only: the money column the decision threshold is priced with.

    Returns
    -------
    Dataset

    Raises
    ------
    DataError
        With a one-line message naming the file, the column or the value, and what to do.
    """
    if task == "tabular-classification":
        return _load_table(
            data,
            label=label,
            test=test,
            categorical=categorical,
            text_columns=text_columns,
            drop=drop,
            time=time,
            positive=positive,
            amount=amount,
        )
    if task != "text-classification":
        raise DataError(
            f"unknown task {task!r}; this version supports 'text-classification' and "
            "'tabular-classification'"
        )
    warnings: list[str] = []
    frame, source = _as_frame(data, warnings)
    text_col, label_col, inferred = infer_columns(frame, text, label, source)
    frame = clean_rows(frame, text_col, label_col, source, strict, warnings)
    check_classes(frame, label_col, source)

    test_frame: pd.DataFrame | None = None
    test_source: str | None = None
    if test is not None:
        raw_test, test_source = _as_frame(test, warnings)
        for column, flag in ((text_col, "--text"), (label_col, "--label")):
            if column not in raw_test.columns:
                raise DataError(
                    f"{test_source}: no column {column!r} ({flag}, as in the training data); "
                    f"the columns are: {', '.join(map(repr, raw_test.columns))}"
                )
        test_frame = clean_rows(raw_test, text_col, label_col, test_source, strict, warnings)
        check_test(frame, test_frame, text_col, label_col, test_source, warnings)

    descriptions: dict[str, str] | None = None
    if label_descriptions is not None:
        if isinstance(label_descriptions, dict):
            descriptions, desc_source = dict(label_descriptions), "label descriptions"
        else:
            descriptions = load_label_descriptions(label_descriptions)
            desc_source = str(label_descriptions)
        _check_descriptions(descriptions, set(frame[label_col]), desc_source, warnings)

    spec = TaskSpec(task, (text_col,), label_col, descriptions)
    for w in warnings:
        logger.warning(w)
    return Dataset(frame, spec, test_frame, source, test_source, warnings, inferred)


def _load_table(
    data: str | Path | pd.DataFrame,
    *,
    label: str | None,
    test: str | Path | pd.DataFrame | None,
    categorical: Sequence[str],
    text_columns: Sequence[str],
    drop: Sequence[str],
    time: str | None,
    positive: str | None,
    amount: str | None,
) -> Dataset:
    warnings: list[str] = []
    frame, source = _as_frame(data, warnings, typed=True)
    table, kinds, chosen, label_col = prepare_table(
        frame,
        source,
        label=label,
        categorical=categorical,
        text_columns=text_columns,
        drop=drop,
        time=time,
        positive=positive,
        amount=amount,
        warnings=warnings,
    )
    test_frame: pd.DataFrame | None = None
    test_source: str | None = None
    if test is not None:
        raw_test, test_source = _as_frame(test, warnings, typed=True)
        missing = [c for c in table.columns if c not in raw_test.columns]
        if missing:
            raise DataError(
                f"{test_source}: no column(s) {', '.join(map(repr, missing))}, which the "
                "training data has; the test set needs the same columns"
            )
        raw_test = raw_test[raw_test[label_col].notna()]
        test_frame = raw_test[list(table.columns)].reset_index(drop=True)
        test_frame[label_col] = labels_as_text(raw_test[label_col]).to_numpy()
        unseen = sorted(set(test_frame[label_col]) - set(table[label_col]))
        if unseen:
            raise DataError(
                f"{test_source}: label(s) {unseen[:5]} do not occur in the training data; "
                "a model cannot predict a class it never saw"
            )
    inputs = tuple(kinds)
    spec = TaskSpec(
        "tabular-classification",
        inputs,
        label_col,
        positive=chosen,
        time=time,
        amount=amount,
        column_types=kinds,
    )
    inferred = {"label": label_col} if label is None else {}
    options = {
        "categorical": list(categorical),
        "text_columns": list(text_columns),
        "drop": list(drop),
        "time": time,
        "positive": positive,
        "amount": amount,
    }
    for w in warnings:
        logger.warning(w)
    return Dataset(
        table,
        spec,
        test_frame,
        source,
        test_source,
        warnings,
        inferred,
        {k: v for k, v in options.items() if v},
    )
