"""The choice of ``advise`` and its reasons: one sentence per answer, and what to collect."""

from __future__ import annotations

from crossover.advise._advice import _num, usd, usd_range
from crossover.advise._assumptions import (
    CUSTOM_MIN_LABELS,
    FEW_LABELS,
    HIGH_VOLUME,
    HYBRID_MIN_LABELS,
    KINDS,
    LABEL_TARGETS,
)
from crossover.advise._costs import _Setup
from crossover.advise._questions import Answers
from crossover.costs import Catalog, Scenario

__all__: list[str] = []


_DESCRIPTION = {
    "pretrained": "a pre-trained model used as it is (no training on your data)",
    "hybrid": "a pre-trained model adapted with your labelled examples (e.g. a trained head "
    "on a pre-trained encoder)",
    "custom": "a model trained from scratch on your own data",
}


def _prefer(answers: Answers, possible: set[str]) -> str:
    wants_ownership = answers.accuracy_critical or answers.ai_is_core_product
    if (
        "custom" in possible
        and answers.labelled_examples >= CUSTOM_MIN_LABELS
        and wants_ownership
        and answers.monthly_volume >= HIGH_VOLUME
    ):
        return "custom"
    if "hybrid" in possible and (answers.problem == "domain" or wants_ownership):
        return "hybrid"
    return "pretrained"


def _and(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def _setup_breakdown(kind: str, setup: _Setup, catalog: Catalog) -> str:
    return (
        f"{kind} from {usd(setup.usd[0])}: {_num(setup.days[0])} engineer days at "
        f"{usd(catalog.engineer_usd_per_day)} plus {setup.labels[0]:,} labels at "
        f"{usd(catalog.usd_per_label)}"
    )


def _problem_reason(a: Answers) -> str:
    if a.problem == "domain":
        return (
            "Your problem is domain-specific: a pre-trained model used as it is knows general "
            "language, not your categories, so adapting one with your examples (hybrid) or "
            "training on them (custom) usually beats it."
        )
    return (
        "Your problem is a general one (like translation, transcription or chat): pre-trained "
        "models are trained for exactly this, so training your own rarely pays."
    )


def _labels_reason(a: Answers) -> str:
    n = a.labelled_examples
    have = f"You have {n:,} labelled example{'s' if n != 1 else ''}"
    if n < HYBRID_MIN_LABELS:
        return (
            f"{have}: too few to train anything yet; a pre-trained model needs none, a hybrid "
            f"about {HYBRID_MIN_LABELS:,} (8-16 per class plus a test set), a custom model "
            f"thousands."
        )
    if n < FEW_LABELS:
        return (
            f"{have}: too few to train a model from scratch (custom models usually need "
            "thousands), enough for a head on a pre-trained encoder."
        )
    if n < CUSTOM_MIN_LABELS:
        return (
            f"{have}: enough for a hybrid and a first custom baseline, below the "
            f"~{CUSTOM_MIN_LABELS:,} from which a custom model usually catches up with a hybrid."
        )
    return f"{have}: enough to train a custom model from scratch."


def _deadline_reason(a: Answers, calendar: dict[str, int], defaults: Scenario) -> str:
    head = f"You need it in production within {_num(a.ship_within_days)} days"

    def needs(kind: str) -> str:
        days = _num(defaults.engineering.setup_days.of(kind))
        return f"{calendar[kind]} calendar days for {kind} ({days} engineer days)"

    if calendar["pretrained"] > a.ship_within_days:
        return (
            f"{head}: even a pre-trained model needs about {calendar['pretrained']} calendar "
            "days of setup at the Scenario default, so start with it and plan for slippage."
        )
    late = [k for k in ("hybrid", "custom") if calendar[k] > a.ship_within_days]
    if late:
        fits = [k for k in KINDS if k not in late]
        return (
            f"{head}: setup takes about {_and([needs(k) for k in late])} at the Scenario "
            f"defaults, too long, so only {_and(fits)} fit{'s' if len(fits) == 1 else ''}."
        )
    return (
        f"{head}: every option fits (setup takes about {_and([needs(k) for k in KINDS])} "
        "at the Scenario defaults)."
    )


def _budget_reason(a: Answers, setups: dict[str, _Setup], catalog: Catalog) -> str:
    head = f"Your up-front budget of {usd(a.upfront_budget_usd)}"
    if setups["pretrained"].usd[0] > a.upfront_budget_usd:
        return (
            f"{head} is below even the cheapest setup "
            f"({_setup_breakdown('pretrained', setups['pretrained'], catalog)}); a pre-trained "
            f"model is still the cheapest start, but plan for at least "
            f"{usd(setups['pretrained'].usd[0])}."
        )
    short = [k for k in ("hybrid", "custom") if setups[k].usd[0] > a.upfront_budget_usd]
    if short:
        details = "; ".join(_setup_breakdown(k, setups[k], catalog) for k in short)
        return f"{head} rules out {_and(short)} ({details})."
    lows = _and([f"{k} from {usd(setups[k].usd[0])}" for k in KINDS])
    return f"{head} covers the low end of every option's setup ({lows})."


def _accuracy_reason(a: Answers) -> str:
    if a.accuracy_critical:
        return (
            "Accuracy is critical or regulated: trust only quality measured on your own "
            "labelled test set; a model adapted to your data (hybrid or custom) is usually more "
            "accurate in your domain and stays under your control for audits."
        )
    return (
        "Accuracy is not critical or regulated: good-enough quality is acceptable, which "
        "favours the cheapest option that reaches it."
    )


def _core_reason(a: Answers) -> str:
    if a.ai_is_core_product:
        return (
            "AI is your core product: owning and improving the model is worth its setup, and "
            "competitors cannot buy the same model off the shelf."
        )
    return (
        "AI is not your core product: buy before you build, and own a model only where your "
        "data makes it clearly better."
    )


def _volume_reason(
    a: Answers, api_low: float, api_high: float, cpu_name: str, cpu_monthly: float
) -> str:
    head = (
        f"At {a.monthly_volume:,.0f} predictions a month, a pre-trained model behind an API "
        f"costs about {usd_range(api_low, api_high)} a month in tokens (cheapest to priciest "
        f"catalog chat model), against {usd(cpu_monthly)} for one {cpu_name} running 24/7"
    )
    if a.monthly_volume >= HIGH_VOLUME:
        return (
            f"{head}; that is at or above the ~{HIGH_VOLUME:,} a month from which a custom "
            "model's extra setup usually pays back."
        )
    return (
        f"{head}; that is below the ~{HIGH_VOLUME:,} a month from which a custom model's "
        "extra setup usually pays back."
    )


def _data_reason(a: Answers, choice: str, api_is_cheaper: bool) -> str:
    if not a.data_may_leave:
        return (
            "Your data may not leave the premises: no external API may see it, so every "
            "option, the pre-trained one included, runs on your own machines."
        )
    if choice != "pretrained":
        return (
            "Your data may leave the premises: a pay-per-token API is allowed, though the "
            f"recommended {choice} model runs on your own machines."
        )
    if api_is_cheaper:
        return (
            "Your data may leave the premises: a pay-per-token API is allowed, and at your "
            "volume the cheapest one costs less than a machine of your own."
        )
    return (
        "Your data may leave the premises, so an API is allowed, but at your volume even the "
        "cheapest one costs more than a machine of your own: host an open model yourself."
    )


def _collect(a: Answers, choice: str, setup: _Setup, catalog: Catalog) -> list[str]:
    n = a.labelled_examples
    if choice == "pretrained":
        labels = (
            "Label a held-out test set of at least 30 examples per class to check the "
            f"pre-trained model before trusting it (you have {n:,} labelled examples)."
        )
    elif choice == "hybrid":
        labels = (
            "Label at least 8-16 examples per class to train on, plus a held-out test set of "
            f"at least 30 per class (you have {n:,} labelled examples)."
        )
    else:
        labels = (
            f"Keep all {n:,} labelled examples, and hold out at least 30 per class (or 10 %) as "
            "a test set that no model trains on."
        )
    items = [labels]
    if setup.labels[0]:
        items.append(
            f"Label about {setup.labels[0]:,} more examples (about "
            f"{usd(setup.labels[0] * catalog.usd_per_label)} at the catalog's "
            f"{usd(catalog.usd_per_label)} a label) to reach the {LABEL_TARGETS[choice][0]:,} "
            f"a {choice} model needs."
        )
    items.append(
        "Export texts and labels as one CSV with a `text` and a `label` column, one row per "
        "example (tickets.csv in the command below)."
    )
    items.append(
        "Write a one-line description of each label (YAML, label: description) for the "
        "zero-shot pre-trained candidate: `--label-descriptions labels.yaml`."
    )
    if a.accuracy_critical:
        items.append(
            "Have an expert label or double-check the test set, and agree on the minimum "
            "acceptable score (constraints.min_metric in scenario.yaml) before looking at "
            "results."
        )
    items.append(
        "Save your answers as scenario.yaml (below) so that `compare` prices every candidate "
        "at your volume, deadline and data constraint."
    )
    return items
