"""Tests of the recommenders on a small synthetic shop with two tastes and some cold items."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from crossover.errors import ConfigError, DataError, ModelError
from crossover.strategies.recsys.als import AlsRecommender
from crossover.strategies.recsys.content import ContentRecommender
from crossover.strategies.recsys.hybrid import HybridRecommender, _with_slots
from crossover.strategies.recsys.recommender import PopularityRecommender
from crossover.tasks.recommendation import holdout_last, ndcg_at_k, relevant_items
from tests.conftest import FAST_MODEL

_TOPICS = {
    "space": ["rocket", "galaxy", "astronaut", "planet", "alien", "spaceship"],
    "kitchen": ["recipe", "bread", "cooking", "soup", "baking", "chef"],
}
N_WARM = 20  # warm items per topic
N_COLD = 3  # items per topic with text and no interaction


def _item_id(topic: str, i: int) -> str:
    return f"{topic}-{i}"


def make_shop(seed: int = 0) -> tuple[pd.DataFrame, pd.DataFrame]:
    """30 users per topic, each with 9 items of their topic (space items more popular)."""
    rng = np.random.default_rng(seed)
    rows = []
    for topic in _TOPICS:
        weights = np.linspace(2.0, 1.0, N_WARM)
        weights /= weights.sum()
        n_users = 40 if topic == "space" else 30
        for u in range(n_users):
            chosen = rng.choice(N_WARM, size=9, replace=False, p=weights)
            for t, i in enumerate(chosen):
                rows.append({"user": f"{topic}-user-{u}", "item": _item_id(topic, i), "t": t})
    interactions = pd.DataFrame(rows)
    items = []
    for topic, words in _TOPICS.items():
        for i in range(N_WARM + N_COLD):
            picked = [words[(i + j) % len(words)] for j in range(3)]
            items.append({"item": _item_id(topic, i), "title": " ".join(picked), "genres": topic})
    return interactions, pd.DataFrame(items)


def _cold(topic: str) -> set[str]:
    return {_item_id(topic, i) for i in range(N_WARM, N_WARM + N_COLD)}


Recommender = PopularityRecommender | ContentRecommender | AlsRecommender | HybridRecommender
FACTORIES: dict[str, Callable[[], Recommender]] = {
    "popularity": PopularityRecommender,
    "content": lambda: ContentRecommender(model_id=FAST_MODEL),
    "content-neighbours": lambda: ContentRecommender(model_id=FAST_MODEL, profile="neighbours"),
    "als": lambda: AlsRecommender(factors=8, iterations=10),
    "bpr": lambda: AlsRecommender(algorithm="bpr", factors=8, iterations=50),
    "item-knn": lambda: AlsRecommender(algorithm="item-knn", neighbours=10),
    "hybrid": lambda: HybridRecommender(
        time="t", factors=8, iterations=10, n_validation=2, model_id=FAST_MODEL
    ),
}


@pytest.fixture(scope="module")
def shop() -> tuple[pd.DataFrame, pd.DataFrame]:
    return make_shop()


@pytest.fixture(scope="module")
def fitted(shop: tuple[pd.DataFrame, pd.DataFrame]) -> dict[str, Recommender]:
    interactions, items = shop
    return {name: make().fit(interactions, items) for name, make in FACTORIES.items()}


@pytest.mark.parametrize("name", list(FACTORIES))
def test_recommend_honours_k_and_excludes_seen(
    name: str, shop: tuple[pd.DataFrame, pd.DataFrame], fitted: dict[str, Recommender]
) -> None:
    interactions, items = shop
    model = fitted[name]
    users = ["space-user-0", "kitchen-user-3", "space-user-7"]
    lists = model.recommend(users, k=5)
    assert list(lists) == users
    catalogue = set(items["item"])
    for user, ranked in lists.items():
        seen = set(interactions.loc[interactions["user"] == user, "item"])
        assert len(ranked) == 5
        assert len(set(ranked)) == 5
        assert set(ranked) <= catalogue
        assert not set(ranked) & seen
    with_seen = model.recommend(users, k=40, exclude_seen=False)
    assert any(
        set(with_seen[u]) & set(interactions.loc[interactions["user"] == u, "item"]) for u in users
    )


@pytest.mark.parametrize("name", list(FACTORIES))
def test_recommend_is_deterministic(
    name: str, shop: tuple[pd.DataFrame, pd.DataFrame], fitted: dict[str, Recommender]
) -> None:
    interactions, items = shop
    users = sorted(interactions["user"].unique())[:10]
    again = FACTORIES[name]().fit(interactions, items)
    assert again.recommend(users, k=5) == fitted[name].recommend(users, k=5)


@pytest.mark.parametrize("name", list(FACTORIES))
def test_recommend_unknown_user_falls_back_to_popularity(
    name: str, fitted: dict[str, Recommender]
) -> None:
    popular = fitted["popularity"].recommend(["nobody"], k=4)["nobody"]
    got = fitted[name].recommend(["nobody", "space-user-0"], k=4)
    assert got["nobody"] == popular
    counts = make_shop()[0]["item"].value_counts()
    assert popular == counts.index[:4].tolist()


@pytest.mark.parametrize(
    "name", ["content", "content-neighbours", "als", "bpr", "item-knn", "hybrid"]
)
def test_recommend_items_ranks_a_session_by_its_taste(
    name: str, fitted: dict[str, Recommender]
) -> None:
    history = [_item_id("kitchen", i) for i in range(5)]
    excluded = _item_id("kitchen", 5)
    ranked = fitted[name].recommend_items(history, k=5, exclude=[excluded])
    assert len(ranked) == 5
    assert not set(ranked) & {*history, excluded}
    assert all(str(item).startswith("kitchen") for item in ranked)


def test_recommend_items_empty_history_is_popularity(fitted: dict[str, Recommender]) -> None:
    model = fitted["hybrid"]
    assert model.recommend_items([], k=3) == fitted["popularity"].recommend(["x"], k=3)["x"]


def test_recommend_items_unknown_id_raises(fitted: dict[str, Recommender]) -> None:
    with pytest.raises(DataError, match="not in the catalogue"):
        fitted["als"].recommend_items(["space-0", "no-such-item"], k=3)


def test_cold_items_reachable_by_content_and_hybrid_not_cf(fitted: dict[str, Recommender]) -> None:
    cold = _cold("space") | _cold("kitchen")
    everything = 10_000
    for name in ("als", "bpr", "item-knn"):
        lists = fitted[name].recommend(["space-user-0"], k=everything)
        assert not set(lists["space-user-0"]) & cold
    for name in ("content", "content-neighbours", "hybrid"):
        ranked = fitted[name].recommend(["space-user-0"], k=everything)["space-user-0"]
        assert _cold("space") <= set(ranked)
        # The cold items of the user's taste come before every item of the other taste.
        first_other = min(i for i, item in enumerate(ranked) if str(item).startswith("kitchen"))
        assert max(ranked.index(item) for item in _cold("space")) < first_other


def test_als_learns_the_tastes_better_than_popularity(
    shop: tuple[pd.DataFrame, pd.DataFrame],
) -> None:
    interactions, items = shop
    train, test, _ = holdout_last(interactions, "user", "item", time="t", n_test=2)
    relevant = relevant_items(test, "user", "item")
    scores, in_taste = {}, {}
    for name in ("popularity", "als", "hybrid"):
        model = FACTORIES[name]().fit(train, items)
        lists = model.recommend(list(relevant), k=5)
        scores[name] = ndcg_at_k(lists, relevant, 5).mean
        hits = [str(i).split("-")[0] == str(u).split("-")[0] for u, r in lists.items() for i in r]
        in_taste[name] = float(np.mean(hits))
    assert scores["als"] > scores["popularity"] + 0.05
    assert scores["hybrid"] > scores["popularity"]
    assert in_taste["hybrid"] > 0.95
    assert in_taste["als"] > 0.95 > 0.7 > in_taste["popularity"]


def test_hybrid_chooses_its_shrinkage_on_an_inner_split(fitted: dict[str, Recommender]) -> None:
    model = fitted["hybrid"]
    assert isinstance(model, HybridRecommender)
    assert set(model.validation_ndcg_) == {float(c) for c in model.shrinkages}
    assert model.shrinkage_ in model.validation_ndcg_
    assert model.validation_ndcg_[model.shrinkage_] == max(model.validation_ndcg_.values())


def test_with_slots_reserves_the_last_places_for_cold_candidates() -> None:
    scores = np.array([5.0, 4.0, 3.0, 2.0, 1.0, -np.inf])  # item 5 is masked
    cold = np.array([-np.inf, -np.inf, -np.inf, 0.5, 0.9, 9.0])
    tiebreak = np.arange(6)
    assert _with_slots(scores, cold, 3, 0, tiebreak).tolist() == [0, 1, 2]
    assert _with_slots(scores, cold, 3, 1, tiebreak).tolist() == [0, 1, 4]
    assert _with_slots(scores, cold, 3, 2, tiebreak).tolist() == [0, 4, 3]
    assert _with_slots(scores, cold, 1, 1, tiebreak).tolist() == [0]  # one place stays warm
    assert _with_slots(scores, cold, 3, 1, tiebreak, gate=1.0).tolist() == [0, 1, 2]
    no_cold = np.full(6, -np.inf)
    assert _with_slots(scores, no_cold, 3, 2, tiebreak).tolist() == [0, 1, 2]  # filled


def test_hybrid_chooses_cold_slots_on_the_inner_split(fitted: dict[str, Recommender]) -> None:
    model = fitted["hybrid"]
    assert isinstance(model, HybridRecommender)
    assert set(model.validation_slots_) == {
        (m, float(q)) for m in model.cold_slots for q in model.cold_gate_quantiles
    }
    assert model.cold_slots_ in model.cold_slots
    key = (model.cold_slots_, model.cold_quantile_)
    overall, cold, _ = model.validation_slots_[key]
    floor = model.validation_cf_ndcg_ - model.slot_margin
    assert key == (0, 0.0) or overall >= floor
    allowed = [v for k, v in model.validation_slots_.items() if k == (0, 0.0) or v[0] >= floor]
    assert cold == max(v[1] for v in allowed)
    assert model.cold_gate_ == -np.inf or model.cold_quantile_ > 0


def test_hybrid_cold_slot_puts_a_cold_item_last(shop: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    interactions, items = shop
    model = HybridRecommender(
        time="t",
        factors=8,
        iterations=10,
        n_validation=2,
        model_id=FAST_MODEL,
        cold_slots=(1,),
        cold_gate_quantiles=(0.0,),
    ).fit(interactions, items)
    assert model.cold_slots_ == 1
    lists = model.recommend(["space-user-0", "kitchen-user-0"], k=5)
    cold = _cold("space") | _cold("kitchen")
    for ranked in lists.values():
        assert len(ranked) == 5 and ranked[-1] in cold  # content may rank cold items earlier too
    session = model.recommend_items([_item_id("space", 0)], k=5, exclude=[_item_id("space", 20)])
    assert session[-1] in cold and _item_id("space", 20) not in session
    with pytest.raises(ConfigError, match="cold_slots"):
        HybridRecommender(cold_slots=(-1,)).fit(interactions, items)


def test_unfitted_model_raises() -> None:
    with pytest.raises(ModelError, match="not fitted"):
        AlsRecommender().recommend(["u"], k=3)


def test_content_needs_items(shop: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    with pytest.raises(ConfigError, match="needs an items frame"):
        ContentRecommender(model_id=FAST_MODEL).fit(shop[0])


def test_bad_k_and_algorithm_raise(
    shop: tuple[pd.DataFrame, pd.DataFrame], fitted: dict[str, Recommender]
) -> None:
    with pytest.raises(ConfigError, match="k must be"):
        fitted["popularity"].recommend(["space-user-0"], k=0)
    with pytest.raises(ConfigError, match="algorithm must be"):
        AlsRecommender(algorithm="svd").fit(shop[0])  # type: ignore[arg-type]


def test_missing_columns_raise(shop: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    with pytest.raises(DataError, match="no column"):
        PopularityRecommender(user="customer").fit(shop[0])


@pytest.mark.parametrize("name", list(FACTORIES))
def test_save_and_load_give_the_same_lists(
    name: str, fitted: dict[str, Recommender], tmp_path: Path
) -> None:
    model = fitted[name]
    model.save_state(tmp_path / name)
    loaded = FACTORIES[name]().load_state(tmp_path / name)
    users = ["space-user-0", "kitchen-user-3", "nobody"]
    assert loaded.recommend(users, k=5) == model.recommend(users, k=5)
    session = ["kitchen-1", "kitchen-2"]
    assert loaded.recommend_items(session, k=5) == model.recommend_items(session, k=5)
    assert not any(f.suffix == ".pkl" for f in (tmp_path / name).rglob("*"))


@pytest.mark.parametrize("name", list(FACTORIES))
def test_recommend_histories_ranks_from_the_history_alone(
    name: str, fitted: dict[str, Recommender], shop: tuple[pd.DataFrame, pd.DataFrame]
) -> None:
    interactions, _ = shop
    model = fitted[name]
    history = interactions.loc[interactions["user"] == "kitchen-user-0", "item"].tolist()
    lists = model.recommend_histories(
        {"kitchen-user-0": history, "new": ["kitchen-1", "not-an-item"], "empty": []}, k=5
    )
    assert list(lists) == ["kitchen-user-0", "new", "empty"]
    assert not set(lists["kitchen-user-0"]) & set(history)
    assert "kitchen-1" not in lists["new"] and len(lists["new"]) == 5
    # An empty history (or one of unknown items only) is the popularity order.
    assert lists["empty"] == model.recommend_items([], k=5)
    if name not in ("popularity",):
        # The history decides: a kitchen history is recommended kitchen items first.
        assert str(lists["new"][0]).startswith("kitchen")
