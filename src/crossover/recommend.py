"""The decision: which candidate to use under a scenario, why, and when the answer changes.

The rule (:data:`RULE`):

1. Drop every candidate that breaks a constraint of the scenario, saying which and why.
2. Among the rest, take the best headline score, and every candidate statistically tied with
   it (the 95 % paired interval of the difference includes 0: the bootstrap on the same test
   rows, or, when a small table is measured over repeated splits, the corrected resampled t
   interval of the per-split differences).
3. Of those, choose the lowest total cost over the horizon (setup + every month, with growth);
   on equal cost, the higher score.

Flip points say where the choice would change: the monthly volume (the rule re-applied along a
volume scan, located by bisection), the labels per class (from the learning curves), and the
minimum metric (the rule re-applied just above the chosen candidate's score).
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
    "choose the lowest total cost over the horizon, then the higher score."
)
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
        self._pairs: dict[tuple[str, str], dict[str, Any]] = {}

    def paired(self, a: str, b: str) -> dict[str, Any]:
        if (a, b) not in self._pairs:
            self._pairs[(a, b)] = self.study.paired_delta(a, b, self.metric)
        return self._pairs[(a, b)]

    def violations(self, sheet: CostSheet, volume: float, min_metric: float | None) -> list[str]:
        c = self.pricing.scenario.constraints
        out = []
        if min_metric is not None and sheet.score < min_metric:
            out.append(f"{self.metric} {sheet.score:.3f} is below the minimum {min_metric:g}")
        if min_metric is not None and sheet.kind != "pretrained" and sheet.labels_needed is None:
            out.append(f"its learning curve does not reach {min_metric:g}")
        if c.max_p95_latency_ms is not None and sheet.latency_p95_ms > c.max_p95_latency_ms:
            out.append(
                f"p95 latency {sheet.latency_p95_ms:.1f} ms (measured on this machine) is above "
                f"the maximum {c.max_p95_latency_ms:g} ms"
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
        self, volume: float, min_metric: float | None
    ) -> tuple[str | None, list[str], dict[str, list[str]]]:
        dropped = {}
        survivors = []
        for sheet in self.pricing.sheets:
            broken = self.violations(sheet, volume, min_metric)
            if broken:
                dropped[sheet.strategy] = broken
            else:
                survivors.append(sheet)
        if not survivors:
            return None, [], dropped
        best = max(survivors, key=lambda s: s.score)
        tied = [
            s
            for s in survivors
            if s is best or not self.paired(s.strategy, best.strategy)["significant"]
        ]
        choice = min(tied, key=lambda s: (self.pricing.horizon_usd(s.strategy, volume), -s.score))
        return choice.strategy, [s.strategy for s in tied], dropped


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
                    + "."
                ),
            }
        )
    return flips


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
            text = (
                f"{choice} beats the pre-trained {pretrained} significantly from {at} {unit}; "
                f"with fewer, {pretrained} is as good and needs no {data}."
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


def _comparison(study: Study, pricing: Pricing) -> tuple[dict[str, dict[str, str]], dict[str, str]]:
    board = {r.trial.strategy: r for r in study.leaderboard_results}
    best_by_kind: dict[str, CostSheet] = {}
    for sheet in pricing.sheets:
        current = best_by_kind.get(sheet.kind)
        if current is None or sheet.score > current.score:
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
    metric = study.headline
    comparison, columns = _comparison(study, pricing)
    reasons: list[str] = []
    for name, broken in dropped.items():
        reasons.append(f"{name} is excluded: " + "; ".join(broken) + ".")
    if choice is None:
        reasons.insert(
            0,
            "No candidate meets every constraint of the scenario; relax one of them, or add "
            "labels (see the learning curves) and compare again.",
        )
        return Recommendation(
            None,
            None,
            RULE,
            reasons,
            [],
            dropped,
            _volume_flips(decider, min_metric),
            comparison,
            columns,
        )
    chosen = pricing.sheet(choice)
    horizon = scenario.horizon_months
    best = max((pricing.sheet(t) for t in tied), key=lambda s: s.score)
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
            same = [t for t in others if t not in cheaper]
            parts = []
            if cheaper:
                parts.append(f"but cheaper over {horizon} months than {', '.join(cheaper)}")
            if same:
                parts.append(f"and higher-scoring at the same cost as {', '.join(same)}")
            lead += f" (statistically tied with {', '.join(others)}, " + "; ".join(parts) + ")"
    else:
        d = decider.paired(choice, best.strategy)
        lead += (
            f"; {best.strategy} scores {best.score:.3f}, but the difference ({d['delta']:+.3f}, "
            f"95 % CI {d['ci_low']:+.3f} to {d['ci_high']:+.3f}) is within test-set noise and "
            f"{choice} costs less over {horizon} months "
            f"({usd(pricing.horizon_usd(choice))} against "
            f"{usd(pricing.horizon_usd(best.strategy))})"
        )
    reasons.insert(0, lead + ".")
    pretrained = [s for s in pricing.sheets if s.kind == "pretrained" and s.strategy != choice]
    if chosen.kind != "pretrained" and pretrained:
        pre = max(pretrained, key=lambda s: s.score)
        d = decider.paired(choice, pre.strategy)
        reasons.insert(
            1,
            f"It is {d['delta'] * 100:.1f} points above the pre-trained model {pre.strategy} "
            f"(95 % CI {d['ci_low'] * 100:.1f} to {d['ci_high'] * 100:.1f}).",
        )
    others_cost = ", ".join(
        f"{s.strategy} {usd(s.monthly_usd)}" for s in pricing.sheets if s.strategy != choice
    )
    reasons.insert(
        2 if len(reasons) > 1 and chosen.kind != "pretrained" else 1,
        f"It costs {usd(chosen.setup_usd)} to set up and {usd(chosen.monthly_usd)} a month "
        f"at {_volume(volume)} predictions a month ({usd(pricing.horizon_usd(choice))} over "
        f"{horizon} months)" + (f"; the others a month: {others_cost}." if others_cost else "."),
    )
    flips = _volume_flips(decider, min_metric)
    label_flip = _label_flip(study, choice, chosen.kind)
    if label_flip:
        flips.append(label_flip)
    after, _, _ = decider.choose(volume, chosen.score + 1e-9)
    flips.append(
        {
            "kind": "metric",
            "value": chosen.score,
            "from": choice,
            "to": after,
            "text": (
                f"If you need {metric} above {chosen.score:.3f}, "
                + (f"{after} is the choice." if after else "no measured candidate qualifies.")
            ),
        }
    )
    return Recommendation(
        choice, chosen.kind, RULE, reasons, tied, dropped, flips, comparison, columns
    )
