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

__all__ = [
    "DEFAULT_BUDGETS",
    "FULL",
    "Budget",
    "parse_budgets",
    "plan_budgets",
    "sample_budget",
    "span_budgets",
]

FULL = "full"
Budget = int | str  # a count of labelled rows per class, or "full"
DEFAULT_BUDGETS: tuple[Budget, ...] = (2, 4, 8, 16, 32, 64, FULL)
#: ``span_budgets``: rungs that double, from the smallest budget (2 .. 64 for texts), where a
#: learning curve is steepest; then at most this many wider rungs up to the data.
DOUBLING_RUNGS = 6
WIDE_RUNGS = 4


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


def span_budgets(class_counts: Sequence[int], smallest: int) -> list[Budget]:
    """Default budgets that span the data: a geometric ladder from ``smallest`` up to the
    largest class, then ``"full"``.

    A count subsamples only while it is below the largest class (``plan_budgets``), so the
    ladder stops there. It doubles for ``DOUBLING_RUNGS`` rungs (``smallest`` .. ``smallest *
    32``, the few-label end where curves change most), then steps by 4 up to the largest
    class; when that would take more than ``WIDE_RUNGS`` rungs the step doubles again (8,
    16, ...), so that a ladder has at most ten counts however large the data, and a study's
    trials (seeds x budgets x strategies) stay bounded.

    Parameters
    ----------
    class_counts : sequence of int
        Training rows of each class.
    smallest : int
        The first rung (the smallest of the task's default budgets).

    Returns
    -------
    list
        Counts per class, ascending, then ``"full"``.

    Examples
    --------
    >>> span_budgets([2_000, 2_000], 2)
    [2, 4, 8, 16, 32, 64, 256, 1024, 'full']
    >>> span_budgets([10, 3], 2)
    [2, 4, 8, 'full']
    """
    if smallest < 1:
        raise ValueError(f"smallest budget {smallest} is below 1")
    largest = max(class_counts, default=0)
    doubling = [smallest * 2**k for k in range(DOUBLING_RUNGS)]
    ladder: list[Budget] = [count for count in doubling if count < largest]
    if len(ladder) == DOUBLING_RUNGS:
        step = 4
        while True:
            wide = _rungs(doubling[-1], step, largest)
            if len(wide) <= WIDE_RUNGS:
                break
            step *= 2
        ladder.extend(wide)
    ladder.append(FULL)
    return ladder


def _rungs(start: int, step: int, below: int) -> list[int]:
    """``start * step``, ``start * step**2``, ... while below ``below``."""
    out: list[int] = []
    count = start * step
    while count < below:
        out.append(count)
        count *= step
    return out


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
