"""``ReportData``: everything the report shows, filled from a study (and its pricing and
recommendation when there are some), as plain values the templates only lay out.

Nothing here writes HTML: the Jinja2 templates do. Paths of the machine that ran the study
are reduced to file names, so that a report can be shared.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import PurePath
from typing import TYPE_CHECKING, Any

from crossover._format import significance, usd
from crossover.report import plots

if TYPE_CHECKING:
    from crossover.costs.sheet import Pricing
    from crossover.recommend import Recommendation
    from crossover.study import Study

__all__ = ["ReportData"]

_SEGMENT = r"[^\s'\"/\\]"
_ABSOLUTE_PATH = re.compile(
    rf"(?:[A-Za-z]:\\|~/|/)(?:{_SEGMENT}+[/\\])+{_SEGMENT}*"  # /home/a/x.csv, C:\a\x
    rf"|(?<![\w.])(?:\.\.?/)+(?:{_SEGMENT}+/)*{_SEGMENT}+"  # ../shared/x.csv, ./x.csv
)
_EXAMPLES_PER_CONFUSION = 3
_TOP_CONFUSIONS = 10
_EXAMPLE_CHARS = 200


def scrub(text: str) -> str:
    """``text`` with every absolute path reduced to its last part (the file name)."""
    return _ABSOLUTE_PATH.sub(lambda m: PurePath(m.group(0).replace("\\", "/")).name, text)


def _num(value: Any, digits: int) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "-"
    return f"{value:,.{digits}f}"


@dataclass
class ReportData:
    """The report's content; see :meth:`from_study`."""

    title: str
    created_at: str
    task: str
    metric: str
    verdict: dict[str, Any] | None
    leaderboard: list[dict[str, Any]]
    charts: dict[str, str | None]
    learning_summary: list[str]
    cost_rows: list[dict[str, Any]]
    break_evens: list[str]
    assumptions: list[str]
    comparison: dict[str, dict[str, str]]
    comparison_columns: dict[str, str]
    confusion: dict[str, Any] | None
    data_summary: list[tuple[str, str]]
    warnings: list[str]
    run: list[tuple[str, str]]
    glossary: list[tuple[str, str]]
    missing: list[str] = field(default_factory=list)
    #: Tables with --amount and --cost-fp: each strategy's decision threshold and savings.
    thresholds: list[dict[str, str]] = field(default_factory=list)
    threshold_note: str = ""
    #: What the leaderboard's intervals are (bootstrap on one test set, or across splits).
    interval_note: str = "95 % bootstrap intervals on the test rows"
    #: Whether the inputs are table rows (nothing to quote in the confusions section).
    is_table: bool = False
    #: Recommendation: every ranking metric per strategy, the cold-start slice, and a note.
    ranking: list[dict[str, str]] = field(default_factory=list)
    ranking_note: str = ""
    digits: int = 3
    #: Strategies behind a paid API: answers, unparseable and failed ones, tokens, latency.
    api: list[dict[str, str]] = field(default_factory=list)

    @classmethod
    def from_study(
        cls,
        study: Study,
        pricing: Pricing | None = None,
        recommendation: Recommendation | None = None,
    ) -> ReportData:
        metric = study.headline
        is_ranking = study.task == "recommendation"
        digits = 4 if is_ranking else 3
        board = study.leaderboard
        records = [
            {str(k): v for k, v in r.items()} for r in board.astype(object).to_dict("records")
        ]
        rows: list[dict[str, Any]] = [
            {
                "strategy": str(r["strategy"]),
                "kind": str(r["kind"]),
                "score": float(r["score"]),
                "ci_low": float(r["ci_low"]),
                "ci_high": float(r["ci_high"]),
                "delta": _num(r["delta_vs_best"], digits),
                "significant": significance(r["significant"]),
                "fit_s": _num(r["fit_s"], 1),
                "p50": _num(r["latency_p50_ms"], 1),
                "p95": _num(r["latency_p95_ms"], 1),
                "rows_s": _num(r["throughput_rows_s"], 0),
                "size_mb": _num(r["size_mb"], 1),
            }
            for r in records
        ]
        missing: list[str] = []
        n_splits = len(study.split.get("split_ids") or [])
        interval = (
            f"corrected t intervals across {n_splits} splits"
            if study.repeated
            else "bootstrap intervals"
        )
        charts: dict[str, str | None] = {"forest": plots.forest_chart(rows, metric, interval)}
        curves = study.curves or {}
        charts["learning_curve"] = plots.learning_curve_chart(
            curves.get("table", []),
            curves.get("labels_needed", []),
            metric,
            n_classes=int(study.dataset.get("classes") or 0),
            unit=str(study.settings.get("budget_unit") or "labels per class"),
        )
        if charts["learning_curve"] is None:
            missing.append(
                "Learning curves: this study measured one training budget. Run `crossover "
                "compare` without `--budgets full` (default budgets 2,4,8,16,32,64,full) to see "
                "how many labels each strategy needs."
            )
        latency = {r.trial.strategy: r for r in study.leaderboard_results}
        names: list[str] = [r["strategy"] for r in rows]
        kinds: list[str] = [r["kind"] for r in rows]
        scores: list[float] = [r["score"] for r in rows]
        charts["quality_latency"] = plots.pareto_chart(
            names,
            kinds,
            [float(latency[n].latency_p95_ms) for n in names],
            scores,
            title=f"{metric} against p95 latency (one row, measured)",
            x_title="p95 latency, ms (log)",
            metric=metric,
            log_x=True,
        )
        verdict = None
        cost_rows: list[dict[str, Any]] = []
        break_evens: list[str] = []
        assumptions: list[str] = []
        comparison: dict[str, dict[str, str]] = {}
        columns: dict[str, str] = {}
        if pricing is not None and recommendation is not None:
            charts["cost"] = plots.cost_chart(pricing)
            charts["quality_cost"] = plots.pareto_chart(
                names,
                kinds,
                [pricing.sheet(n).monthly_usd for n in names],
                scores,
                title=f"{metric} against cost per month at the scenario volume",
                x_title="US dollars per month (log)",
                metric=metric,
                log_x=True,
            )
            verdict = {
                "choice": recommendation.choice,
                "kind": recommendation.kind,
                "reasons": [scrub(r) for r in recommendation.reasons],
                "flips": [scrub(f["text"]) for f in recommendation.flip_points],
                "rule": recommendation.rule,
                "scenario": scrub(pricing.scenario.source),
            }
            cost_rows = [
                {
                    "strategy": s.strategy,
                    "hosting": s.hosting,
                    "setup": usd(s.setup_usd, missing="-"),
                    "labels_to_buy": f"{s.labels_to_buy:,}",
                    "per_million": usd(s.usd_per_million, missing="-"),
                    "monthly": usd(s.monthly_usd, missing="-"),
                    "horizon": usd(s.horizon_usd, missing="-"),
                    "days": f"{s.days_to_production:.0f}",
                    "notes": [scrub(n) for n in s.notes],
                }
                for s in pricing.sheets
            ]
            break_evens = [b.describe() for b in pricing.break_evens]
            for o in pricing.overtakes:
                if o.month is not None:
                    break_evens.append(
                        f"{o.later} costs more to set up than {o.cheaper_first} but is cheaper "
                        f"in total from month {o.month}."
                    )
            assumptions = [scrub(a) for a in pricing.assumptions]
            comparison = recommendation.comparison
            columns = recommendation.comparison_strategies
        else:
            charts["cost"] = charts["quality_cost"] = None
            missing.append(
                "Costs and the recommendation: this report was rendered without a pricing. "
                "Run `crossover report study.json --scenario scenario.yaml` (or `crossover "
                "costs`) to price every candidate and choose one."
            )
        focus: str | None = rows[0]["strategy"] if rows else None
        if recommendation is not None and recommendation.choice:
            focus = recommendation.choice
        confusion = _confusion(study, focus) if focus and not is_ranking else None
        if confusion is not None:
            charts["confusion"] = plots.confusion_chart(
                confusion["labels"], confusion["matrix"], focus or ""
            )
        else:
            charts["confusion"] = None
        dataset, split, settings = study.dataset, study.split, study.settings
        data_summary = (
            _ranking_summary(study)
            if is_ranking
            else [
                ("source", scrub(str(dataset.get("source", "-")))),
                ("rows", f"{dataset.get('rows', '-'):,}" if dataset.get("rows") else "-"),
                ("classes", str(dataset.get("classes", "-"))),
                (
                    "rows per class",
                    f"{dataset.get('rows_per_class_min', '-')} to "
                    f"{dataset.get('rows_per_class_max', '-')}",
                ),
                ("imbalance (largest / smallest class)", _num(dataset.get("imbalance_ratio"), 1)),
                ("split", scrub(str(study.split.get("description", "-")))),
                (
                    "train / test rows",
                    f"{split.get('train_rows')} / {split.get('test_rows')}",
                ),
                ("fingerprint", str(dataset.get("fingerprint", "-"))),
            ]
        )
        env = study.environment
        versions = env.get("versions", {}) or {}
        run = [
            ("command", scrub(str(study.settings.get("command") or "-"))),
            ("created", study.created_at or "-"),
            ("time taken", f"{study.duration_s:.1f} s"),
            ("CPU", f"{env.get('cpu', '-')} ({env.get('cpu_count', '-')} cores)"),
            ("GPU", str(env.get("gpu") or "none")),
            ("memory", f"{env.get('memory_gb', '-')} GiB"),
            ("Python", str(env.get("python", "-"))),
            ("versions", ", ".join(f"{k} {v}" for k, v in versions.items())),
            ("model", str(study.settings.get("model", "-"))),
            (
                "seed, resamples",
                f"{settings.get('seed')}, {settings.get('n_resamples')}",
            ),
            ("data fingerprint", str(dataset.get("fingerprint", "-"))),
        ]
        from crossover.costs.sheet import COST_GLOSSARY
        from crossover.study import GLOSSARY

        glossary = sorted({**GLOSSARY, **COST_GLOSSARY}.items())
        return cls(
            title=f"crossover: {study.task} on {scrub(str(dataset.get('source', 'your data')))}",
            created_at=study.created_at,
            task=study.task,
            metric=metric,
            verdict=verdict,
            leaderboard=rows,
            charts=charts,
            learning_summary=list(curves.get("summary", [])),
            cost_rows=cost_rows,
            break_evens=break_evens,
            assumptions=assumptions,
            comparison=comparison,
            comparison_columns=columns,
            confusion=confusion,
            data_summary=data_summary,
            warnings=[scrub(w) for w in dataset.get("warnings", [])],
            run=run,
            glossary=glossary,
            missing=missing,
            thresholds=_threshold_rows(study),
            threshold_note=_threshold_note(study),
            interval_note=(
                f"mean over {n_splits} splits; 95 % corrected resampled t intervals across the "
                "splits (Nadeau & Bengio), which carry the split-to-split spread"
                if study.repeated
                else (
                    "95 % bootstrap intervals over the test users (each user's value resampled; "
                    "the same resamples for every strategy, so differences are paired)"
                    if is_ranking
                    else "95 % bootstrap intervals on the test rows"
                )
            ),
            is_table=study.spec.get("column_types") is not None,
            ranking=ranking_rows(study),
            ranking_note=_ranking_note(study),
            digits=digits,
            api=api_rows(study),
        )


def _small_usd(value: float) -> str:
    """Dollars with cents, or four decimals below a dollar (a test run costs fractions)."""
    return usd(value, missing="-") if value >= 1 else f"${value:.4f}"


def api_rows(study: Study) -> list[dict[str, str]]:
    """One row per leaderboard strategy behind a paid API, from what its predictions measured."""
    rows = []
    for r in study.leaderboard_results:
        api = r.api
        if not api or "predictions" not in api:
            continue
        n = int(api["predictions"])
        usd_per_prediction = (
            api["input_tokens_per_prediction"] * api["input_usd_per_mtok"]
            + api["output_tokens_per_prediction"] * api["output_usd_per_mtok"]
        ) / 1e6
        rows.append(
            {
                "strategy": r.trial.strategy,
                "model": scrub(str(api["model"])),
                "answers": f"{n:,}",
                "unparseable": f"{int(api.get('unparseable', 0)):,}",
                "failed": f"{int(api.get('failed', 0)):,}",
                "tokens": f"{api['input_tokens_per_prediction']:.0f} in, "
                f"{api['output_tokens_per_prediction']:.1f} out",
                "latency": f"{_num(api.get('latency_p50_ms_per_call'), 0)} / "
                f"{_num(api.get('latency_p95_ms_per_call'), 0)}",
                "spent": _small_usd(usd_per_prediction * n),
                "price": scrub(str(api.get("price_source", "-"))),
                "examples": "; ".join(scrub(e) for e in api.get("unparseable_examples", [])[:3]),
            }
        )
    return rows


def ranking_rows(study: Study) -> list[dict[str, str]]:
    """Recommendation: one row per leaderboard strategy with every ranking metric; the
    cold-start slice's NDCG with its interval and its difference to the best strategy."""
    if study.task != "recommendation":
        return []
    from crossover.tasks.recommendation.task import metric_names

    k = study.spec.get("k", 10)
    names = metric_names(k)
    order = list(study.leaderboard["strategy"])
    results = {r.trial.strategy: r for r in study.leaderboard_results}
    rows = []
    for name in order:
        stats = study.statistics.get(name, {})
        metrics = results[name].metrics

        def cell(metric: str, interval: bool = False) -> str:
            return _metric_cell(metrics, stats, metric, interval)  # noqa: B023  (used at once)

        cold = stats.get(names["cold_ndcg"])
        delta = "-"
        if cold is not None and cold.get("significant") is not None:
            delta = (
                f"{cold['delta']:+.4f} [{cold['delta_ci_low']:+.4f}, {cold['delta_ci_high']:+.4f}]"
                + (" significant" if cold["significant"] else " tie")
            )
        rows.append(
            {
                "strategy": name,
                f"NDCG@{k} [95 % CI]": cell(names["ndcg"], True),
                f"recall@{k}": cell(names["recall"]),
                f"MAP@{k}": cell(names["map"]),
                f"coverage@{k}": cell(names["coverage"]),
                f"cold NDCG@{k} [95 % CI]": cell(names["cold_ndcg"], True),
                f"cold recall@{k}": cell(names["cold_recall"]),
                "cold NDCG vs best": delta,
            }
        )
    return rows


def _metric_cell(
    metrics: dict[str, float], stats: dict[str, Any], metric: str, interval: bool
) -> str:
    if metric not in metrics:
        return "-"
    value = _num(metrics[metric], 4)
    s = stats.get(metric)
    if interval and s is not None:
        value += f" [{_num(s['ci_low'], 4)}, {_num(s['ci_high'], 4)}]"
    return value


def _ranking_note(study: Study) -> str:
    if study.task != "recommendation":
        return ""
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


def _ranking_summary(study: Study) -> list[tuple[str, str]]:
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


def _threshold_rows(study: Study) -> list[dict[str, str]]:
    rows = sorted(study.thresholds.items(), key=lambda kv: -float(kv[1]["saved"]))
    return [
        {
            "strategy": name,
            "threshold": threshold_text(t["threshold"]),
            "flagged": f"{t['flagged']:,}",
            "caught": f"{t['caught']:,}",
            "loss": _num(t["loss"], 0),
            "no_model_loss": _num(t["no_model_loss"], 0),
            "saved": _num(t["saved"], 0),
            "saved_per_1k": _num(t["saved_per_1k_rows"], 0),
        }
        for name, t in rows
    ]


def threshold_text(value: float | None) -> str:
    """A threshold score; ``inf`` (JSON: null) means that flagging nothing is cheapest."""
    if value is None or not math.isfinite(value):
        return "flag nothing"
    return f"{value:.4g}"


def _threshold_note(study: Study) -> str:
    if not study.thresholds:
        return ""
    first = next(iter(study.thresholds.values()))
    return (
        f"Cost model: a flagged row is reviewed at {first['cost_fp']:g} each and a flagged "
        f"positive is stopped; a missed positive loses its {study.spec.get('amount')!r}. "
        f"On the {first['rows']:,} test rows, the threshold is chosen on one stratified half "
        "and scored on the other (and the other way round), so the savings are not fitted to "
        "the rows they are measured on; the threshold shown is the one chosen on all test rows."
    )


def _confusion(study: Study, strategy: str) -> dict[str, Any] | None:
    result = next((r for r in study.leaderboard_results if r.trial.strategy == strategy), None)
    if result is None or not study.y_true:
        return None
    truth, guess = study.y_true, result.predictions
    labels = sorted(set(truth) | set(guess))
    index = {label: i for i, label in enumerate(labels)}
    matrix = [[0] * len(labels) for _ in labels]
    for t, p in zip(truth, guess, strict=True):
        matrix[index[t]][index[p]] += 1
    pairs = Counter((t, p) for t, p in zip(truth, guess, strict=True) if t != p)
    texts = study.x_test if len(study.x_test) == len(truth) else []
    top = []
    for (t, p), count in pairs.most_common(_TOP_CONFUSIONS):
        examples = [
            texts[i][:_EXAMPLE_CHARS]
            for i in range(len(truth))
            if texts and truth[i] == t and guess[i] == p
        ][:_EXAMPLES_PER_CONFUSION]
        top.append({"true": t, "predicted": p, "count": count, "examples": examples})
    return {"strategy": strategy, "labels": labels, "matrix": matrix, "top": top}
