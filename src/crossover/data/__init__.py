"""Reading and validating labelled data: the pieces every task's reader is built of.

``as_frame`` reads a file (CSV, TSV, Parquet, JSON Lines) or takes a DataFrame; the checks
validate columns and rows; a task's reader (``Task.read``, reached through ``crossover.load``)
puts them together into a ``Dataset``. Problems a user can fix raise a ``DataError`` whose
one-line message names the file, the column or the value.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import yaml

from crossover.data._dataset import Dataset, TaskSpec, fingerprint_frame
from crossover.data._nested import check_flat
from crossover.data._read import SUPPORTED_SUFFIXES, read_table, refuse_duplicates
from crossover.data._values import one_spelling
from crossover.errors import DataError

__all__ = [
    "SUPPORTED_SUFFIXES",
    "Dataset",
    "TaskSpec",
    "as_frame",
    "check_descriptions",
    "check_flat",
    "example_path",
    "fingerprint_frame",
    "load_label_descriptions",
    "one_spelling",
]

_EXAMPLES = Path(__file__).parent / "examples"


def example_path(name: str = "support_tickets") -> Path:
    """Path of a bundled example data set: the CSV file of ``support_tickets`` and
    ``fraud_transactions``, the folder of ``fashion`` (images in ``train/`` and ``test/``)."""
    folder = _EXAMPLES / name
    if folder.is_dir():
        return folder
    return _EXAMPLES / f"{name}.csv"


def as_frame(
    data: str | Path | pd.DataFrame, warnings: list[str], *, typed: bool = False
) -> tuple[pd.DataFrame, str]:
    """A DataFrame as it is (refused when empty), or a file read into one; and its name."""
    if isinstance(data, pd.DataFrame):
        if data.empty:
            raise DataError("<DataFrame>: the DataFrame is empty; it holds no rows")
        refuse_duplicates([str(c) for c in data.columns], "<DataFrame>", "the DataFrame")
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


def check_descriptions(
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
