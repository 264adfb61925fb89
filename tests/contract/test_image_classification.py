"""What ``image-classification`` asks of its registry beyond the contract suite."""

from __future__ import annotations

from crossover.strategies import registry
from tests.contract.kits.image import IMAGE

TASK = IMAGE.task


def test_every_image_strategy_takes_images() -> None:
    keys = registry.keys(TASK)
    assert keys and all(k.startswith(IMAGE.key_prefix) for k in keys)
    assert {registry.get(k).input_kind for k in keys} == {"image"}
    assert "image.embedding-head" in registry.candidates(TASK)
