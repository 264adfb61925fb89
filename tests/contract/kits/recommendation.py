"""The contract kit of ``recommendation``: a small shop with two tastes and some cold items.

A recommender answers ranked lists of item ids, not labels: each user gets k items they have not
seen; sessions, exclusions and histories are answered; unknown ids are named.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import pandas as pd
import pytest

from crossover.errors import DataError
from crossover.strategies import Strategy
from tests.conftest import FAST_MODEL
from tests.contract.kits.base import Case, Check, Kit
from tests.strategies.recsys.test_recommenders import make_shop

__all__ = ["RECOMMENDATION", "Shop"]


class Shop(NamedTuple):
    interactions: pd.DataFrame
    items: pd.DataFrame


def make_data() -> Shop:
    interactions, items = make_shop()
    return Shop(interactions.rename(columns={"t": "time"}), items)


def params(cls: type[Strategy]) -> dict[str, Any]:
    names = cls._param_names()
    out: dict[str, Any] = {}
    if "model" in names:
        out["model"] = FAST_MODEL
    if "factors" in names:
        out["factors"] = 8
    if "time" in names:
        out["time"] = "time"
    return out


def fit(strategy: Strategy, shop: Shop) -> Strategy:
    recommender: Any = strategy  # a RecsysStrategy: its fit takes the items frame
    fitted: Strategy = recommender.fit(shop.interactions, items=shop.items)
    return fitted


def outputs(strategy: Any, shop: Shop) -> dict[str, Any]:
    ten_users = sorted(set(shop.interactions["user"]))[:10]
    session = ["kitchen-3", "kitchen-4"]
    return {
        "top_5_of_ten_users": strategy.recommend(ten_users, k=5),
        "top_7_with_a_new_user": strategy.recommend(
            ["space-user-0", "kitchen-user-5", "a-new-user"], k=7
        ),
        "session_top_5": strategy.recommend_items(session, k=5, exclude=["kitchen-5"]),
        "catalogue": strategy.catalogue,
    }


def check_predictions(case: Case, strategy: Any) -> None:
    """``predict`` gives each user k items, distinct, unseen, and ids as text."""
    interactions = case.data.interactions
    users = ["space-user-1", "kitchen-user-2"]
    lists = strategy.predict(users)
    assert len(lists) == 2
    for user, ranked in zip(users, lists, strict=True):
        seen = set(interactions.loc[interactions["user"] == user, "item"])
        assert len(ranked) == strategy.k == 10
        assert len(set(ranked)) == 10 and not set(ranked) & seen
        assert all(isinstance(i, str) for i in ranked)


def _sessions_exclusions_and_unknown_ids(case: Case) -> None:
    strategy: Any = case.fitted()
    ranked = strategy.recommend_items(["kitchen-1"], k=5, exclude=["kitchen-2"])
    assert len(ranked) == 5 and "kitchen-1" not in ranked and "kitchen-2" not in ranked
    with pytest.raises(DataError, match="nope"):
        strategy.recommend_items(["kitchen-1", "nope"], k=5)
    assert strategy.knows_user("space-user-0") and not strategy.knows_user("nobody")
    assert strategy.knows_item("space-0") and not strategy.knows_item("nope")


def _history_query_ignores_unknown_items_and_excludes_the_history(case: Case) -> None:
    strategy: Any = case.fitted()
    lists = strategy.recommend_histories({"u": ["space-1", "space-2", "unknown"]}, k=4)
    assert len(lists["u"]) == 4 and not {"space-1", "space-2"} & set(lists["u"])


def _footprint_counts_the_saved_state(case: Case) -> None:
    footprint = case.fitted().footprint()
    assert footprint["state_bytes"] > 0
    assert footprint["base_model_bytes"] == 0  # served from stored vectors: no encoder
    if case.key in ("recsys.als", "recsys.hybrid"):
        assert footprint["parameters"] > 0


RECOMMENDATION = Kit(
    task="recommendation",
    key_prefix="recsys.",
    input_kind="interactions",
    make_data=make_data,
    params=params,
    fit=fit,
    unfitted_input=lambda shop: ["space-user-0"],
    outputs=outputs,
    check_predictions=check_predictions,
    checks=(
        Check("sessions_exclusions_and_unknown_ids", _sessions_exclusions_and_unknown_ids),
        Check(
            "history_query_ignores_unknown_items_and_excludes_the_history",
            _history_query_ignores_unknown_items_and_excludes_the_history,
        ),
        Check("footprint_counts_the_saved_state", _footprint_counts_the_saved_state),
    ),
)
