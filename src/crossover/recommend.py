"""The decision: which candidate to use under a scenario, why, and when the answer changes.

The rule (:data:`RULE`):

1. Drop every candidate that breaks a constraint of the scenario, saying which and why.
2. Among the rest, take the best headline score (the highest; the lowest for an error such as
   MASE, ``Study.lower_is_better``), and every candidate statistically tied with
   it (the 95 % paired interval of the difference includes 0: the bootstrap on the same test
   rows, or, when a small table is measured over repeated splits, the corrected resampled t
   interval of the per-split differences).
3. Of those, set aside a candidate that another tied one beats on every measured figure:
   lower or equal p95 latency, size and measured running cost over the horizon (serving,
   training compute and labels), lower on one. Engineering days are an assumption by kind, not
   a measurement of these models; unless the scenario sets its own, they do not make a slower,
   larger model that is dearer to run the choice. (With the scenario's own engineering days,
   this step is skipped: the user priced their team.)
4. Of the rest, choose the lowest total cost over the horizon (setup + every month, with
   growth); on equal cost, the lower p95 latency, then the smaller model, then the better
   score. A strategy that contains others (an ensemble) costs at least what they cost
   together (``crossover.costs.sheet``), so a tie between an ensemble and its own member goes
   to the member.

The reasons name the trade-off that decided: against each tied candidate, the cost, the p95
latency and the size; against the fastest candidate that qualifies, the points the choice gains
for its latency and size. Flip points say where the choice would change: the monthly volume (the
rule re-applied along a volume scan, located by bisection; total cost over the horizon, setup
included), the p95 latency limit (the rule re-applied with a limit just under the choice's), the
labels per class (from the learning curves, at the budgets measured), and the minimum metric
(the rule re-applied just above the chosen candidate's score).

Where the headline is lower-is-better, the scenario's ``min_metric`` is a maximum (the largest
error accepted), and the metric flip re-applies the rule just below the chosen score.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from crossover._format import usd
from crossover.costs.sheet import CostSheet, Pricing

if TYPE_CHECKING:
    from crossover.study import Study

__all__ = ["RULE", "Recommendation", "decide"]

RULE = (
    "Drop the candidates that break a constraint; among the rest, keep the best score and those "
    "statistically tied with it (the 95 % paired interval of the difference includes 0: "
    "bootstrap on the test rows, or corrected t across repeated splits); "
    "set aside one that another tied candidate beats on every measurement (p95 latency, size, "
    "running cost measured: serving, training, labels) unless the scenario sets its own "
    "engineering days; choose the lowest total cost over the horizon; on equal cost, the lower "
    "p95 latency, the smaller model, the better score."
)
#: A candidate this many times slower (p95) than the fastest one that qualifies is named with it.
SLOWER_WORTH_SAYING = 2.0
_SCENARIO = object()  # "the scenario's own latency limit"
_KINDS = ("pretrained", "custom", "hybrid")
_COMPARISON_ROWS = (
    "Initial cost",
    "Development time",
    "Infrastructure",
    "Data requirement",
    "Customization",
    "Accuracy",
    "Maintenance",
)


@dataclass
class Recommendation:
    """The choice (None when every candidate breaks a constraint) and everything behind it."""

    choice: str | None
    kind: str | None
    rule: str
    reasons: list[str]
    tied: list[str]
    dropped: dict[str, list[str]]
    flip_points: list[dict[str, Any]]
    comparison: dict[str, dict[str, str]] = field(default_factory=dict)
    comparison_strategies: dict[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Recommendation:
        return cls(**data)


def _volume(value: float) -> str:
    for unit, size in (("B", 1e9), ("M", 1e6), ("k", 1e3)):
        if value >= size:
            return f"{value / size:.3g}{unit}"
    return f"{value:.0f}"


class _Decider:
    """Applies the rule to the priced candidates; paired tests are computed once per pair."""

    def __init__(self, study: Study, pricing: Pricing) -> None:
        self.study = study
        self.pricing = pricing
        self.metric = study.headline
        #: 1.0 where a higher headline is better, -1.0 where lower is (an error: MASE).
        self.sign = study.orientation()
        self.lower = study.lower_better()
        self.size_mb = {r.trial.strategy: float(r.size_mb) for r in study.leaderboard_results}
        self.timed_busy = {r.trial.strategy for r in study.leaderboard_results if r.timed_busy}
        self._pairs: dict[tuple[str, str], dict[str, Any]] = {}

    def paired(self, a: str, b: str) -> dict[str, Any]:
        if (a, b) not in self._pairs:
            self._pairs[(a, b)] = self.study.paired_delta(a, b, self.metric)
        return self._pairs[(a, b)]

    def violations(
        self, sheet: CostSheet, volume: float, min_metric: float | None, max_p95: Any = _SCENARIO
    ) -> list[str]:
        c = self.pricing.scenario.constraints
        limit = c.max_p95_latency_ms if max_p95 is _SCENARIO else max_p95
        out = []
        if min_metric is not None and self.lower and sheet.score > min_metric:
            out.append(f"{self.metric} {sheet.score:.3f} is above the limit {min_metric:g}")
        elif min_metric is not None and not self.lower and sheet.score < min_metric:
            out.append(f"{self.metric} {sheet.score:.3f} is below the minimum {min_metric:g}")
        if min_metric is not None and sheet.kind != "pretrained" and sheet.labels_needed is None:
            reach = "get down to" if self.lower else "reach"
            out.append(f"its learning curve does not {reach} {min_metric:g}")
        if limit is not None and sheet.latency_p95_ms > limit:
            busy = " while other work competed for its cores" * (sheet.strategy in self.timed_busy)
            out.append(
                f"p95 latency {sheet.latency_p95_ms:.1f} ms (measured on this machine{busy}) is "
                f"above the maximum {limit:g} ms"
            )
        monthly = sheet.monthly_at(volume)
        if c.max_monthly_usd is not None and monthly > c.max_monthly_usd:
            out.append(
                f"costs {usd(monthly)} a month at {_volume(volume)} predictions, above the "
                f"budget of {usd(c.max_monthly_usd)}"
            )
        if c.on_premises and sheet.hosting == "api":
            out.append("sends the data to an external API; the scenario keeps data on premises")
        if c.deadline_days is not None and sheet.days_to_production > c.deadline_days:
            out.append(
                f"needs about {sheet.days_to_production:.0f} calendar days of engineering "
                f"(assumed); the deadline is {c.deadline_days:g} days"
            )
        return out

    def choose(
        self, volume: float, min_metric: float | None, max_p95: Any = _SCENARIO
    ) -> tuple[str | None, list[str], dict[str, list[str]]]:
        dropped = {}
        survivors = []
        for sheet in self.pricing.sheets:
            broken = self.violations(sheet, volume, min_metric, max_p95)
            if broken:
                dropped[sheet.strategy] = broken
            else:
                survivors.append(sheet)
        if not survivors:
            return None, [], dropped
        best = max(survivors, key=lambda s: self.sign * s.score)
        tied = [
            s
            for s in survivors
            if s is best or not self.paired(s.strategy, best.strategy)["significant"]
        ]
        candidates = tied
        if self.pricing.scenario.engineering_assumed:
            candidates = [s for s in tied if not any(self.beats(o, s, volume) for o in tied)]
        choice = min(
            candidates,
            key=lambda s: (
                self.pricing.horizon_usd(s.strategy, volume),
                _or_inf(s.latency_p95_ms),
                _or_inf(self.size_mb.get(s.strategy, math.nan)),
                -self.sign * s.score,
            ),
        )
        return choice.strategy, [s.strategy for s in tied], dropped

    def measured_usd(self, sheet: CostSheet, volume: float | None = None) -> float:
        """The cost over the horizon of what was measured: serving, training compute and
        labels, without the engineering days (an assumption by kind)."""
        months = self.pricing.scenario.horizon_months
        assumed = sheet.engineering_usd + months * sheet.maintenance_usd_per_month
        return self.pricing.horizon_usd(sheet.strategy, volume) - assumed

    def beats(self, a: CostSheet, b: CostSheet, volume: float | None = None) -> bool:
        """Whether ``a`` is as fast, as small and as cheap to run as ``b`` by measurement, and
        better on one of them: ``b`` is then not worth choosing over ``a`` on assumptions."""
        figures = [
            (a.latency_p95_ms, b.latency_p95_ms),
            (self.size_mb.get(a.strategy, math.nan), self.size_mb.get(b.strategy, math.nan)),
            (self.measured_usd(a, volume), self.measured_usd(b, volume)),
        ]
        if not all(math.isfinite(x) and math.isfinite(y) for x, y in figures):
            return False
        # Relative tolerance: sums of the same dollars differ in their last bits.
        return all(x <= y + 1e-9 * abs(y) for x, y in figures) and any(
            x < y - 1e-9 * abs(y) for x, y in figures
        )


def _or_inf(value: float) -> float:
    """A figure to sort on, where an unmeasured one (NaN) comes last."""
    return value if math.isfinite(value) else math.inf


def _volume_flips(decider: _Decider, min_metric: float | None) -> list[dict[str, Any]]:
    grid = [10 ** (e / 4) for e in range(12, 41)]  # 1k .. 10B predictions a month
    choices = [decider.choose(v, min_metric)[0] for v in grid]
    flips = []
    for i in range(1, len(grid)):
        if choices[i] == choices[i - 1]:
            continue
        lo, hi = grid[i - 1], grid[i]
        for _ in range(40):
            mid = math.sqrt(lo * hi)
            if decider.choose(mid, min_metric)[0] == choices[i - 1]:
                lo = mid
            else:
                hi = mid
        before, after = choices[i - 1], choices[i]
        flips.append(
            {
                "kind": "volume",
                "value": hi,
                "from": before,
                "to": after,
                "text": (
                    f"From about {_volume(hi)} predictions a month, "
                    + (f"{after} becomes the choice" if after else "no candidate qualifies")
                    + (f" instead of {before}" if before else "")
                    + _why_at_volume(decider.pricing, before, after, hi)
                    + "."
                ),
            }
        )
    return flips


def _why_at_volume(pricing: Pricing, before: str | None, after: str | None, volume: float) -> str:
    """What a volume flip between two candidates compares: their total cost over the horizon
    (setup plus every month from that first-month volume, with growth), not a month alone."""
    if before is None or after is None:
        return ""
    months = pricing.scenario.horizon_months
    a, b = pricing.sheet(before), pricing.sheet(after)
    return (
        f" (the rule compares total cost over {months} months, setup included; there {after} "
        f"costs {usd(pricing.horizon_usd(after, volume))}: {usd(b.setup_usd)} to set up and "
        f"{usd(b.monthly_at(volume))} the first month, and {before} "
        f"{usd(pricing.horizon_usd(before, volume))}: {usd(a.setup_usd)} and "
        f"{usd(a.monthly_at(volume))})"
    )


def _measured_at_budgets(strategy: str) -> bool:
    """Whether a pre-trained strategy reads as much of the data as a budget gives it
    (``Strategy.curve_without_labels``); False when its class is not installed."""
    from crossover.errors import ConfigError
    from crossover.strategies import registry

    try:
        return bool(registry.get(strategy).curve_without_labels)
    except ConfigError:
        return False


def _label_flip(study: Study, choice: str, kind: str) -> dict[str, Any] | None:
    curves = study.curves or {}
    pretrained = curves.get("pretrained")
    needed = {n["strategy"]: n for n in curves.get("labels_needed", [])}
    if not pretrained or not needed:
        return None
    from crossover.tasks import get as get_task

    present = get_task(study.task).present
    unit, data = present.budget_unit, present.budget_data
    if kind != "pretrained" and choice in needed:
        at = needed[choice].get("beats_pretrained_at")
        if at is None:
            return None
        if at == "full":
            text = (
                f"{choice} beats the pre-trained {pretrained} significantly with the full "
                f"training set; learning curves (--budgets) say from how few {data} it does."
            )
        else:
            below = [b for b in _measured_budgets(study) if b < int(at)]
            # A zero-shot forecaster reads history too (it was measured at each budget).
            same_budget = _measured_at_budgets(pretrained)
            text = f"{choice} beats the pre-trained {pretrained} significantly from {at} {unit}" + (
                f"; at {max(below)} {unit}, the next budget measured below, it does not"
                + (
                    f" ({pretrained} given as much)."
                    if same_budget
                    else f", and {pretrained} needs no {data}."
                )
                if below
                else f", the smallest budget measured; fewer {data} were not measured."
            )
        return {"kind": "labels", "value": at, "from": choice, "to": pretrained, "text": text}
    if kind == "pretrained":
        beating = [
            (n["beats_pretrained_at"], s)
            for s, n in needed.items()
            if isinstance(n.get("beats_pretrained_at"), int)
        ]
        if beating:
            at, strategy = min(beating)
            return {
                "kind": "labels",
                "value": at,
                "from": choice,
                "to": strategy,
                "text": (
                    f"With {at} {unit}, {strategy} beats the pre-trained model "
                    f"significantly: {data} that much would change the choice."
                ),
            }
    return None


def _measured_budgets(study: Study) -> list[int]:
    """The learning curves' numeric budgets, as the study ran them."""
    out = []
    for b in study.settings.get("budgets") or []:
        try:
            out.append(int(b))
        except (TypeError, ValueError):
            continue  # "full"
    return sorted(out)


def _comparison(study: Study, pricing: Pricing) -> tuple[dict[str, dict[str, str]], dict[str, str]]:
    board = {r.trial.strategy: r for r in study.leaderboard_results}
    sign = study.orientation()
    best_by_kind: dict[str, CostSheet] = {}
    for sheet in pricing.sheets:
        current = best_by_kind.get(sheet.kind)
        if current is None or sign * sheet.score > sign * current.score:
            best_by_kind[sheet.kind] = sheet
    from crossover.strategies import registry

    scenario = pricing.scenario
    volume = scenario.volume.predictions_per_month
    table: dict[str, dict[str, str]] = {row: {} for row in _COMPARISON_ROWS}
    for kind in _KINDS:
        s = best_by_kind.get(kind)
        if s is None:
            continue
        r = board[s.strategy]
        table["Initial cost"][kind] = (
            f"{usd(s.setup_usd)} (engineering {usd(s.engineering_usd)}, labels "
            f"{usd(s.labels_usd)}, training compute {usd(s.train_usd)})"
        )
        table["Development time"][kind] = (
            f"about {s.engineering_days:g} engineer days (assumed) + training {r.fit_s:.1f} s "
            "(measured)"
        )
        if s.hosting == "api":
            table["Infrastructure"][kind] = f"{s.serving_machine} API; no servers"
        else:
            instances = s.instances_at(volume, pricing.serving_usd_per_hour)
            table["Infrastructure"][kind] = (
                f"{instances:.2f} x {s.serving_machine} on average at {_volume(volume)} "
                f"predictions a month; model {r.size_mb:.0f} MB, peak memory "
                f"{r.peak_mem_mb:.0f} MB"
            )
        n_classes = max(r.n_classes, 1)
        if kind == "pretrained":
            table["Data requirement"][kind] = "no labelled rows (the label names only)"
        elif s.labels_needed is None:
            table["Data requirement"][kind] = "more labels than measured (target not reached)"
        else:
            table["Data requirement"][kind] = (
                f"{s.labels_needed:,} labelled rows (about {s.labels_needed / n_classes:.0f} "
                f"per class); {s.labels_to_buy:,} to buy"
            )
        try:
            table["Customization"][kind] = registry.get(s.strategy).summary
        except Exception:  # a strategy from a plugin that is not installed here
            table["Customization"][kind] = s.strategy
        table["Accuracy"][kind] = (
            f"{study.headline} {s.score:.3f} (95 % CI {s.ci_low:.3f}-{s.ci_high:.3f})"
        )
        table["Maintenance"][kind] = (
            f"{usd(s.retraining_usd_per_month)} a month retraining + "
            f"{usd(s.maintenance_usd_per_month)} engineering"
        )
    return table, {k: s.strategy for k, s in best_by_kind.items()}


def decide(study: Study, pricing: Pricing) -> Recommendation:
    """Apply :data:`RULE` to the priced study and explain the result."""
    decider = _Decider(study, pricing)
    scenario = pricing.scenario
    volume = scenario.volume.predictions_per_month
    min_metric = scenario.constraints.min_metric
    choice, tied, dropped = decider.choose(volume, min_metric)
    comparison, columns = _comparison(study, pricing)
    excluded = [
        f"{name} is excluded: " + "; ".join(broken) + "." for name, broken in dropped.items()
    ]
    flips = _volume_flips(decider, min_metric)
    if choice is None:
        reasons = [
            "No candidate meets every constraint of the scenario; relax one of them, or add "
            "labels (see the learning curves) and compare again.",
            *excluded,
        ]
        return Recommendation(None, None, RULE, reasons, [], dropped, flips, comparison, columns)
    chosen = pricing.sheet(choice)
    reasons = [
        *_lead(decider, choice, tied),
        *_tradeoffs(decider, choice, tied, dropped),
        *excluded,
    ]
    for flip in (
        _latency_flip(decider, chosen, volume, min_metric),
        _label_flip(study, choice, chosen.kind),
        _metric_flip(decider, chosen, volume),
    ):
        if flip:
            flips.append(flip)
    return Recommendation(
        choice, chosen.kind, RULE, reasons, tied, dropped, flips, comparison, columns
    )


def _lead(decider: _Decider, choice: str, tied: list[str]) -> list[str]:
    """The choice's score and why it beat the tied candidates; its lead over the pre-trained
    model; what it costs."""
    pricing, metric = decider.pricing, decider.metric
    horizon = pricing.scenario.horizon_months
    volume = pricing.scenario.volume.predictions_per_month
    chosen = pricing.sheet(choice)
    best = max((pricing.sheet(t) for t in tied), key=lambda s: decider.sign * s.score)
    lead = (
        f"{choice} ({chosen.kind}) has {metric} {chosen.score:.3f} "
        f"(95 % CI {chosen.ci_low:.3f}-{chosen.ci_high:.3f})"
    )
    if best.strategy == choice:
        lead += ", the best of the candidates that meet the constraints"
        others = [t for t in tied if t != choice]
        if others:
            own = pricing.horizon_usd(choice)
            cheaper = [t for t in others if own < pricing.horizon_usd(t) * (1 - 1e-9)]
            aside = [t for t in others if t not in cheaper and _set_aside_by(decider, t, tied)]
            same = [t for t in others if t not in cheaper and t not in aside]
            parts = []
            if cheaper:
                parts.append(f"but cheaper over {horizon} months than {', '.join(cheaper)}")
            for t in aside:
                parts.append(_aside(decider, t, tied))
            if same:
                better = f"with a lower {metric}" if decider.lower else "higher-scoring"
                parts.append(f"and {better} at the same cost as {', '.join(same)}")
            lead += f" (statistically tied with {', '.join(others)}, " + "; ".join(parts) + ")"
    else:
        d = decider.paired(choice, best.strategy)
        own, theirs = pricing.horizon_usd(choice), pricing.horizon_usd(best.strategy)
        lead += (
            f"; {best.strategy} scores {best.score:.3f}, but the difference ({d['delta']:+.3f}, "
            f"95 % CI {d['ci_low']:+.3f} to {d['ci_high']:+.3f}) is within test-set noise"
        )
        if own < theirs * (1 - 1e-9):
            lead += (
                f" and {choice} costs less over {horizon} months ({usd(own)} against {usd(theirs)})"
            )
        elif _set_aside_by(decider, best.strategy, tied):
            lead += "; " + _aside(decider, best.strategy, tied)
        else:
            lead += f" and {choice} costs the same over {horizon} months ({usd(own)})"
    out = [lead + "."]
    pretrained = [s for s in pricing.sheets if s.kind == "pretrained" and s.strategy != choice]
    if chosen.kind != "pretrained" and pretrained:
        pre = max(pretrained, key=lambda s: decider.sign * s.score)
        d = decider.paired(choice, pre.strategy)
        if decider.lower:
            out.append(_error_gap(metric, d, f"the pre-trained model {pre.strategy}") + ".")
        else:
            out.append(
                f"It is {d['delta'] * 100:.1f} points above the pre-trained model "
                f"{pre.strategy} (95 % CI {d['ci_low'] * 100:.1f} to {d['ci_high'] * 100:.1f})."
            )
    others_cost = ", ".join(
        f"{s.strategy} {usd(s.monthly_usd)}" for s in pricing.sheets if s.strategy != choice
    )
    out.append(
        f"It costs {usd(chosen.setup_usd)} to set up and {usd(chosen.monthly_usd)} a month "
        f"at {_volume(volume)} predictions a month ({usd(pricing.horizon_usd(choice))} over "
        f"{horizon} months)" + (f"; the others a month: {others_cost}." if others_cost else ".")
    )
    return out


def _set_aside_by(decider: _Decider, name: str, tied: list[str]) -> str | None:
    """The tied candidate that beats ``name`` on every measurement, when the scenario's
    engineering days are the defaults (the rule then sets ``name`` aside); else None."""
    if not decider.pricing.scenario.engineering_assumed:
        return None
    sheet = decider.pricing.sheet(name)
    return next(
        (t for t in tied if decider.beats(decider.pricing.sheet(t), sheet)),
        None,
    )


def _aside(decider: _Decider, name: str, tied: list[str]) -> str:
    """Why a tied candidate cheaper over the horizon was set aside: another one is faster,
    smaller and cheaper to run, as measured; it is cheaper only by the assumed engineering."""
    pricing = decider.pricing
    horizon = pricing.scenario.horizon_months
    by = _set_aside_by(decider, name, tied) or name
    a, b = pricing.sheet(by), pricing.sheet(name)
    return (
        f"{name} is set aside: {by} is as fast, as small and as cheap to run or better on "
        f"each, as measured (p95 {a.latency_p95_ms:,.1f} against {b.latency_p95_ms:,.1f} ms, "
        f"{decider.size_mb.get(by, math.nan):,.0f} against "
        f"{decider.size_mb.get(name, math.nan):,.0f} MB, "
        f"{usd(decider.measured_usd(a))} against {usd(decider.measured_usd(b))} over "
        f"{horizon} months for serving, training and labels), and {name} comes out cheaper "
        f"over {horizon} months ({usd(pricing.horizon_usd(name))} against "
        f"{usd(pricing.horizon_usd(by))}) only through crossover's default engineering days "
        "by kind, an assumption that does not decide a tie (a scenario's own engineering days "
        "do)"
    )


def _times(a: float, b: float, more: str, less: str) -> str:
    """``a`` against ``b`` as "240x faster" / "3.0x larger"."""
    if not (math.isfinite(a) and math.isfinite(b)) or a <= 0 or b <= 0:
        return "not comparable: one is not measured"
    ratio, word = (a / b, more) if a >= b else (b / a, less)
    return f"{ratio:,.0f}x {word}" if ratio >= 10 else f"{ratio:.1f}x {word}"


def _speed_and_size(decider: _Decider, a: CostSheet, b: CostSheet) -> str:
    """``a``'s p95 latency and size against ``b``'s, in plain numbers."""
    size_a = decider.size_mb.get(a.strategy, math.nan)
    size_b = decider.size_mb.get(b.strategy, math.nan)
    busy = [s for s in (a.strategy, b.strategy) if s in decider.timed_busy]
    where = "measured on this machine" + (
        f" while other work competed for its cores, which likely slowed {' and '.join(busy)}"
        if busy
        else ""
    )
    return (
        f"a p95 latency of {a.latency_p95_ms:,.1f} ms against {b.latency_p95_ms:,.1f} ms "
        f"({_times(a.latency_p95_ms, b.latency_p95_ms, 'slower', 'faster')}; {where}) "
        f"and {_sizes(size_a, size_b)}"
    )


def _sizes(size_a: float, size_b: float) -> str:
    """Two sizes in MB as the verdict says them: a ratio only between two that round to 1 MB
    or more (a model that stores next to nothing, such as one fitted per series when it
    forecasts, is "under 1 MB", not an unmeasured one)."""

    def mb(size: float) -> str:
        return "under 1 MB" if size < 0.5 else f"{size:,.0f} MB"

    if math.isfinite(size_a) and math.isfinite(size_b) and min(size_a, size_b) < 0.5:
        if max(size_a, size_b) < 0.5:
            return "a size under 1 MB each"
        return f"a size of {mb(size_a)} against {mb(size_b)}"
    return (
        f"a size of {size_a:,.0f} MB against {size_b:,.0f} MB "
        f"({_times(size_a, size_b, 'larger', 'smaller')})"
    )


def _tradeoffs(
    decider: _Decider, choice: str, tied: list[str], dropped: dict[str, list[str]]
) -> list[str]:
    """The trade-off that decided, in numbers: against each tied candidate (cost, speed, size),
    and against the fastest candidate that qualifies when the choice is much slower."""
    pricing = decider.pricing
    horizon = pricing.scenario.horizon_months
    chosen = pricing.sheet(choice)
    out = []
    for other in (t for t in tied if t != choice):
        o = pricing.sheet(other)
        saving = pricing.horizon_usd(other) - pricing.horizon_usd(choice)
        if saving > 0:
            cost = f"it saves {usd(saving)} over {horizon} months"
        elif saving < 0:
            run = decider.measured_usd(o) - decider.measured_usd(chosen)
            cost = (
                f"it costs {usd(-saving)} more over {horizon} months with the default "
                f"engineering days by kind, and "
                + (
                    f"saves {usd(run)} to run (serving, training and labels, measured)"
                    if run > 0.5
                    else f"costs {usd(-run)} more to run (measured)"
                    if run < -0.5
                    else "costs the same to run (serving, training and labels, measured)"
                )
            )
        else:
            cost = f"at the same cost over {horizon} months"
        out.append(
            f"Against {other} (tied within test-set noise): {cost}, with "
            f"{_speed_and_size(decider, chosen, o)}."
        )
    qualified = [
        s
        for s in pricing.sheets
        if s.strategy not in dropped and s.strategy != choice and s.strategy not in tied
    ]
    timed = [s for s in qualified if math.isfinite(s.latency_p95_ms) and s.latency_p95_ms > 0]
    if timed and math.isfinite(chosen.latency_p95_ms):
        fast = min(timed, key=lambda s: s.latency_p95_ms)
        if chosen.latency_p95_ms > SLOWER_WORTH_SAYING * fast.latency_p95_ms:
            d = decider.paired(choice, fast.strategy)
            gap = (
                _error_gap(decider.metric, d, fast.strategy)
                if decider.lower
                else f"It is {d['delta'] * 100:+.1f} points above {fast.strategy} (95 % CI "
                f"{d['ci_low'] * 100:+.1f} to {d['ci_high'] * 100:+.1f})"
            )
            out.append(f"{gap}, with {_speed_and_size(decider, chosen, fast)}.")
    if pricing.scenario.constraints.max_p95_latency_ms is None:
        out.append(
            "The scenario sets no latency limit (constraints.max_p95_latency_ms), so speed "
            "enters the choice only through the serving cost and, in a tie, through setting "
            "aside a candidate beaten on every measurement; see the latency flip point."
        )
    return out


def _error_gap(metric: str, d: dict[str, Any], other: str) -> str:
    """A lower-is-better difference (``paired_delta``) in the metric's own units: "Its mase is
    0.042 lower than X's (difference -0.042, 95 % CI -0.060 to -0.024)"."""
    delta = float(d["delta"])
    gap = f"{abs(delta):.3f} {'lower' if delta < 0 else 'higher'} than" if delta else "the same as"
    return (
        f"Its {metric} is {gap} that of {other} (difference {delta:+.3f}, 95 % CI "
        f"{d['ci_low']:+.3f} to {d['ci_high']:+.3f}; lower is better)"
    )


def _latency_flip(
    decider: _Decider, chosen: CostSheet, volume: float, min_metric: float | None
) -> dict[str, Any] | None:
    """The rule re-applied with a p95 limit just under the choice's measured p95."""
    p95 = chosen.latency_p95_ms
    if not (math.isfinite(p95) and p95 > 0):
        return None
    after, _, _ = decider.choose(volume, min_metric, max_p95=p95 * (1 - 1e-9))
    return {
        "kind": "latency",
        "value": p95,
        "from": chosen.strategy,
        "to": after,
        "text": (
            f"With a p95 latency limit under {p95:.1f} ms (as measured on this machine), "
            + (f"{after} is the choice." if after else "no measured candidate qualifies.")
        ),
    }


def _metric_flip(decider: _Decider, chosen: CostSheet, volume: float) -> dict[str, Any]:
    """The rule re-applied with a minimum metric just above the choice's score (a maximum
    just below it, where lower is better)."""
    after, _, _ = decider.choose(volume, chosen.score + decider.sign * 1e-9)
    side = "below" if decider.lower else "above"
    return {
        "kind": "metric",
        "value": chosen.score,
        "from": chosen.strategy,
        "to": after,
        "text": (
            f"If you need {decider.metric} {side} {chosen.score:.3f}, "
            + (f"{after} is the choice." if after else "no measured candidate qualifies.")
        ),
    }
