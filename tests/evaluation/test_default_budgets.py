"""Default label budgets that span the data (``span_budgets``), and a study's use of them:
fitted to the training split when the study names no budgets, untouched when it does."""

from __future__ import annotations

from itertools import pairwise

import numpy as np
import pandas as pd
import pytest

from crossover._api import compare
from crossover.evaluation.budgets import FULL, plan_budgets, span_budgets
from crossover.plan import StudyPlan
from crossover.tasks import get

TABLE = "tabular-classification"


class _Messages:
    def __init__(self) -> None:
        self.lines: list[str] = []

    def message(self, text: str) -> None:
        self.lines.append(text)


def test_span_budgets_two_classes_of_2500_reach_the_thousands() -> None:
    # doubling 2 .. 64, then x4: 256, 1024 (4096 would be the whole class)
    assert span_budgets([2_500, 2_500], 2) == [2, 4, 8, 16, 32, 64, 256, 1024, FULL]
    # a table's ladder starts at 8: 8 .. 256, then 1024
    assert span_budgets([2_500, 2_500], 8) == [8, 16, 32, 64, 128, 256, 1024, FULL]


def test_span_budgets_small_data_keeps_the_old_ladder_or_less() -> None:
    # the bundled tickets: 12 classes of about 87 training rows
    assert span_budgets([87] * 12, 2) == [2, 4, 8, 16, 32, 64, FULL]
    # below 256 no wide rung fits: 128 is not a rung
    assert span_budgets([200, 40], 2) == [2, 4, 8, 16, 32, 64, FULL]
    # a tiny data set: only the budgets it can fill
    assert span_budgets([10, 3], 2) == [2, 4, 8, FULL]
    assert span_budgets([5, 5], 8) == [FULL]


def test_span_budgets_stops_below_the_largest_class() -> None:
    # 64 rows: a budget of 64 would take the class whole, which "full" measures
    assert span_budgets([64, 64], 2) == [2, 4, 8, 16, 32, FULL]
    assert span_budgets([65, 10], 2) == [2, 4, 8, 16, 32, 64, FULL]
    # counted on the largest class: the small one is taken whole from 512 on
    assert span_budgets([4_500, 500], 2) == [2, 4, 8, 16, 32, 64, 256, 1024, 4096, FULL]


def test_span_budgets_widens_its_step_on_large_data() -> None:
    # x4 from 64 would take 6 rungs below a million (256 .. 262144); x8 takes 4
    assert span_budgets([1_000_000, 3], 2) == [
        *(2, 4, 8, 16, 32, 64),
        *(512, 4096, 32768, 262144),
        FULL,
    ]


@pytest.mark.parametrize("largest", [1, 2, 3, 63, 64, 65, 300, 1_025, 9_306, 10**5, 10**7])
@pytest.mark.parametrize("smallest", [1, 2, 8])
def test_span_budgets_is_a_bounded_geometric_ladder(largest: int, smallest: int) -> None:
    ladder = span_budgets([largest, 1], smallest)
    counts = [int(b) for b in ladder[:-1]]
    assert ladder[-1] == FULL
    assert len(counts) <= 10
    assert all(b >= 2 * a for a, b in pairwise(counts))
    assert all(smallest <= c < largest for c in counts)
    # every rung subsamples: plan_budgets skips none of them
    labels = pd.Series(["a"] * largest + ["b"])
    assert plan_budgets(ladder, labels) == (ladder, [])
    # no gap below "full" wider than the ladder's next step
    if len(counts) > 6:
        assert counts[-1] * (counts[-1] // counts[-2]) >= largest
    elif len(counts) == 6:
        assert counts[-1] * 4 >= largest
    elif counts:
        assert counts[-1] * 2 >= largest
    else:
        assert smallest >= largest


def test_span_budgets_rejects_a_smallest_budget_below_one() -> None:
    with pytest.raises(ValueError, match="below 1"):
        span_budgets([10], 0)


def _table(n_rows: int, positives: float, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    y = (rng.random(n_rows) < positives).astype(int)
    return pd.DataFrame({"signal": rng.normal(0.0, 1.0, n_rows) + 2.0 * y, "y": y})


def test_classification_default_budgets_span_the_training_split() -> None:
    task = get(TABLE)
    assert task.prepare is not None
    messages = _Messages()
    inputs = task.prepare(_table(1_500, 0.1), StudyPlan.of(TABLE, label="y"), messages)  # type: ignore[arg-type]
    assert inputs.fit_default_budgets is not None
    largest = int(inputs.splits[0].train["y"].value_counts().max())
    assert 1_024 < largest < 4_096
    defaults = list(task.default_budgets or ())
    ladder = inputs.fit_default_budgets(defaults, messages)  # type: ignore[arg-type]
    assert ladder == [8, 16, 32, 64, 128, 256, 1024, FULL]
    assert any("1,024" in line and f"{largest:,}" in line for line in messages.lines)


def _compare(**kwargs: object) -> list[str]:
    options: dict[str, object] = dict(
        task=TABLE,
        label="y",
        strategies="tabular.linear",
        seeds=1,
        jobs=1,
        repeats=1,
        progress=False,
        measure_speed=False,
        use_cache=False,
        n_resamples=1000,
    )
    options.update(kwargs)
    study = compare(_table(1_500, 0.1), **options)  # type: ignore[arg-type]
    budgets: list[str] = study.settings["budgets"]
    return budgets


def test_compare_records_the_fitted_default_budgets() -> None:
    assert _compare() == ["8", "16", "32", "64", "128", "256", "1024", "full"]


def test_compare_keeps_explicit_budgets_exactly() -> None:
    assert _compare(budgets="8,full") == ["8", "full"]
    # an explicit budget beyond the data stays in the settings (the plan skips it, as before)
    assert _compare(budgets="2,5000,full") == ["2", "5000", "full"]
