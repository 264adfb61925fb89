"""``recommendation`` beyond the contract suite: its four strategies, the content model's items
frame, and ids given as numbers."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from crossover.errors import ConfigError
from crossover.strategies import registry
from tests.contract.kits.recommendation import RECOMMENDATION, Shop

TASK = RECOMMENDATION.task


@pytest.fixture(scope="module")
def shop() -> Shop:
    data: Shop = RECOMMENDATION.data()
    return data


def build(key: str, **overrides: Any) -> Any:
    return RECOMMENDATION.build(registry.get(key), **overrides)


def test_the_four_strategies_are_registered_with_their_kinds() -> None:
    kinds = {key: registry.get(key).kind for key in registry.keys(TASK)}
    assert kinds == {
        "recsys.als": "custom",
        "recsys.content-embeddings": "pretrained",
        "recsys.hybrid": "hybrid",
        "recsys.popularity": "custom",
    }
    assert registry.get("recsys.popularity").baseline  # type: ignore[attr-defined]
    assert set(registry.candidates(TASK, has_text=False)) == {"recsys.als", "recsys.popularity"}


def test_content_needs_an_items_frame(shop: Shop) -> None:
    with pytest.raises(ConfigError, match="items"):
        build("recsys.content-embeddings").fit(shop.interactions)


def test_integer_ids_are_compared_as_text(shop: Shop) -> None:
    interactions = shop.interactions
    codes = {u: i for i, u in enumerate(sorted(set(interactions["user"])))}
    numeric = interactions.assign(user=interactions["user"].map(codes).astype(np.int64))
    strategy: Any = build("recsys.als").fit(numeric)
    assert strategy.knows_user(0) and strategy.knows_user("0")
    assert strategy.recommend([0], k=3) == strategy.recommend(["0"], k=3)
