"""The core data types: ``TaskSpec`` and ``Dataset``."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

__all__ = ["Dataset", "TaskSpec"]


@dataclass(frozen=True)
class TaskSpec:
    """What is to be predicted from what.

    Parameters
    ----------
    task : str
        Task name, e.g. ``"text-classification"``.
    inputs : tuple of str
        Input column names (for text classification: the one text column).
    target : str
        The label column.
    label_descriptions : dict of str to str, default=None
        Optional plain-language description per label, used by pretrained strategies.
    positive : str, default=None
        The positive class of a binary table (the rarer one unless ``--positive``), as text.
    time : str, default=None
        The time column a table is split on (train on the past, test on the most recent rows).
    amount : str, default=None
        The money column the decision threshold is priced with (``--amount``).
    column_types : dict of str to str, default=None
        Kind of every input column of a table: numeric, categorical, text or datetime.
    """

    task: str
    inputs: tuple[str, ...]
    target: str
    label_descriptions: dict[str, str] | None = None
    positive: str | None = None
    time: str | None = None
    amount: str | None = None
    column_types: dict[str, str] | None = None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "task": self.task,
            "inputs": list(self.inputs),
            "target": self.target,
            "label_descriptions": self.label_descriptions,
        }
        for name in ("positive", "time", "amount", "column_types"):
            if getattr(self, name) is not None:
                out[name] = getattr(self, name)
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TaskSpec:
        return cls(
            task=data["task"],
            inputs=tuple(data["inputs"]),
            target=data["target"],
            label_descriptions=data.get("label_descriptions"),
            positive=data.get("positive"),
            time=data.get("time"),
            amount=data.get("amount"),
            column_types=data.get("column_types"),
        )


def fingerprint_frame(frame: pd.DataFrame) -> str:
    """Content hash of a table: the same rows in the same order give the same hash."""
    hashed = pd.util.hash_pandas_object(frame, index=False).to_numpy()
    digest = hashlib.sha256(hashed.tobytes())
    digest.update("\x1f".join(map(str, frame.columns)).encode())
    return digest.hexdigest()[:16]


@dataclass
class Dataset:
    """A validated table, its ``TaskSpec``, and an optional fixed test set.

    ``warnings`` holds the validation warnings (dropped rows, leakage, encoding) in the
    order they were found; ``source`` names where the rows came from.
    """

    frame: pd.DataFrame
    spec: TaskSpec
    test: pd.DataFrame | None = None
    source: str = "<DataFrame>"
    test_source: str | None = None
    warnings: list[str] = field(default_factory=list)
    inferred: dict[str, str] = field(default_factory=dict)
    #: The options ``load`` took beyond the column names (a table's --categorical, --drop,
    #: --time ...), so that the same data can be read again the same way (``export``).
    options: dict[str, Any] = field(default_factory=dict)

    @property
    def fingerprint(self) -> str:
        """Content hash of the training table and, when given, the test table."""
        parts = fingerprint_frame(self.frame)
        if self.test is not None:
            parts += fingerprint_frame(self.test)
        return hashlib.sha256(parts.encode()).hexdigest()[:16]

    @property
    def texts(self) -> pd.Series:
        return self.frame[self.spec.inputs[0]]

    @property
    def labels(self) -> pd.Series:
        return self.frame[self.spec.target]

    def summary(self) -> dict[str, Any]:
        counts = self.labels.astype(str).value_counts()
        out: dict[str, Any] = {
            "source": self.source,
            "rows": len(self.frame),
            "classes": len(counts),
            "rows_per_class_min": int(counts.min()),
            "rows_per_class_max": int(counts.max()),
            "imbalance_ratio": round(float(counts.max() / counts.min()), 2),
            "fingerprint": self.fingerprint,
            "columns": len(self.spec.inputs),
            "warnings": list(self.warnings),
        }
        if self.test is not None:
            out["test_source"] = self.test_source
            out["test_rows"] = len(self.test)
        return out
