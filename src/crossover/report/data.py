"""``ReportData``: everything the report shows, filled from a study (and its pricing and
recommendation when there are some), as plain values the templates only lay out.

Nothing here writes HTML: the Jinja2 templates do. Paths of the machine that ran the study
are reduced to file names, so that a report can be shared.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from crossover._format import latency, number, scrub, significance, usd
from crossover.report import plots

if TYPE_CHECKING:
    from crossover.costs.sheet import CostSheet, Pricing
    from crossover.recommend import Recommendation
    from crossover.study import Study

__all__ = ["ReportData", "api_rows", "scrub", "threshold_text"]

_EXAMPLES_PER_CONFUSION = 3
_TOP_CONFUSIONS = 10
_EXAMPLE_CHARS = 200


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
    #: Whether the costs table has its "labels to buy" column (not for forecasting).
    buys_labels: bool = True
    #: Recommendation: every ranking metric per strategy, the cold-start slice, and a note.
    ranking: list[dict[str, str]] = field(default_factory=list)
    ranking_note: str = ""
    ranking_heading: str = ""
    digits: int = 3
    curves_heading: str = "How many labels each strategy needs"
    #: Strategies behind a paid API: answers, unparseable and failed ones, tokens, latency.
    api: list[dict[str, str]] = field(default_factory=list)
    #: How the speeds were timed, and which were timed while the machine was busy.
    timing_note: str = ""
    #: The focus strategy's misclassified test inputs as pictures (images: thumbnails as data
    #: URIs with their true and predicted labels); None for a task whose inputs are not.
    gallery: dict[str, Any] | None = None
    #: Forecasting: the focus strategy's forecasts of its worst series, each a chart name
    #: (``charts``), the series id and its MASE, worst first.
    series: list[dict[str, Any]] = field(default_factory=list)
    series_strategy: str = ""
    #: Whether the headline metric is better lower (an error: MASE); the page says so.
    lower_is_better: bool = False

    @classmethod
    def from_study(
        cls,
        study: Study,
        pricing: Pricing | None = None,
        recommendation: Recommendation | None = None,
    ) -> ReportData:
        from crossover.tasks import get as get_task

        present = get_task(study.task).present
        rows = _leaderboard_rows(study, present.digits)
        charts, missing = _quality_charts(study, rows, present.budget_unit)
        decision = _decision(study, rows, pricing, recommendation, charts, missing)
        focus: str | None = rows[0]["strategy"] if rows else None
        if recommendation is not None and recommendation.choice:
            focus = recommendation.choice
        gallery = present.gallery(study, focus) if focus else None
        # Where the inputs are shown as pictures, the confusions table does not quote them as
        # text (they would be the machine's file paths).
        confusion = (
            _confusion(study, focus, quote=gallery is None) if focus and present.confusion else None
        )
        charts["confusion"] = (
            plots.confusion_chart(confusion["labels"], confusion["matrix"], focus or "")
            if confusion is not None
            else None
        )
        series = []
        for i, plot in enumerate(present.series_plots(study, focus) if focus else []):
            charts[f"series_{i}"] = plots.series_chart(plot, focus or "", present.digits)
            series.append({"chart": f"series_{i}", "series": plot["series"], "mase": plot["mase"]})
        data_summary = present.data_summary(study)
        source = scrub(str(study.dataset.get("source", "your data")))
        return cls(
            title=f"crossover: {study.task} on {source}",
            created_at=study.created_at,
            task=study.task,
            metric=study.headline,
            leaderboard=rows,
            charts=charts,
            learning_summary=list((study.curves or {}).get("summary", [])),
            **decision,
            confusion=confusion,
            data_summary=_data_summary(study) if data_summary is None else data_summary,
            warnings=[scrub(w) for w in study.dataset.get("warnings", [])],
            run=_run_rows(study),
            glossary=_glossary(study.task),
            missing=missing,
            thresholds=_threshold_rows(study),
            threshold_note=_threshold_note(study),
            interval_note=_interval_note(study, present.interval_note),
            timing_note=_timing_note(study),
            is_table=study.spec.get("column_types") is not None,
            buys_labels=present.buys_labels,
            ranking=present.ranking_rows(study),
            ranking_note=present.ranking_note(study),
            ranking_heading=present.ranking_heading,
            digits=present.digits,
            curves_heading=present.curves_heading,
            api=api_rows(study),
            gallery=gallery,
            series=series,
            series_strategy=focus or "",
            lower_is_better=study.lower_better(),
        )


def _leaderboard_rows(study: Study, digits: int) -> list[dict[str, Any]]:
    """The leaderboard's rows: scores as numbers (the templates format them), the rest as text."""
    records = [
        {str(k): v for k, v in r.items()}
        for r in study.leaderboard.astype(object).to_dict("records")
    ]
    return [
        {
            "strategy": str(r["strategy"]),
            "kind": str(r["kind"]),
            "score": float(r["score"]),
            "ci_low": float(r["ci_low"]),
            "ci_high": float(r["ci_high"]),
            "delta": number(r["delta_vs_best"], digits),
            "significant": significance(r["significant"]),
            "fit_s": number(r["fit_s"], 1),
            "p50": latency(r),
            "p95": number(r["latency_p95_ms"], 1),
            "rows_s": number(r["throughput_rows_s"], 0),
            "size_mb": number(r["size_mb"], 1),
        }
        for r in records
    ]


def _timing_note(study: Study) -> str:
    """How the leaderboard's speeds were measured, and which were timed on a busy machine."""
    results = [r for r in study.leaderboard_results if r.timing]
    if not results:
        return ""
    rounds = max(int((r.timing or {}).get("rounds") or 0) for r in results)
    note = (
        f"Speeds on this machine ({study.environment.get('cpu_count') or '?'} cores), caches "
        f"bypassed, in {rounds} rounds: p50 is the median of every one-row call, with the "
        "range of the rounds' medians in brackets; rows/s (and so the cost per prediction) is "
        "the best round's, since other work only slows a round down."
    )
    busy = [r.trial.strategy for r in results if r.timed_busy]
    if busy:
        note += (
            f" * Timed while other processes competed for the cores: {', '.join(busy)}; "
            "their latency and cost per prediction are likely overstated (the load is in "
            "study.json, results[].timing)."
        )
    return note


def _quality_charts(
    study: Study, rows: list[dict[str, Any]], unit: str
) -> tuple[dict[str, str | None], list[str]]:
    """The forest plot, the learning curves (``unit``: what a budget counts) and quality
    against latency; and what is missing, with how to get it (first, a strategy behind an API
    whose calls mostly failed: it is on none of them)."""
    metric = study.headline
    missing: list[str] = [scrub(line) for line in (study.settings.get("failed") or {}).values()]
    n_splits = len(study.split.get("split_ids") or [])
    interval = (
        f"corrected t intervals across {n_splits} splits"
        if study.repeated
        else "bootstrap intervals"
    )
    lower = study.lower_better()
    charts: dict[str, str | None] = {
        "forest": plots.forest_chart(rows, metric, interval, lower_is_better=lower)
    }
    curves = study.curves or {}
    charts["learning_curve"] = plots.learning_curve_chart(
        curves.get("table", []),
        curves.get("labels_needed", []),
        metric,
        n_classes=int(study.dataset.get("classes") or 0),
        unit=unit,
        lower_is_better=lower,
    )
    if charts["learning_curve"] is None:
        missing.append(
            "Learning curves: this study measured one training budget. Run `crossover "
            "compare` without `--budgets full` (the default budgets span the data, from a few "
            "labels per class to the full set) to see how many labels each strategy needs."
        )
    latency = {r.trial.strategy: r for r in study.leaderboard_results}
    names: list[str] = [r["strategy"] for r in rows]
    charts["quality_latency"] = plots.pareto_chart(
        names,
        [r["kind"] for r in rows],
        [float(latency[n].latency_p95_ms) for n in names],
        [r["score"] for r in rows],
        title=f"{metric} against p95 latency (one row, measured)",
        x_title="p95 latency, ms (log)",
        metric=metric,
        log_x=True,
        lower_is_better=lower,
    )
    return charts, missing


def _decision(
    study: Study,
    rows: list[dict[str, Any]],
    pricing: Pricing | None,
    recommendation: Recommendation | None,
    charts: dict[str, str | None],
    missing: list[str],
) -> dict[str, Any]:
    """The verdict, the cost table, break-evens, assumptions and the comparison (fields of
    ``ReportData``); the cost charts go into ``charts``, or ``missing`` says how to get them."""
    metric = study.headline
    if pricing is None or recommendation is None:
        charts["cost"] = charts["quality_cost"] = None
        missing.append(
            "Costs and the recommendation: this report was rendered without a pricing. "
            "Run `crossover report study.json --scenario scenario.yaml` (or `crossover "
            "costs`) to price every candidate and choose one."
        )
        return {
            "verdict": None,
            "cost_rows": [],
            "break_evens": [],
            "assumptions": [],
            "comparison": {},
            "comparison_columns": {},
        }
    names: list[str] = [r["strategy"] for r in rows]
    charts["cost"] = plots.cost_chart(pricing)
    charts["quality_cost"] = plots.pareto_chart(
        names,
        [r["kind"] for r in rows],
        [pricing.sheet(n).monthly_usd for n in names],
        [r["score"] for r in rows],
        title=f"{metric} against cost per month at the scenario volume",
        x_title="US dollars per month (log)",
        metric=metric,
        log_x=True,
        lower_is_better=study.lower_better(),
    )
    break_evens = [b.describe() for b in pricing.break_evens]
    break_evens += [
        f"{o.later} costs more to set up than {o.cheaper_first} but is cheaper "
        f"in total from month {o.month}."
        for o in pricing.overtakes
        if o.month is not None
    ]
    return {
        "verdict": {
            "choice": recommendation.choice,
            "kind": recommendation.kind,
            "reasons": [scrub(r) for r in recommendation.reasons],
            "flips": [scrub(f["text"]) for f in recommendation.flip_points],
            "rule": recommendation.rule,
            "scenario": scrub(pricing.scenario.source),
        },
        "cost_rows": [_cost_row(s) for s in pricing.sheets],
        "break_evens": break_evens,
        "assumptions": [scrub(a) for a in pricing.assumptions],
        "comparison": recommendation.comparison,
        "comparison_columns": recommendation.comparison_strategies,
    }


def _cost_row(s: CostSheet) -> dict[str, Any]:
    return {
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


def _data_summary(study: Study) -> list[tuple[str, str]]:
    """The data section of a labelled table (a task's ``data_summary`` replaces it)."""
    dataset, split = study.dataset, study.split
    return [
        ("source", scrub(str(dataset.get("source", "-")))),
        ("rows", f"{dataset.get('rows', '-'):,}" if dataset.get("rows") else "-"),
        ("classes", str(dataset.get("classes", "-"))),
        (
            "rows per class",
            f"{dataset.get('rows_per_class_min', '-')} to {dataset.get('rows_per_class_max', '-')}",
        ),
        ("imbalance (largest / smallest class)", number(dataset.get("imbalance_ratio"), 1)),
        ("split", scrub(str(split.get("description", "-")))),
        ("train / test rows", f"{split.get('train_rows')} / {split.get('test_rows')}"),
        ("fingerprint", str(dataset.get("fingerprint", "-"))),
    ]


def _run_rows(study: Study) -> list[tuple[str, str]]:
    """How the study was run: the command, the machine, the versions, the seeds."""
    env, settings = study.environment, study.settings
    versions = env.get("versions", {}) or {}
    return [
        ("command", scrub(str(settings.get("command") or "-"))),
        ("created", study.created_at or "-"),
        ("time taken", f"{study.duration_s:.1f} s"),
        ("CPU", f"{env.get('cpu', '-')} ({env.get('cpu_count', '-')} cores)"),
        ("GPU", str(env.get("gpu") or "none")),
        ("memory", f"{env.get('memory_gb', '-')} GiB"),
        ("Python", str(env.get("python", "-"))),
        ("versions", ", ".join(f"{k} {v}" for k, v in versions.items())),
        ("model", str(settings.get("model", "-"))),
        ("seed, resamples", f"{settings.get('seed')}, {settings.get('n_resamples')}"),
        ("data fingerprint", str(study.dataset.get("fingerprint", "-"))),
    ]


def _glossary(task: str) -> list[tuple[str, str]]:
    """The study's columns, the task's metrics and the cost sheet's, by name."""
    from crossover.costs.sheet import COST_GLOSSARY
    from crossover.study import GLOSSARY, task_glossary

    return sorted({**GLOSSARY, **task_glossary(task), **COST_GLOSSARY}.items())


def _interval_note(study: Study, one_split: str) -> str:
    """What the leaderboard's intervals are: ``one_split`` (the task's words) on one test
    set, corrected t intervals across the splits of a repeated study."""
    if not study.repeated:
        return one_split
    n_splits = len(study.split.get("split_ids") or [])
    return (
        f"mean over {n_splits} splits; 95 % corrected resampled t intervals across the "
        "splits (Nadeau & Bengio), which carry the split-to-split spread"
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
                "latency": f"{number(api.get('latency_p50_ms_per_call'), 0)} / "
                f"{number(api.get('latency_p95_ms_per_call'), 0)}",
                "spent": _small_usd(usd_per_prediction * n),
                "price": scrub(str(api.get("price_source", "-"))),
                "examples": "; ".join(scrub(e) for e in api.get("unparseable_examples", [])[:3]),
            }
        )
    return rows


def _threshold_rows(study: Study) -> list[dict[str, str]]:
    rows = sorted(study.thresholds.items(), key=lambda kv: -float(kv[1]["saved"]))
    return [
        {
            "strategy": name,
            "threshold": threshold_text(t["threshold"]),
            "flagged": f"{t['flagged']:,}",
            "caught": f"{t['caught']:,}",
            "loss": number(t["loss"], 0),
            "no_model_loss": number(t["no_model_loss"], 0),
            "saved": number(t["saved"], 0),
            "saved_per_1k": number(t["saved_per_1k_rows"], 0),
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


def _confusion(study: Study, strategy: str, quote: bool = True) -> dict[str, Any] | None:
    """The focus strategy's confusion matrix and its most frequent confusions, each with a
    few test texts quoted (``quote``: False where the report shows the inputs otherwise)."""
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
    texts = study.x_test if quote and len(study.x_test) == len(truth) else []
    top = []
    for (t, p), count in pairs.most_common(_TOP_CONFUSIONS):
        examples = [
            texts[i][:_EXAMPLE_CHARS]
            for i in range(len(truth))
            if texts and truth[i] == t and guess[i] == p
        ][:_EXAMPLES_PER_CONFUSION]
        top.append({"true": t, "predicted": p, "count": count, "examples": examples})
    return {
        "strategy": strategy,
        "labels": labels,
        "matrix": matrix,
        "top": top,
        "quoted": quote,
    }
