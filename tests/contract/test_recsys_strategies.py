"""One suite run over every registered recommendation strategy.

Top-k lists (length, no seen items, ids as text), seeded determinism, the save/load round trip
without pickle, ranking from a history alone, unknown ids named, the estimator contract, and
the footprint.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from crossover.errors import DataError, ModelError
from crossover.strategies import Strategy, registry
from tests.conftest import FAST_MODEL
from tests.tasks.recommendation.test_models import make_shop

TASK = "recommendation"
KEYS = registry.keys(TASK)


def build(key: str, **overrides: Any) -> Any:
    cls = registry.get(key)
    names = cls._param_names()
    params: dict[str, Any] = {}
    if "model" in names:
        params["model"] = FAST_MODEL
    if "factors" in names:
        params["factors"] = 8
    if "time" in names:
        params["time"] = "time"
    params.update(overrides)
    return cls(**params)


@pytest.fixture(scope="module")
def shop() -> tuple[pd.DataFrame, pd.DataFrame]:
    interactions, items = make_shop()
    return interactions.rename(columns={"t": "time"}), items


@pytest.fixture(scope="module")
def fitted(shop: tuple[pd.DataFrame, pd.DataFrame]) -> dict[str, Any]:
    interactions, items = shop
    return {key: build(key).fit(interactions, items=items) for key in KEYS}


def test_the_four_strategies_are_registered_with_their_kinds() -> None:
    kinds = {key: registry.get(key).kind for key in KEYS}
    assert kinds == {
        "recsys.als": "custom",
        "recsys.content-embeddings": "pretrained",
        "recsys.hybrid": "hybrid",
        "recsys.popularity": "custom",
    }
    assert registry.get("recsys.popularity").baseline  # type: ignore[attr-defined]
    assert set(registry.candidates(TASK, has_text=False)) == {"recsys.als", "recsys.popularity"}


@pytest.mark.parametrize("key", KEYS)
def test_predict_gives_each_user_k_unseen_items(
    key: str, fitted: dict[str, Any], shop: tuple[pd.DataFrame, pd.DataFrame]
) -> None:
    interactions, _ = shop
    strategy = fitted[key]
    users = ["space-user-1", "kitchen-user-2"]
    lists = strategy.predict(users)
    assert len(lists) == 2
    for user, ranked in zip(users, lists, strict=True):
        seen = set(interactions.loc[interactions["user"] == user, "item"])
        assert len(ranked) == strategy.k == 10
        assert len(set(ranked)) == 10 and not set(ranked) & seen
        assert all(isinstance(i, str) for i in ranked)


@pytest.mark.parametrize("key", KEYS)
def test_same_seed_same_lists(key: str, shop: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    interactions, items = shop
    a = build(key, random_state=3).fit(interactions, items=items)
    b = build(key, random_state=3).fit(interactions, items=items)
    users = sorted(set(interactions["user"]))[:10]
    assert a.recommend(users, k=5) == b.recommend(users, k=5)


@pytest.mark.parametrize("key", KEYS)
def test_save_load_round_trip_without_pickle(
    key: str, fitted: dict[str, Any], tmp_path: Path
) -> None:
    strategy = fitted[key]
    path = strategy.save(tmp_path / key)
    assert not [p for p in path.rglob("*") if p.suffix in {".pkl", ".pickle", ".joblib"}]
    meta = json.loads((path / "strategy.json").read_text())
    assert meta["key"] == key
    loaded: Any = Strategy.load(path)
    users = ["space-user-0", "kitchen-user-5", "a-new-user"]
    assert loaded.recommend(users, k=7) == strategy.recommend(users, k=7)
    session = ["kitchen-3", "kitchen-4"]
    assert loaded.recommend_items(session, k=5, exclude=["kitchen-5"]) == strategy.recommend_items(
        session, k=5, exclude=["kitchen-5"]
    )
    assert loaded.catalogue == strategy.catalogue


@pytest.mark.parametrize("key", KEYS)
def test_sessions_exclusions_and_unknown_ids(key: str, fitted: dict[str, Any]) -> None:
    strategy = fitted[key]
    ranked = strategy.recommend_items(["kitchen-1"], k=5, exclude=["kitchen-2"])
    assert len(ranked) == 5 and "kitchen-1" not in ranked and "kitchen-2" not in ranked
    with pytest.raises(DataError, match="nope"):
        strategy.recommend_items(["kitchen-1", "nope"], k=5)
    assert strategy.knows_user("space-user-0") and not strategy.knows_user("nobody")
    assert strategy.knows_item("space-0") and not strategy.knows_item("nope")


@pytest.mark.parametrize("key", KEYS)
def test_history_query_ignores_unknown_items_and_excludes_the_history(
    key: str, fitted: dict[str, Any]
) -> None:
    lists = fitted[key].recommend_histories({"u": ["space-1", "space-2", "unknown"]}, k=4)
    assert len(lists["u"]) == 4 and not {"space-1", "space-2"} & set(lists["u"])


@pytest.mark.parametrize("key", KEYS)
def test_estimator_contract(key: str, shop: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    strategy = build(key)
    params = strategy.get_params()
    assert type(strategy)(**params).get_params() == params
    with pytest.raises(ModelError):
        strategy.predict(["space-user-0"])
    interactions, items = shop
    assert strategy.fit(interactions, items=items) is strategy


@pytest.mark.parametrize("key", KEYS)
def test_footprint_counts_the_saved_state(key: str, fitted: dict[str, Any]) -> None:
    footprint = fitted[key].footprint()
    assert footprint["state_bytes"] > 0
    assert footprint["base_model_bytes"] == 0  # served from stored vectors: no encoder
    if key in ("recsys.als", "recsys.hybrid"):
        assert footprint["parameters"] > 0


def test_content_needs_an_items_frame(shop: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    interactions, _ = shop
    from crossover.errors import ConfigError

    with pytest.raises(ConfigError, match="items"):
        build("recsys.content-embeddings").fit(interactions)


def test_integer_ids_are_compared_as_text(shop: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    interactions, _ = shop
    codes = {u: i for i, u in enumerate(sorted(set(interactions["user"])))}
    numeric = interactions.assign(user=interactions["user"].map(codes).astype(np.int64))
    strategy: Any = build("recsys.als").fit(numeric)
    assert strategy.knows_user(0) and strategy.knows_user("0")
    assert strategy.recommend([0], k=3) == strategy.recommend(["0"], k=3)
