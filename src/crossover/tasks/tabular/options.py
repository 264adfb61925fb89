"""The ``tabular-classification`` task's options (read by ``crossover compare`` and the reader)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from crossover.errors import ConfigError
from crossover.tasks._options import TaskOptions, option

__all__ = ["TableOptions"]


@dataclass(frozen=True)
class TableOptions(TaskOptions):
    """The label, the columns' kinds, the time split, the positive class and the money column."""

    label: str | None = option(None, "Label column (inferred if omitted).")
    test: Any = option(None, "A fixed test set (same columns).", path=True)
    categorical: list[str] | None = option(
        None, "Comma-separated columns to treat as categorical.", columns=True
    )
    text_columns: list[str] | None = option(
        None, "Comma-separated free-text columns (embedded).", columns=True
    )
    drop: list[str] | None = option(None, "Comma-separated columns to leave out.", columns=True)
    time: str | None = option(None, "Train on the past, test on the most recent rows of COL.")
    positive: str | None = option(None, "The positive class (default: the rarer of two).")
    amount: str | None = option(None, "The money column a missed positive loses.")
    cost_fp: float | None = option(None, "With --amount: cost of reviewing one false alarm.")
    fpr: float = option(0.01, "False-positive rate at which recall is reported.")
    repeats: int | None = option(None, "Stratified splits to average (default: 5 if small).")

    def check(self) -> TableOptions:
        if not 0.0 < self.fpr < 1.0:
            raise ConfigError(
                f"--fpr {self.fpr}: give a false-positive rate between 0 and 1, e.g. 0.01"
            )
        if self.repeats is not None and self.repeats < 1:
            raise ConfigError(f"--repeats {self.repeats}: use 1 or more")
        if self.cost_fp is not None and self.cost_fp < 0:
            raise ConfigError(
                f"--cost-fp {self.cost_fp}: give a non-negative cost per reviewed row"
            )
        if self.cost_fp is not None and self.amount is None:
            raise ConfigError("--cost-fp needs --amount COLUMN: the money a missed positive loses")
        return self
