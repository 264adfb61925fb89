"""Advice before there is any data: eight answers in, pretrained, custom or hybrid out.

``advise(answers)`` is pure: no prompts, no printing. It returns an :class:`Advice` with the
choice, one reason per answer (each naming the answer and its value), cost ranges computed
from the dated price catalog, and what to collect to run ``crossover compare`` next. Every
figure is an estimate from stated assumptions; ``compare`` replaces them with measurements.

The decision rule
-----------------
Two filters first. A kind stays possible only if

* **deadline** -- its setup fits within ``ship_within_days``: the Scenario default engineer
  days for the kind (``Scenario().engineering.setup_days``: pretrained 3, hybrid 8, custom 10)
  converted to calendar days (x 7/5, rounded up);
* **budget** -- the low end of its setup cost (engineer days x day rate + labels still to buy x
  label price, see below) is at most ``upfront_budget_usd``. A tiny budget thus rules out
  buying labels, and with them the kinds that need them.

``pretrained`` always stays possible: it is the fallback when nothing else fits. Then, first
match wins:

1. **custom** if possible, ``labelled_examples >= 5,000``, ``accuracy_critical`` or
   ``ai_is_core_product``, and ``monthly_volume >= 1,000,000``;
2. **hybrid** if possible and the problem is ``domain``-specific, or ``accuracy_critical``, or
   ``ai_is_core_product``;
3. **pretrained** otherwise (a general problem, no critical accuracy, AI not the product).

Serving: hybrid and custom run on your own machines. A pre-trained model runs behind an
external API when ``data_may_leave`` and the cheapest catalog chat model at the short-prompt
end costs no more a month than one CPU machine 24/7; otherwise it is self-hosted. When data
may not leave, no external API is ever proposed.

Cost assumptions
----------------
* Setup: the Scenario default engineer days for the kind (low) up to twice that (high: a
  first attempt), x the catalog day rate; plus labels to buy = target - labelled examples you
  have (never below 0), x the catalog label price. Label targets per kind (low, high):
  pretrained (0, 300: a test set to check it), hybrid (100, 1,000), custom (5,000, 20,000).
  Training compute is left out (small next to engineering at these sizes).
* Monthly: maintenance (Scenario default days a month, up to twice that) x day rate, plus
  serving. API: volume x (100-500 input, 5-20 output tokens a prediction) x the cheapest to
  the priciest catalog chat model. Self-hosted: one machine 24/7 (730 h), from the Scenario's
  default serving machine (a CPU) up to the cheapest GPU machine in the catalog; ``compare``
  measures the throughput that says how many machines your volume needs.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field, fields
from typing import Any

from crossover.costs import ApiPrice, Catalog, HardwarePrice, Scenario, load_catalog
from crossover.errors import ConfigError

__all__ = [
    "KINDS",
    "QUESTIONS",
    "Advice",
    "Answers",
    "CostRange",
    "Question",
    "advise",
    "parse_answer",
]

KINDS = ("pretrained", "hybrid", "custom")
PROBLEMS = ("general", "domain")

HYBRID_MIN_LABELS = 100  # 8-16 per class for a handful of classes, plus a small test set
FEW_LABELS = 1_000  # below this, too few to train a model from scratch
CUSTOM_MIN_LABELS = 5_000  # "several thousand": where custom models usually catch up
HIGH_VOLUME = 1_000_000  # predictions a month from which owning a model usually pays back
LABEL_TARGETS = {  # labelled examples a kind needs, (low, high)
    "pretrained": (0, 300),  # none to train; a test set to check it
    "hybrid": (HYBRID_MIN_LABELS, FEW_LABELS),
    "custom": (CUSTOM_MIN_LABELS, 20_000),
}
HIGH_END_FACTOR = 2.0  # the high end of engineering days: a first attempt takes about twice
CALENDAR_PER_ENGINEER_DAY = 7 / 5
HOURS_PER_MONTH = 730
INPUT_TOKENS = (100, 500)
OUTPUT_TOKENS = (5, 20)


@dataclass(frozen=True)
class Question:
    """One question of the questionnaire: the answer's name, its CLI flag, the prompt."""

    name: str
    flag: str
    prompt: str
    kind: str  # "choice" | "count" | "number" | "positive" | "bool"
    allowed: str


QUESTIONS: tuple[Question, ...] = (
    Question(
        "problem",
        "--problem",
        "Is the problem general (translation, transcription, chat) or domain-specific? "
        "[general/domain]",
        "choice",
        "general or domain",
    ),
    Question(
        "labelled_examples",
        "--labelled",
        "How many labelled examples do you have?",
        "count",
        "a whole number >= 0",
    ),
    Question(
        "ship_within_days",
        "--ship-within-days",
        "Within how many calendar days must it be in production?",
        "positive",
        "a number of days > 0",
    ),
    Question(
        "upfront_budget_usd",
        "--budget",
        "Up-front budget in USD (engineering and labels)?",
        "number",
        "a number of USD >= 0",
    ),
    Question(
        "accuracy_critical",
        "--accuracy-critical/--no-accuracy-critical",
        "Is accuracy critical or regulated?",
        "bool",
        "yes or no",
    ),
    Question(
        "ai_is_core_product",
        "--core-product/--no-core-product",
        "Is AI the core of your product?",
        "bool",
        "yes or no",
    ),
    Question(
        "monthly_volume",
        "--volume",
        "Expected predictions per month?",
        "number",
        "a number of predictions >= 0",
    ),
    Question(
        "data_may_leave",
        "--data-may-leave/--on-premises",
        "May the data leave your premises (be sent to an external API)?",
        "bool",
        "yes or no",
    ),
)
_BY_NAME = {q.name: q for q in QUESTIONS}
_TRUE = {"true", "yes", "y", "1", "on"}
_FALSE = {"false", "no", "n", "0", "off"}


def parse_answer(name: str, value: Any) -> Any:
    """``value`` as the answer ``name`` expects, or a ConfigError naming the answer and flag.

    Strings are accepted for every answer (prompts and files give strings): numbers may carry
    ``,`` or ``_`` separators or be written ``1e6``; booleans are yes/no/true/false/y/n/1/0.
    """
    question = _BY_NAME.get(name)
    if question is None:
        known = ", ".join(_BY_NAME)
        raise ConfigError(f"unknown answer {name!r}; the answers are {known}")

    def bad(why: str = "") -> ConfigError:
        return ConfigError(
            f"{name} ({question.flag}): expected {question.allowed}{why}, got {value!r}"
        )

    if question.kind == "choice":
        text = str(value).strip().lower()
        text = "domain" if text == "domain-specific" else text
        if text not in PROBLEMS:
            raise bad()
        return text
    if question.kind == "bool":
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower()
        if text in _TRUE:
            return True
        if text in _FALSE:
            return False
        raise bad()
    if isinstance(value, bool):
        raise bad()
    try:
        number = float(str(value).strip().replace(",", "").replace("_", ""))
    except ValueError:
        raise bad() from None
    if not math.isfinite(number):
        raise bad()
    if question.kind == "count":
        if number < 0 or number != int(number):
            raise bad()
        return int(number)
    if number < 0 or (question.kind == "positive" and number == 0):
        raise bad()
    return number


@dataclass(frozen=True)
class Answers:
    """The questionnaire's eight answers; any bad value is a ConfigError naming the answer.

    Parameters
    ----------
    problem : {"general", "domain"}
        General (translation, transcription, chat) or specific to your domain.
    labelled_examples : int
        Labelled examples you already have, >= 0.
    ship_within_days : float
        Calendar days until it must be in production, > 0.
    upfront_budget_usd : float
        Money for engineering and labels before launch, >= 0.
    accuracy_critical : bool
        Accuracy is critical or regulated.
    ai_is_core_product : bool
        AI is the core of the product (not a side feature).
    monthly_volume : float
        Expected predictions a month, >= 0.
    data_may_leave : bool
        The data may be sent to an external API.
    """

    problem: str
    labelled_examples: int
    ship_within_days: float
    upfront_budget_usd: float
    accuracy_critical: bool
    ai_is_core_product: bool
    monthly_volume: float
    data_may_leave: bool

    def __post_init__(self) -> None:
        for f in fields(self):
            object.__setattr__(self, f.name, parse_answer(f.name, getattr(self, f.name)))

    @classmethod
    def from_dict(cls, data: dict[str, Any], *, where: str = "answers") -> Answers:
        """Answers from a mapping with the field names; unknown or missing names are errors."""
        if not isinstance(data, dict):
            raise ConfigError(f"{where}: expected a mapping of answers, got {data!r}")
        unknown = sorted(set(data) - set(_BY_NAME))
        if unknown:
            raise ConfigError(
                f"{where}: unknown answer(s) {', '.join(unknown)}; the answers are "
                + ", ".join(_BY_NAME)
            )
        missing = [q for q in QUESTIONS if data.get(q.name) is None]
        if missing:
            names = ", ".join(f"{q.name} ({q.flag})" for q in missing)
            raise ConfigError(f"{where}: missing answer(s) {names}")
        try:
            return cls(**data)
        except ConfigError as exc:
            raise ConfigError(f"{where}: {exc}") from None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class CostRange:
    """Setup and monthly cost of one option, low to high, with what it assumed and cited."""

    option: str
    kind: str
    serving: str  # "api" | "self-hosted"
    allowed: bool  # False: an external API while the data may not leave
    setup_days_low: float
    setup_days_high: float
    labels_to_buy_low: int
    labels_to_buy_high: int
    setup_usd_low: float
    setup_usd_high: float
    monthly_usd_low: float
    monthly_usd_high: float
    assumptions: list[str]
    sources: list[str]


@dataclass(frozen=True)
class Advice:
    """The choice, its reasons, the cost ranges and what to collect; plain data."""

    choice: str
    serving: str
    summary: str
    reasons: list[str]
    cost_ranges: list[CostRange]
    collect: list[str]
    compare_command: str
    scenario: dict[str, Any]
    answers: Answers
    catalog_as_of: str = field(default="")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def to_markdown(self) -> str:
        """The advice as a Markdown document (the CLI prints the same content with rich)."""
        volume = f"{self.answers.monthly_volume:,.0f}"
        lines = [f"# Advice: {self.choice} ({self.serving})", "", self.summary, "", "## Why", ""]
        lines += [f"- {reason}" for reason in self.reasons]
        lines += [
            "",
            f"## Cost ranges (estimates; price catalog of {self.catalog_as_of})",
            "",
            f"| option | setup | monthly at {volume} predictions |",
            "|---|---:|---:|",
        ]
        for c in self.cost_ranges:
            name = c.option if c.allowed else f"{c.option} (ruled out: data may not leave)"
            lines.append(
                f"| {name} | {usd_range(c.setup_usd_low, c.setup_usd_high)} "
                f"| {usd_range(c.monthly_usd_low, c.monthly_usd_high)} |"
            )
        for c in self.cost_ranges:
            lines += ["", f"**{c.option}**", ""]
            lines += [f"- {a}" for a in c.assumptions]
            lines += [f"- source: {s}" for s in c.sources]
        lines += ["", "## What to collect before `crossover compare`", ""]
        lines += [f"{i}. {item}" for i, item in enumerate(self.collect, 1)]
        lines += ["", "```", self.compare_command, "```", "", "scenario.yaml:", "", "```yaml"]
        lines += [scenario_yaml(self.scenario).rstrip(), "```", ""]
        return "\n".join(lines)


def usd(value: float) -> str:
    """Dollars, with cents only below $100."""
    return f"${value:,.2f}" if value < 100 else f"${value:,.0f}"


def usd_range(low: float, high: float) -> str:
    return f"{usd(low)}–{usd(high)}"


def scenario_yaml(scenario: dict[str, Any]) -> str:
    import yaml

    return yaml.safe_dump(scenario, sort_keys=False)


def _plain(value: float) -> float | int:
    """Whole numbers as ints, so that the suggested YAML reads 500000, not 500000.0."""
    return int(value) if value == int(value) else value


def _num(value: float) -> str:
    return f"{value:,.0f}" if value == int(value) else f"{value:,.1f}"


# -- costs -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Setup:
    days: tuple[float, float]
    labels: tuple[int, int]
    usd: tuple[float, float]


def _setup(kind: str, answers: Answers, catalog: Catalog, defaults: Scenario) -> _Setup:
    days = defaults.engineering.setup_days.of(kind)
    days_range = (days, days * HIGH_END_FACTOR)
    low_target, high_target = LABEL_TARGETS[kind]
    labels = (
        max(0, low_target - answers.labelled_examples),
        max(0, high_target - answers.labelled_examples),
    )
    usd_range_ = (
        days_range[0] * catalog.engineer_usd_per_day + labels[0] * catalog.usd_per_label,
        days_range[1] * catalog.engineer_usd_per_day + labels[1] * catalog.usd_per_label,
    )
    return _Setup(days_range, labels, usd_range_)


def _calendar_days(kind: str, defaults: Scenario) -> int:
    return math.ceil(defaults.engineering.setup_days.of(kind) * CALENDAR_PER_ENGINEER_DAY)


def _api_monthly(volume: float, catalog: Catalog) -> tuple[float, float, str, str]:
    """Token cost a month: (low, high, cheapest model, priciest model) over the chat models."""
    chat = [p for p in catalog.api.values() if p.mode == "chat"]
    if not chat:
        raise ConfigError(f"{catalog.path or 'catalog'}: no chat model under api: to price")

    def per_prediction(price: ApiPrice, tokens_in: int, tokens_out: int) -> float:
        cost = tokens_in * price.input_usd_per_mtok + tokens_out * price.output_usd_per_mtok
        return cost / 1e6

    cheapest = min(chat, key=lambda p: per_prediction(p, INPUT_TOKENS[0], OUTPUT_TOKENS[0]))
    priciest = max(chat, key=lambda p: per_prediction(p, INPUT_TOKENS[1], OUTPUT_TOKENS[1]))
    low = volume * per_prediction(cheapest, INPUT_TOKENS[0], OUTPUT_TOKENS[0])
    high = volume * per_prediction(priciest, INPUT_TOKENS[1], OUTPUT_TOKENS[1])
    return low, high, cheapest.model, priciest.model


def _machines(catalog: Catalog, defaults: Scenario) -> tuple[HardwarePrice, HardwarePrice]:
    cpu = catalog.machine(defaults.hardware.serving)
    gpus = [m for m in catalog.hardware.values() if m.gpu]
    gpu = min(gpus, key=lambda m: m.usd_per_hour) if gpus else cpu
    return cpu, gpu


def _cost_ranges(answers: Answers, catalog: Catalog, defaults: Scenario) -> list[CostRange]:
    rate = catalog.engineer_usd_per_day
    cpu, gpu = _machines(catalog, defaults)
    api_low, api_high, cheapest, priciest = _api_monthly(answers.monthly_volume, catalog)
    volume = f"{answers.monthly_volume:,.0f}"
    ranges = []
    for kind, serving in (
        ("pretrained", "api"),
        ("pretrained", "self-hosted"),
        ("hybrid", "self-hosted"),
        ("custom", "self-hosted"),
    ):
        setup = _setup(kind, answers, catalog, defaults)
        maintenance = defaults.engineering.maintenance_days_per_month.of(kind)
        upkeep = (maintenance * rate, maintenance * HIGH_END_FACTOR * rate)
        assumptions = [
            f"setup: {_num(setup.days[0])}-{_num(setup.days[1])} engineer days (the Scenario "
            f"default for {kind}, up to {_num(HIGH_END_FACTOR)}x for a first attempt) at "
            f"{usd(rate)} a day, plus {setup.labels[0]:,}-{setup.labels[1]:,} labels to buy "
            f"at {usd(catalog.usd_per_label)} each (target {LABEL_TARGETS[kind][0]:,}-"
            f"{LABEL_TARGETS[kind][1]:,} labelled examples, you have "
            f"{answers.labelled_examples:,}); training compute not included",
            f"maintenance: {_num(maintenance)}-{_num(maintenance * HIGH_END_FACTOR)} engineer "
            f"days a month at {usd(rate)} a day",
        ]
        sources = [
            f"engineering, catalog {catalog.as_of}: {catalog.engineering_source}",
            f"labels, catalog {catalog.as_of}: {catalog.labels_source}",
        ]
        if serving == "api":
            serve = (api_low, api_high)
            option = "pretrained (API)"
            assumptions.append(
                f"serving: {volume} predictions a month x {INPUT_TOKENS[0]}-{INPUT_TOKENS[1]} "
                f"input and {OUTPUT_TOKENS[0]}-{OUTPUT_TOKENS[1]} output tokens each, at "
                f"{cheapest} (cheapest catalog chat model) up to {priciest} (priciest)"
            )
            sources += [
                f"{m}, catalog {catalog.as_of}: {catalog.api[m].source}"
                for m in (cheapest, priciest)
            ]
        else:
            serve = (cpu.usd_per_hour * HOURS_PER_MONTH, gpu.usd_per_hour * HOURS_PER_MONTH)
            option = "pretrained (self-hosted)" if kind == "pretrained" else kind
            assumptions.append(
                f"serving: one machine 24/7 ({HOURS_PER_MONTH} h a month), {cpu.name} at "
                f"{usd(cpu.usd_per_hour)}/h up to {gpu.name} ({gpu.gpu or 'no GPU'}) at "
                f"{usd(gpu.usd_per_hour)}/h; `crossover compare` measures the throughput "
                "that says how many your volume needs"
            )
            sources += [
                f"{m.name}, catalog {catalog.as_of}: {m.source}" for m in dict.fromkeys((cpu, gpu))
            ]
        ranges.append(
            CostRange(
                option=option,
                kind=kind,
                serving=serving,
                allowed=serving != "api" or answers.data_may_leave,
                setup_days_low=setup.days[0],
                setup_days_high=setup.days[1],
                labels_to_buy_low=setup.labels[0],
                labels_to_buy_high=setup.labels[1],
                setup_usd_low=setup.usd[0],
                setup_usd_high=setup.usd[1],
                monthly_usd_low=upkeep[0] + serve[0],
                monthly_usd_high=upkeep[1] + serve[1],
                assumptions=assumptions,
                sources=sources,
            )
        )
    return ranges


# -- the decision and its reasons --------------------------------------------------------------

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


def advise(answers: Answers, catalog: Catalog | None = None) -> Advice:
    """The advice for ``answers``, priced with ``catalog`` (the packaged one by default).

    Deterministic: the same answers and catalog give the same advice. The rule is in the
    module docstring.
    """
    catalog = catalog if catalog is not None else load_catalog()
    defaults = Scenario()
    a = answers
    setups = {k: _setup(k, a, catalog, defaults) for k in KINDS}
    calendar = {k: _calendar_days(k, defaults) for k in KINDS}
    on_time = {k for k in KINDS if calendar[k] <= a.ship_within_days}
    affordable = {k for k in KINDS if setups[k].usd[0] <= a.upfront_budget_usd}
    possible = {"pretrained"} | (on_time & affordable)
    choice = _prefer(a, possible)
    ideal = _prefer(a, set(KINDS))

    cpu, _ = _machines(catalog, defaults)
    cpu_monthly = cpu.usd_per_hour * HOURS_PER_MONTH
    api_low, api_high, _, _ = _api_monthly(a.monthly_volume, catalog)
    api_is_cheaper = api_low <= cpu_monthly
    serving = (
        "api" if choice == "pretrained" and a.data_may_leave and api_is_cheaper else "self-hosted"
    )

    reasons = [
        _problem_reason(a),
        _labels_reason(a),
        _deadline_reason(a, calendar, defaults),
        _budget_reason(a, setups, catalog),
        _accuracy_reason(a),
        _core_reason(a),
        _volume_reason(a, api_low, api_high, cpu.name, cpu_monthly),
        _data_reason(a, choice, api_is_cheaper),
    ]
    where = "behind an external API" if serving == "api" else "on your own machines"
    summary = f"Start with {_DESCRIPTION[choice]}, {where}."
    if ideal != choice:
        blockers = []
        if ideal not in on_time:
            blockers.append(f"the {_num(a.ship_within_days)}-day deadline")
        if ideal not in affordable:
            blockers.append(f"the {usd(a.upfront_budget_usd)} up-front budget")
        summary += (
            f" A {ideal} model would suit your answers better, but {_and(blockers)} "
            f"rule{'s' if len(blockers) == 1 else ''} it out for now."
        )

    scenario = {
        "volume": {"predictions_per_month": _plain(a.monthly_volume)},
        "constraints": {
            "on_premises": not a.data_may_leave,
            "deadline_days": _plain(a.ship_within_days),
        },
    }
    Scenario.from_dict(scenario, where="advise")  # what we suggest must load
    compare_command = (
        "crossover compare tickets.csv --text text --label label --scenario scenario.yaml"
    )
    return Advice(
        choice=choice,
        serving=serving,
        summary=summary,
        reasons=reasons,
        cost_ranges=_cost_ranges(a, catalog, defaults),
        collect=_collect(a, choice, setups[choice], catalog),
        compare_command=compare_command,
        scenario=scenario,
        answers=a,
        catalog_as_of=catalog.as_of,
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
