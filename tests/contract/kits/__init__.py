"""Contract kits: per task, what the contract suite needs to test its strategies.

A kit (``Kit``) holds what differs between tasks: the example data, how to build a strategy
for a test, how to fit it, what it answers, and the task's own checks. The generic contract in
``tests/contract/test_contract.py`` runs over every registered strategy through its task's kit,
so a new strategy is tested by being registered, and a new task by adding its kit to ``KITS``.
"""

from __future__ import annotations

from typing import Any

import pytest

from crossover.strategies import Registry
from tests.contract.kits.base import Case, Check, Kit
from tests.contract.kits.forecast import FORECAST
from tests.contract.kits.image import IMAGE
from tests.contract.kits.recommendation import RECOMMENDATION
from tests.contract.kits.tabular import TABULAR
from tests.contract.kits.text import TEXT

__all__ = ["KITS", "Case", "Check", "Kit", "check_params", "kit_for"]

KITS: dict[str, Kit] = {kit.task: kit for kit in (TEXT, TABULAR, RECOMMENDATION, IMAGE, FORECAST)}


def kit_for(task: str) -> Kit:
    """The kit of ``task``; fails the calling test when the task has none."""
    kit = KITS.get(task)
    if kit is None:
        pytest.fail(
            f"the task {task!r} has strategies but no contract kit: the task must supply a "
            "contract kit in tests/contract/kits/ (a Kit listed in KITS in "
            "tests/contract/kits/__init__.py) so that its strategies are tested; tasks with "
            f"a kit: {', '.join(sorted(KITS))}",
            pytrace=False,
        )
    return kit


def _missing_kit(task: str) -> Check:
    def run(case: Case) -> None:
        kit_for(task)

    return Check("contract_kit", run, needs_fit=False)


def check_params(registry: Registry) -> list[Any]:
    """One ``pytest.param(key, check)`` per registered strategy and check of its task's kit
    that applies to it; a strategy whose task has no kit gets one that fails and says why."""
    params = []
    for key in registry.keys(None):  # every task
        cls = registry.get(key)
        kit = KITS.get(cls.task)
        checks = kit.checks if kit is not None else (_missing_kit(cls.task),)
        for check in checks:
            if not check.applies(cls):
                continue
            gap = check.known_gaps.get(key)
            marks = [pytest.mark.xfail(reason=gap, strict=True)] if gap else []
            params.append(pytest.param(key, check, id=f"{key}-{check.name}", marks=marks))
    return params
