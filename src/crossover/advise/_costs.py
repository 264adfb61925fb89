"""The cost ranges of ``advise``: setup (engineer days, labels to buy) and monthly cost of each
option, from the price catalog and the Scenario defaults (the package docstring lists the
assumptions)."""

from __future__ import annotations

import math
from dataclasses import dataclass

from crossover.advise._advice import CostRange, _num, usd
from crossover.advise._assumptions import (
    CALENDAR_PER_ENGINEER_DAY,
    HIGH_END_FACTOR,
    HOURS_PER_MONTH,
    INPUT_TOKENS,
    LABEL_TARGETS,
    OUTPUT_TOKENS,
)
from crossover.advise._questions import Answers
from crossover.costs import ApiPrice, Catalog, HardwarePrice, Scenario
from crossover.errors import ConfigError

__all__: list[str] = []


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
