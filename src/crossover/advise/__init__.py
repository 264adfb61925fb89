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

from crossover.advise._advice import Advice, CostRange, _num, _plain, scenario_yaml, usd, usd_range
from crossover.advise._assumptions import (
    CALENDAR_PER_ENGINEER_DAY,
    CUSTOM_MIN_LABELS,
    FEW_LABELS,
    HIGH_END_FACTOR,
    HIGH_VOLUME,
    HOURS_PER_MONTH,
    HYBRID_MIN_LABELS,
    INPUT_TOKENS,
    KINDS,
    LABEL_TARGETS,
    OUTPUT_TOKENS,
)
from crossover.advise._costs import (
    _api_monthly,
    _calendar_days,
    _cost_ranges,
    _machines,
    _setup,
)
from crossover.advise._questions import PROBLEMS, QUESTIONS, Answers, Question, parse_answer
from crossover.advise._reasons import (
    _DESCRIPTION,
    _accuracy_reason,
    _and,
    _budget_reason,
    _collect,
    _core_reason,
    _data_reason,
    _deadline_reason,
    _labels_reason,
    _prefer,
    _problem_reason,
    _volume_reason,
)
from crossover.costs import Catalog, Scenario, load_catalog

__all__ = [
    "CALENDAR_PER_ENGINEER_DAY",
    "CUSTOM_MIN_LABELS",
    "FEW_LABELS",
    "HIGH_END_FACTOR",
    "HIGH_VOLUME",
    "HOURS_PER_MONTH",
    "HYBRID_MIN_LABELS",
    "INPUT_TOKENS",
    "KINDS",
    "LABEL_TARGETS",
    "OUTPUT_TOKENS",
    "PROBLEMS",
    "QUESTIONS",
    "Advice",
    "Answers",
    "CostRange",
    "Question",
    "advise",
    "parse_answer",
    "scenario_yaml",
    "usd",
    "usd_range",
]


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
