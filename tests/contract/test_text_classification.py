"""What ``text-classification`` asks of its registry beyond the contract suite."""

from __future__ import annotations

from crossover.strategies import registry
from tests.contract.kits.text import TEXT

TASK = TEXT.task


def test_registry_lists_all_three_kinds() -> None:
    kinds = {registry.get(k).kind for k in registry.candidates(TASK)}
    assert kinds == {"pretrained", "custom", "hybrid"}
    assert registry.get(registry.candidates(TASK)[0]).kind == "pretrained"
