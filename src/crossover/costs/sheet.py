"""Cost sheets: what each candidate of a study costs to build and to run under a scenario.

Every figure comes from a measurement in the study (fit seconds, batch throughput, tokens per
prediction), a dated catalog price, or a scenario assumption; each sheet's ``notes`` say which.

The monthly cost of a candidate at ``V`` predictions a month is

    serving(V) + retraining + maintenance

- self-hosted: ``serving(V) = price_per_hour * max(min_instances * 730, V * hours_per_prediction)``
  (the instance hours the volume needs at the measured throughput, scaled to the serving
  machine's vCPUs and divided by the utilisation, and never fewer than the always-on floor;
  fractional instances, i.e. perfect autoscaling, are assumed);
- API: ``serving(V) = V * (input tokens * input price + output tokens * output price)``;
- retraining: the training compute cost once every ``retraining.every_months`` (trained
  candidates only); maintenance: engineer days a month by kind * day rate.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from itertools import combinations, pairwise
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from crossover.costs.catalog import ApiPrice, Catalog, HardwarePrice, load_catalog
from crossover.costs.scenario import Scenario
from crossover.errors import ConfigError

if TYPE_CHECKING:
    from crossover.evaluation.trials import TrialResult
    from crossover.study import Study

__all__ = [
    "HOURS_PER_MONTH",
    "BreakEven",
    "CostSheet",
    "Overtake",
    "Pricing",
    "break_even_volumes",
    "price",
]

HOURS_PER_MONTH = 730.0
_MIN_BILLED_S = 60.0  # EC2 on-demand Linux: per-second billing, 60-second minimum


@dataclass
class CostSheet:
    """What one candidate costs; ``_usd`` figures are US dollars, volumes are predictions."""

    strategy: str
    kind: str
    hosting: str  # "self-hosted" or "api"
    serving_machine: str  # the catalog machine, or the API model
    score: float
    ci_low: float
    ci_high: float
    latency_p95_ms: float
    # setup
    train_hours: float
    train_usd: float
    labels_needed: int | None
    labels_to_buy: int
    labels_usd: float
    engineering_days: float
    engineering_usd: float
    setup_usd: float
    # running
    usd_per_million: float  # volume-proportional serving cost per 1M predictions
    fixed_serving_usd_per_month: float  # the always-on floor (self-hosted)
    retraining_usd_per_month: float
    maintenance_usd_per_month: float
    monthly_usd: float  # at the scenario volume, month 1
    horizon_usd: float  # setup + every month of the horizon, with growth
    days_to_production: float
    notes: list[str] = field(default_factory=list)

    def monthly_at(self, volume: float) -> float:
        """Monthly cost at ``volume`` predictions a month."""
        serving = max(self.fixed_serving_usd_per_month, volume / 1e6 * self.usd_per_million)
        return serving + self.retraining_usd_per_month + self.maintenance_usd_per_month

    def instances_at(self, volume: float, usd_per_hour: float) -> float:
        """Average instances running at ``volume`` (self-hosted; 0 for an API)."""
        if self.hosting == "api" or usd_per_hour <= 0:
            return 0.0
        serving = max(self.fixed_serving_usd_per_month, volume / 1e6 * self.usd_per_million)
        return serving / (HOURS_PER_MONTH * usd_per_hour)

    def cumulative(self, volumes: list[float]) -> np.ndarray:
        """Setup plus the running cost up to and including each month of ``volumes``."""
        monthly = np.array([self.monthly_at(v) for v in volumes])
        return self.setup_usd + np.cumsum(monthly)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CostSheet:
        return cls(**data)


@dataclass(frozen=True)
class BreakEven:
    """Where two monthly running-cost lines cross (serving + retraining + maintenance a month;
    setup is not in them): ``volumes`` holds the volumes where the cheaper one changes (empty:
    never, for V >= 0). Lines that are equal up to a volume and then part (both at their
    always-on floor) do not cross there: ``equal_up_to`` holds that volume."""

    a: str
    b: str
    volumes: list[float]
    cheaper_below: str | None  # the cheaper candidate at volumes under the first crossing
    cheaper_above: str | None
    equal_up_to: float | None = None

    def describe(self) -> str:
        """One sentence: what is compared, where the lines cross, which is cheaper where."""
        what = f"the monthly running costs (setup not included) of {self.a} and {self.b}"
        if self.volumes:
            where = ", ".join(f"{v:,.0f}" for v in self.volumes)
            below = self.cheaper_below or "neither"
            return (
                f"{what[0].upper()}{what[1:]} are equal at {where} predictions a month; "
                f"{below} is cheaper below, {self.cheaper_above} above."
            )
        if self.equal_up_to is not None and self.cheaper_above:
            return (
                f"{what[0].upper()}{what[1:]} are equal up to {self.equal_up_to:,.0f} "
                f"predictions a month (their fixed costs are the same); above, "
                f"{self.cheaper_above} is cheaper."
            )
        cheaper = self.cheaper_below
        return f"{what[0].upper()}{what[1:]} never cross: " + (
            f"{cheaper} is cheaper at every volume." if cheaper else "they are the same."
        )

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Overtake:
    """The first month at which ``later`` (dearer to set up) becomes cheaper in total."""

    cheaper_first: str
    later: str
    month: int | None  # None: not within the horizon

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Pricing:
    """Every candidate's sheet, the pairwise break-evens and overtakes, and what was assumed."""

    sheets: list[CostSheet]
    break_evens: list[BreakEven]
    overtakes: list[Overtake]
    scenario: Scenario
    catalog_as_of: str
    assumptions: list[str]
    serving_usd_per_hour: float = 0.0

    def horizon_volumes(self, volume: float | None = None) -> list[float]:
        """Monthly volumes over the horizon, starting at ``volume`` (the scenario's by default)."""
        start = self.scenario.volume.predictions_per_month if volume is None else volume
        growth = self.scenario.volume.growth_per_month
        return [start * (1 + growth) ** m for m in range(self.scenario.horizon_months)]

    def horizon_usd(self, strategy: str, volume: float | None = None) -> float:
        return float(self.sheet(strategy).cumulative(self.horizon_volumes(volume))[-1])

    def sheet(self, strategy: str) -> CostSheet:
        return next(s for s in self.sheets if s.strategy == strategy)

    def table(self) -> pd.DataFrame:
        """One row per candidate: the columns of COST_COLUMNS."""
        return pd.DataFrame([{c: getattr(s, c) for c in COST_COLUMNS} for s in self.sheets])

    def to_dict(self) -> dict[str, Any]:
        return {
            "scenario": self.scenario.to_dict(),
            "scenario_source": self.scenario.source,
            "catalog_as_of": self.catalog_as_of,
            "serving_usd_per_hour": self.serving_usd_per_hour,
            "assumptions": self.assumptions,
            "sheets": [s.to_dict() for s in self.sheets],
            "break_evens": [b.to_dict() for b in self.break_evens],
            "overtakes": [o.to_dict() for o in self.overtakes],
        }


COST_COLUMNS = [
    "strategy",
    "kind",
    "hosting",
    "setup_usd",
    "labels_to_buy",
    "usd_per_million",
    "monthly_usd",
    "horizon_usd",
    "days_to_production",
]

COST_GLOSSARY = {
    "hosting": "self-hosted (on the serving machine) or api (billed per token by a provider)",
    "setup_usd": "training compute + labels to buy + engineering days, US dollars, once",
    "labels_to_buy": "labels needed (for the scenario's minimum metric, else the rows trained "
    "on) minus the labels owned",
    "usd_per_million": "serving cost per 1M predictions at the measured throughput, US dollars",
    "monthly_usd": "serving + retraining + maintenance at the scenario volume, month 1",
    "horizon_usd": "setup + every month of the horizon (with volume growth): cost of ownership",
    "days_to_production": "calendar days of the engineering setup (5 working days a week)",
}


def _labels_needed(study: Study, strategy: str, target: float | None) -> tuple[int | None, str]:
    """Labels a trained strategy needs: for ``target`` from its learning curve (a maximum
    where the headline is lower-is-better), else the rows it was trained on for the
    leaderboard."""
    board = next(r for r in study.leaderboard_results if r.trial.strategy == strategy)
    if target is None:
        return board.n_train, f"the {board.n_train:,} rows it was trained on"
    from crossover.evaluation.learning_curve import labels_needed

    points = study.curve_points()
    needed = labels_needed(
        points[points.strategy == strategy],
        {},
        target=target,
        lower_is_better=study.lower_better(),
    )
    n_classes = max(board.n_classes, 1)
    if not needed:
        return board.n_train, f"the {board.n_train:,} rows it was trained on"
    item = needed[0]
    if item.target_reached_at is not None:
        budget = item.target_reached_at
        if budget == "full":
            return board.n_train, f"{target:g} reached with all {board.n_train:,} rows"
        n = int(budget) * n_classes
        return n, f"{target:g} reached at {budget} per class in the learning curve"
    if item.target_estimate is not None and math.isfinite(item.target_estimate):
        n = math.ceil(item.target_estimate) * n_classes
        return n, (
            f"{target:g} estimated at about {item.target_estimate:.0f} per class "
            "(extrapolated from the learning curve)"
        )
    return None, f"{target:g} not reached in the learning curve, nor by its extrapolation"


@dataclass(frozen=True)
class _Rates:
    """A scenario's prices and volumes, with the catalog's defaults filled in."""

    serving: HardwarePrice
    training: HardwarePrice
    cores: int
    day_rate: float
    label_price: float
    owned: int
    volumes: list[float]


def _rates(study: Study, scenario: Scenario, catalog: Catalog) -> _Rates:
    engineering, labels = scenario.engineering, scenario.labels
    growth = scenario.volume.growth_per_month
    return _Rates(
        serving=catalog.machine(scenario.hardware.serving, field_name="hardware.serving"),
        training=catalog.machine(scenario.hardware.training, field_name="hardware.training"),
        cores=int(study.environment.get("cpu_count") or 1),
        day_rate=(
            engineering.usd_per_day
            if engineering.usd_per_day is not None
            else catalog.engineer_usd_per_day
        ),
        label_price=(
            labels.usd_per_label if labels.usd_per_label is not None else catalog.usd_per_label
        ),
        owned=(
            labels.owned if labels.owned is not None else int(study.split.get("train_rows") or 0)
        ),
        volumes=[
            scenario.volume.predictions_per_month * (1 + growth) ** m
            for m in range(scenario.horizon_months)
        ],
    )


def _assumptions(study: Study, scenario: Scenario, catalog: Catalog, rates: _Rates) -> list[str]:
    """What every sheet assumes, one sentence each, with the source of each price."""
    serving, training, cores = rates.serving, rates.training, rates.cores
    return [
        f"Measured on {study.environment.get('cpu', 'this machine')} with {cores} cores; "
        f"throughput and fit time scaled by vCPUs to {serving.name} ({serving.vcpus} vCPUs) for "
        f"serving and {training.name} ({training.vcpus} vCPUs) for training, assuming linear "
        "scaling and no GPU speed-up (the measured code ran on CPU). Estimates, not measurements.",
        f"Serving at {scenario.hardware.utilisation:.0%} average utilisation, at least "
        f"{scenario.hardware.min_instances} instance(s) always on ({HOURS_PER_MONTH:.0f} h a "
        "month each), fractional instances above that (autoscaling).",
        f"Hardware: {serving.name} ${serving.usd_per_hour}/h, {training.name} "
        f"${training.usd_per_hour}/h ({serving.source}).",
        f"Labels: ${rates.label_price:g} each; {rates.owned:,} owned"
        + (" (the study's training rows)" if scenario.labels.owned is None else "")
        + (f" ({catalog.labels_source})" if scenario.labels.usd_per_label is None else "."),
        f"Engineering: ${rates.day_rate:g} a day"
        + (f" ({catalog.engineering_source})" if scenario.engineering.usd_per_day is None else "")
        + "; setup and maintenance days by kind are assumptions "
        f"({scenario.engineering.setup_days.model_dump()} days to set up, "
        f"{scenario.engineering.maintenance_days_per_month.model_dump()} days a month).",
        (
            f"Retrained every {scenario.retraining.every_months:g} months on the owned labels "
            "(training compute only)."
            if scenario.retraining.every_months
            else "Never retrained."
        ),
    ]


def _training(
    study: Study, r: TrialResult, rates: _Rates, target: float | None, notes: list[str]
) -> tuple[float, float, int | None]:
    """(training hours, training dollars, labels needed) of one candidate; notes appended."""
    if r.kind == "pretrained":
        notes.append("labels needed: none: no training rows")
        return 0.0, 0.0, 0
    training = rates.training
    seconds = r.fit_s * rates.cores / training.vcpus
    billed = max(seconds, _MIN_BILLED_S)
    train_hours = billed / 3600
    notes.append(
        f"training: {r.fit_s:.1f} s measured on {rates.cores} cores, about {seconds:.1f} s on "
        f"{training.name} (estimate; billed {billed:.0f} s)"
    )
    needed, needed_note = _labels_needed(study, r.trial.strategy, target)
    notes.append(f"labels needed: {needed_note}")
    return train_hours, train_hours * training.usd_per_hour, needed


def _serving(
    r: TrialResult, scenario: Scenario, catalog: Catalog, rates: _Rates, notes: list[str]
) -> tuple[str, float, float]:
    """(hosting, dollars per 1M predictions, fixed dollars a month) of one candidate; notes
    appended."""
    if r.api:
        api = _api_price(catalog, r.api)
        per_prediction = (
            float(r.api.get("input_tokens_per_prediction", 0)) * api.input_usd_per_mtok
            + float(r.api.get("output_tokens_per_prediction", 0)) * api.output_usd_per_mtok
        ) / 1e6
        notes.append(
            f"serving: {r.api.get('input_tokens_per_prediction')} input + "
            f"{r.api.get('output_tokens_per_prediction')} output tokens per prediction "
            f"(measured) at {api.model}'s price ({api.source})"
        )
        return "api", per_prediction * 1e6, 0.0
    serving = rates.serving
    rate = r.throughput_rows_s * serving.vcpus / rates.cores
    if not (rate > 0 and math.isfinite(rate)):
        per_million = float("nan")
        notes.append("serving: no measured throughput; cost per prediction unknown")
    else:
        hours_per_million = 1e6 / (rate * scenario.hardware.utilisation) / 3600
        per_million = hours_per_million * serving.usd_per_hour
        rounds = len((r.timing or {}).get("throughput_rows_s_rounds") or [])
        best = f", the best of {rounds} timing rounds" if rounds > 1 else ""
        notes.append(
            f"serving: {r.throughput_rows_s:,.0f} rows/s measured in batches{best}, about "
            f"{rate:,.0f} rows/s on {serving.name} (estimate)"
            + (
                "; timed while other work competed for the cores, so this cost is likely overstated"
                if r.timed_busy
                else ""
            )
        )
    fixed = scenario.hardware.min_instances * HOURS_PER_MONTH * serving.usd_per_hour
    return "self-hosted", per_million, fixed


def _sheet(
    study: Study, r: TrialResult, scenario: Scenario, catalog: Catalog, rates: _Rates
) -> CostSheet:
    """One candidate's cost sheet."""
    name, kind = r.trial.strategy, r.kind
    stats = study.statistics[name][study.headline]
    notes: list[str] = []
    train_hours, train_usd, needed = _training(
        study, r, rates, scenario.constraints.min_metric, notes
    )
    to_buy = max(0, (needed or 0) - rates.owned)
    eng_days, maintenance_days = _engineering(name, kind, scenario, notes)
    hosting, per_million, fixed = _serving(r, scenario, catalog, rates, notes)
    every = scenario.retraining.every_months
    labels_usd = to_buy * rates.label_price
    sheet = CostSheet(
        strategy=name,
        kind=kind,
        hosting=hosting,
        serving_machine=str(r.api["model"]) if r.api else rates.serving.name,
        score=float(stats["score"]),
        ci_low=float(stats["ci_low"]),
        ci_high=float(stats["ci_high"]),
        latency_p95_ms=float(r.latency_p95_ms),
        train_hours=train_hours,
        train_usd=train_usd,
        labels_needed=needed,
        labels_to_buy=to_buy,
        labels_usd=labels_usd,
        engineering_days=eng_days,
        engineering_usd=eng_days * rates.day_rate,
        setup_usd=train_usd + labels_usd + eng_days * rates.day_rate,
        usd_per_million=per_million,
        fixed_serving_usd_per_month=fixed,
        retraining_usd_per_month=train_usd / every if every and kind != "pretrained" else 0.0,
        maintenance_usd_per_month=maintenance_days * rates.day_rate,
        monthly_usd=0.0,
        horizon_usd=0.0,
        days_to_production=eng_days * 7 / 5,
        notes=notes,
    )
    sheet.monthly_usd = sheet.monthly_at(scenario.volume.predictions_per_month)
    sheet.horizon_usd = float(sheet.cumulative(rates.volumes)[-1])
    return sheet


def price(
    study: Study, scenario: Scenario | None = None, catalog: Catalog | None = None
) -> Pricing:
    """Price every leaderboard candidate of ``study`` under ``scenario``."""
    scenario = scenario or Scenario()
    limit = scenario.constraints.min_metric
    if limit is not None and limit > 1 and not study.lower_better():
        raise ConfigError(
            f"the scenario's constraints.min_metric {limit:g}: {study.headline} is a score "
            f"between 0 and 1; give it as one (e.g. {limit / 100:g} for {limit:g} %)"
        )
    catalog = catalog or load_catalog()
    rates = _rates(study, scenario, catalog)
    sheets = [_sheet(study, r, scenario, catalog, rates) for r in study.leaderboard_results]
    volumes = rates.volumes
    _at_least_its_members(sheets, scenario, volumes)
    return Pricing(
        sheets=sheets,
        break_evens=[break_even_volumes(a, b) for a, b in combinations(sheets, 2)],
        overtakes=[o for a, b in combinations(sheets, 2) if (o := _overtake(a, b, volumes))],
        scenario=scenario,
        catalog_as_of=catalog.as_of,
        assumptions=_assumptions(study, scenario, catalog, rates),
        serving_usd_per_hour=rates.serving.usd_per_hour,
    )


def _line_pieces(sheet: CostSheet) -> tuple[float, float, float]:
    """(floor, slope per prediction, constant): monthly = max(floor, slope*V) + constant."""
    constant = sheet.retraining_usd_per_month + sheet.maintenance_usd_per_month
    return sheet.fixed_serving_usd_per_month, sheet.usd_per_million / 1e6, constant


def break_even_volumes(a: CostSheet, b: CostSheet) -> BreakEven:
    """The monthly volumes at which the monthly cost lines of ``a`` and ``b`` cross.

    Both lines are piecewise linear in the volume (flat at the always-on floor, then
    proportional), so the difference is linear between the kinks; each segment is solved
    exactly. A line that is nowhere cheaper than the other never crosses it.
    """
    fa, sa, ca = _line_pieces(a)
    fb, sb, cb = _line_pieces(b)
    if not all(math.isfinite(x) for x in (fa, sa, ca, fb, sb, cb)):
        return BreakEven(a.strategy, b.strategy, [], None, None)
    kinks = sorted({f / s for f, s in ((fa, sa), (fb, sb)) if s > 0 and f > 0})
    edges = [0.0, *kinks, math.inf]

    def diff(v: float) -> float:
        return (max(fa, sa * v) + ca) - (max(fb, sb * v) + cb)

    def sign(v: float) -> int:
        d = diff(v)
        return 0 if math.isclose(d, 0.0, abs_tol=1e-9) else (1 if d > 0 else -1)

    crossings: list[float] = []
    equal_up_to: float | None = None
    for lo, hi in pairwise(edges):
        # On [lo, hi] each line is either flat or proportional: diff = p + q * v.
        mid = lo + 1.0 if math.isinf(hi) else (lo + hi) / 2
        qa = sa if sa * mid >= fa else 0.0
        qb = sb if sb * mid >= fb else 0.0
        q = qa - qb
        p = diff(mid) - q * mid
        if q == 0:
            continue  # parallel on this segment: equal everywhere or nowhere, no single point
        v = -p / q
        if not lo <= v <= hi or (crossings and math.isclose(v, crossings[-1])):
            continue
        before, after = sign(v * (1 - 1e-3)), sign(v * (1 + 1e-3) + 1e-3)
        if before * after < 0:
            crossings.append(float(v))
        elif before == 0 and after != 0 and not crossings:
            equal_up_to = float(v)  # equal below, apart above: not a crossing

    def cheaper(v: float) -> str | None:
        d = diff(v)
        return None if math.isclose(d, 0.0, abs_tol=1e-9) else (a.strategy if d < 0 else b.strategy)

    first = crossings[0] if crossings else None
    if equal_up_to is not None and not crossings:
        return BreakEven(
            a.strategy, b.strategy, [], None, cheaper(equal_up_to * 2 + 1.0), equal_up_to
        )
    below = cheaper(first / 2 if first else 1e6)
    above = cheaper(crossings[-1] * 2 + 1.0) if crossings else below
    return BreakEven(a.strategy, b.strategy, crossings, below, above)


def _overtake(a: CostSheet, b: CostSheet, volumes: list[float]) -> Overtake | None:
    """When the one with the lower setup becomes the dearer in total, month by month."""
    first, later = (a, b) if a.setup_usd <= b.setup_usd else (b, a)
    if first.setup_usd == later.setup_usd:
        return None
    gap = later.cumulative(volumes) - first.cumulative(volumes)
    if later.monthly_at(volumes[0]) >= first.monthly_at(volumes[0]) and gap[-1] > 0:
        return None  # the dearer set-up also costs more to run: it never catches up
    month = next((m + 1 for m, g in enumerate(gap) if g < 0), None)
    return Overtake(first.strategy, later.strategy, month)


def _declared(strategy: str, kind: str) -> tuple[str, tuple[str, ...]]:
    """The kind whose engineering days price ``strategy`` (``Strategy.engineering_kind``) and
    the strategies it contains; its own kind and none for a strategy this installation does
    not know."""
    from crossover.errors import ConfigError
    from crossover.strategies import registry

    try:
        cls = registry.get(strategy)
    except ConfigError:
        return kind, ()
    return cls.engineering_kind or cls.kind, tuple(cls.contains)


def _engineering(
    strategy: str, kind: str, scenario: Scenario, notes: list[str]
) -> tuple[float, float]:
    """(days to set up, days a month to maintain) of one candidate; notes appended.

    A strategy is priced at its engineering kind's days; one that contains others (an
    ensemble) at least at the sum of theirs, since building and keeping it means building and
    keeping each of them.
    """
    setup, upkeep = scenario.engineering.setup_days, scenario.engineering.maintenance_days_per_month
    effort, members = _declared(strategy, kind)
    days, maintenance = setup.of(effort), upkeep.of(effort)
    if effort != kind:
        notes.append(
            f"engineering: priced as a {effort} model ({days:g} days to set up): it "
            f"builds a {effort} model besides its pre-trained part"
        )
    if members:
        efforts = {m: _declared(m, kind)[0] for m in members}
        member_days = sum(setup.of(e) for e in efforts.values())
        member_upkeep = sum(upkeep.of(e) for e in efforts.values())
        if member_days > days or member_upkeep > maintenance:
            days, maintenance = max(days, member_days), max(maintenance, member_upkeep)
            parts = " + ".join(f"{m} {setup.of(e):g}" for m, e in efforts.items())
            notes.append(
                f"engineering: at least its members' ({parts} = {member_days:g} days to set "
                f"up, {member_upkeep:g} a month to maintain): it builds and keeps each of them"
            )
    return days, maintenance


def _at_least_its_members(
    sheets: list[CostSheet], scenario: Scenario, volumes: list[float]
) -> None:
    """A strategy that runs others (an ensemble) costs at least their serving together: when
    the study measured every member, its cost per 1M predictions is raised to their sum if its
    own measurement came out lower (timings on a shared machine move by several times)."""
    by_name = {s.strategy: s for s in sheets}
    for sheet in sheets:
        _, members = _declared(sheet.strategy, sheet.kind)
        measured = [by_name[m] for m in members if m in by_name]
        if not members or len(measured) < len(members) or sheet.hosting == "api":
            continue
        floor = sum(m.usd_per_million for m in measured)
        if not math.isfinite(floor) or floor <= sheet.usd_per_million:
            continue
        parts = " + ".join(f"{m.strategy} ${m.usd_per_million:.4g}" for m in measured)
        sheet.notes.append(
            f"serving: at least its members' cost per 1M predictions ({parts} = ${floor:.4g}; "
            f"its own measurement gave ${sheet.usd_per_million:.4g}, lower than the work it "
            "does, so within the timing noise)"
        )
        sheet.usd_per_million = floor
        sheet.monthly_usd = sheet.monthly_at(scenario.volume.predictions_per_month)
        sheet.horizon_usd = float(sheet.cumulative(volumes)[-1])


def _api_price(catalog: Catalog, api: dict[str, Any]) -> ApiPrice:
    """The token price a trial was measured at (``--llm-price`` or the price map), else the
    catalog's (LiteLLM's price map first)."""
    if api.get("input_usd_per_mtok") is not None:
        return ApiPrice(
            model=str(api["model"]),
            provider="",
            mode="chat",
            input_usd_per_mtok=float(api["input_usd_per_mtok"]),
            output_usd_per_mtok=float(api.get("output_usd_per_mtok") or 0.0),
            source=str(api.get("price_source") or "recorded with the trial"),
        )
    return catalog.api_price(str(api["model"]))
