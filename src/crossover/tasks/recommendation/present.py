"""The recommendation task's own sections of the report and the CLI (``Presentation.sections``):
every ranking metric per strategy with the cold-start slice, what those numbers are, the data
summary in interactions, users and items, and where the leaderboard was measured.

Imported only when a report or a CLI table is made; each function reads a saved ``Study``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from crossover._format import number, scrub

if TYPE_CHECKING:
    from crossover.study import Study

__all__ = ["data_summary", "measured_on", "ranking_note", "ranking_rows", "ranking_title"]


def measured_on(study: Study) -> str:
    """The CLI leaderboard's caption after the metric: the held-out interactions and users."""
    return (
        f"on {study.split['test_rows']:,} held-out interactions of "
        f"{study.split.get('test_users', 0):,} users (95 % CI, bootstrap over users)"
    )


def ranking_rows(study: Study) -> list[dict[str, str]]:
    """One row per leaderboard strategy with every ranking metric; the cold-start slice's NDCG
    with its interval and its difference to the best strategy."""
    from crossover.tasks.recommendation.trial import metric_names

    k = study.spec.get("k", 10)
    names = metric_names(k)
    results = {r.trial.strategy: r for r in study.leaderboard_results}
    rows = []
    for name in study.leaderboard["strategy"]:
        stats = study.statistics.get(name, {})
        metrics = results[name].metrics

        def cell(metric: str, interval: bool = False) -> str:
            return _metric_cell(metrics, stats, metric, interval)  # noqa: B023  (used at once)

        rows.append(
            {
                "strategy": name,
                f"NDCG@{k} [95 % CI]": cell(names["ndcg"], True),
                f"recall@{k}": cell(names["recall"]),
                f"MAP@{k}": cell(names["map"]),
                f"coverage@{k}": cell(names["coverage"]),
                f"cold NDCG@{k} [95 % CI]": cell(names["cold_ndcg"], True),
                f"cold recall@{k}": cell(names["cold_recall"]),
                "cold NDCG vs best": _cold_delta(stats.get(names["cold_ndcg"])),
            }
        )
    return rows


def _metric_cell(
    metrics: dict[str, float], stats: dict[str, Any], metric: str, interval: bool
) -> str:
    if metric not in metrics:
        return "-"
    value = number(metrics[metric], 4)
    s = stats.get(metric)
    if interval and s is not None:
        value += f" [{number(s['ci_low'], 4)}, {number(s['ci_high'], 4)}]"
    return value


def _cold_delta(cold: dict[str, Any] | None) -> str:
    """The cold-start NDCG's paired difference to the best strategy, with its interval."""
    if cold is None or cold.get("significant") is None:
        return "-"
    return f"{cold['delta']:+.4f} [{cold['delta_ci_low']:+.4f}, {cold['delta_ci_high']:+.4f}]" + (
        " significant" if cold["significant"] else " tie"
    )


def ranking_note(study: Study) -> str:
    """What the ranking table's numbers are: relevance, coverage, the cold-start slice."""
    split = study.split
    return (
        f"Each test user's held-out interactions are their relevant items (binary relevance); "
        f"metrics are means over the {split.get('test_users', 0):,} test users. Coverage: the "
        "share of the catalogue that appears in at least one top list. Cold-start slice: the "
        f"{split.get('cold_test_rows', 0):,} held-out interactions whose item had fewer than "
        f"{split.get('cold_threshold')} training interactions ({split.get('cold_items', 0):,} "
        f"items, {split.get('cold_users', 0):,} users), scored on the same full-catalogue lists. "
        "'cold NDCG vs best': the difference to the leaderboard's best strategy on that slice, "
        "paired bootstrap over the slice's users."
    )


def ranking_title(study: Study) -> str:
    """The CLI title of the ranking table: ``k`` and the cold-start slice."""
    split = study.split
    return (
        f"ranking metrics at k = {study.spec.get('k')}; cold-start slice: "
        f"{split.get('cold_test_rows', 0):,} held-out interactions with items of fewer than "
        f"{split.get('cold_threshold')} training interactions ({split.get('cold_users', 0):,} "
        "users)"
    )


def data_summary(study: Study) -> list[tuple[str, str]]:
    """The report's data section: interactions, users, items, the split, the cold slice."""
    dataset, split = study.dataset, study.split
    return [
        ("interactions", scrub(str(dataset.get("source", "-")))),
        ("items file", scrub(str(dataset.get("items_source") or "none"))),
        ("positive interactions", f"{dataset.get('interactions', 0):,}"),
        ("users / items", f"{dataset.get('users', 0):,} / {dataset.get('items', 0):,}"),
        ("items with text", f"{dataset.get('items_with_text', 0):,}"),
        *(("note", scrub(str(n))) for n in dataset.get("notes", [])[:-1]),
        ("split", scrub(str(split.get("description", "-")))),
        ("train / test interactions", f"{split.get('train_rows'):,} / {split.get('test_rows'):,}"),
        (
            "cold-start slice",
            f"{split.get('cold_test_rows', 0):,} test interactions, "
            f"{split.get('cold_users', 0):,} users",
        ),
        ("fingerprint", str(dataset.get("fingerprint", "-"))),
    ]
