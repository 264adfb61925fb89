"""Label budgets: how many labelled rows per class a trial trains on, and which rows.

For one seed the samples are nested (the 4-per-class rows include the 2-per-class rows), and
every strategy gets exactly the same rows for a given (budget, seed), so curves are paired.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

import numpy as np
import pandas as pd

from crossover.errors import ConfigError

__all__ = ["DEFAULT_BUDGETS", "FULL", "Budget", "parse_budgets", "plan_budgets", "sample_budget"]

FULL = "full"
Budget = int | str  # a count of labelled rows per class, or "full"
DEFAULT_BUDGETS: tuple[Budget, ...] = (2, 4, 8, 16, 32, 64, FULL)


def parse_budgets(value: str | Sequence[Budget] | None) -> list[Budget]:
    """``"2,4,8,full"`` -> ``[2, 4, 8, "full"]``, sorted, without duplicates."""
    if value is None:
        return list(DEFAULT_BUDGETS)
    items = [v.strip() for v in value.split(",")] if isinstance(value, str) else list(value)
    budgets: set[int] = set()
    full = False
    for item in items:
        if isinstance(item, str) and item.lower() == FULL:
            full = True
            continue
        try:
            count = int(item)
        except (TypeError, ValueError):
            raise ConfigError(
                f"--budgets: {item!r} is neither a count of labels per class nor 'full'; "
                "write e.g. 2,4,8,16,full"
            ) from None
        if count < 1:
            raise ConfigError(f"--budgets: {count} labels per class is too few; use 1 or more")
        budgets.add(count)
    if not budgets and not full:
        raise ConfigError("--budgets is empty; write e.g. 2,4,8,16,full")
    out: list[Budget] = sorted(budgets)
    if full:
        out.append(FULL)
    return out


def plan_budgets(budgets: Sequence[Budget], labels: pd.Series) -> tuple[list[Budget], list[int]]:
    """Keep the budgets the data can fill; return (kept, skipped).

    A count is skipped when every class has at most that many rows: its sample would be the
    whole training set, which the ``full`` budget already measures.
    """
    largest = int(labels.value_counts().max())
    kept: list[Budget] = []
    skipped: list[int] = []
    for budget in budgets:
        if budget == FULL or int(budget) < largest:
            kept.append(budget)
        else:
            skipped.append(int(budget))
    return kept, skipped


def _class_seed(seed: int, label: str) -> int:
    digest = hashlib.sha256(f"{seed}\x1f{label}".encode()).digest()
    return int.from_bytes(digest[:8], "little")


def sample_budget(labels: pd.Series, budget: Budget, seed: int) -> np.ndarray:
    """Positions (into ``labels``) of the rows a trial with this budget and seed trains on.

    Stratified: up to ``budget`` rows of every class (all rows of a smaller class). Nested:
    for one seed each class's rows are taken in one fixed random order, so a larger budget
    extends a smaller one. Returned sorted.
    """
    positions = np.arange(len(labels))
    if budget == FULL:
        return positions
    count = int(budget)
    values = labels.astype(str).to_numpy()
    chosen: list[np.ndarray] = []
    for label in sorted(set(values)):
        rows = positions[values == label]
        order = np.random.default_rng(_class_seed(seed, label)).permutation(len(rows))
        chosen.append(rows[order[:count]])
    return np.sort(np.concatenate(chosen))
