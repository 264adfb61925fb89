"""Learning curves and "how many labels do I need?" answers, from per-trial scores.

Pure functions over a ``points`` frame with one row per trial (strategy x budget x seed):

- :func:`curve_table` — one row per (strategy, budget): mean score across seeds, its interval,
  rows trained on, fit seconds.
- :func:`fit_power_law` — ``score(x) = c - a * x**(-b)`` through a curve, ``x`` = labels per
  class; :meth:`PowerLawFit.budget_for` inverts it.
- :func:`labels_needed` — per trained strategy: from which budget it beats the best pre-trained
  strategy significantly, and how many labels per class it needs for a target score (measured,
  and from the fitted curve with a bootstrap-over-seeds range).
- :func:`describe` — the same answers as short plain-language lines.

A metric where lower is better (an error: MASE, the Brier score) is handled by negating the
scores inside (``lower_is_better=True``): "beats" then means a significantly lower error, a
target is a maximum, and the power law is fitted to the negated error (its ceiling is then
minus the error's floor); every value handed back is in the metric's own units.

No I/O and no model code: the runner, the study and the report feed these functions.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, fields
from typing import Any

import numpy as np
import pandas as pd
from scipy import optimize, stats

from crossover.evaluation.budgets import FULL, Budget

__all__ = [
    "LEARNING_CURVE_COLUMNS",
    "LabelsNeeded",
    "PowerLawFit",
    "curve_table",
    "describe",
    "fit_power_law",
    "labels_needed",
]

LEARNING_CURVE_COLUMNS = [
    "strategy",
    "kind",
    "budget_per_class",
    "n_labels",
    "seed_count",
    "score_mean",
    "score_ci_low",
    "score_ci_high",
    "fit_s_mean",
]

_REQUIRED = ("strategy", "kind", "budget", "n_labels", "n_classes", "seed", "score")
_TRAINED_KINDS = ("custom", "hybrid")
_PRETRAINED = "pretrained"
# Exponents tried before the least-squares refinement; a curve is linear in (a, c) for fixed b.
_B_GRID = np.geomspace(0.01, 5.0, 120)


# --------------------------------------------------------------------------- budgets


def _norm_budget(value: object) -> Budget:
    """``8``, ``np.int64(8)``, ``8.0``, ``"8"`` -> ``8``; ``"full"`` / ``"FULL"`` -> ``"full"``."""
    if isinstance(value, str):
        text = value.strip().lower()
        if text == FULL:
            return FULL
        return int(text)
    if isinstance(value, int | np.integer):
        return int(value)
    if isinstance(value, float | np.floating) and float(value).is_integer():
        return int(value)
    raise ValueError(f"budget {value!r} is neither a count of labels per class nor 'full'")


def _budget_order(budget: Budget) -> float:
    """Sort key: counts ascending, ``"full"`` last."""
    return math.inf if budget == FULL else float(budget)


def _prepare(points: pd.DataFrame) -> pd.DataFrame:
    """The points with normalised budgets. A pre-trained strategy's trials collapse to budget
    0 (it learns nothing from labels), unless it was planned as a trained one, without a
    budget-0 trial (``Strategy.curve_without_labels``: a zero-shot forecaster fed the last N
    points of each history): it then keeps one point per budget."""
    missing = [c for c in _REQUIRED if c not in points.columns]
    if missing:
        raise ValueError(f"points lacks the column(s) {', '.join(missing)}")
    frame = points.copy()
    budgets = [_norm_budget(b) for b in frame["budget"]]
    pretrained = {  # pre-trained strategies measured at a count
        s
        for s, kind, b in zip(frame["strategy"], frame["kind"], budgets, strict=True)
        if kind == _PRETRAINED and b not in (0, FULL)
    }
    at_zero = {s for s, b in zip(frame["strategy"], budgets, strict=True) if b == 0}
    at_budgets = pretrained - at_zero
    frame["budget"] = [
        0 if kind == _PRETRAINED and s not in at_budgets else b
        for s, kind, b in zip(frame["strategy"], frame["kind"], budgets, strict=True)
    ]
    frame["_order"] = [_budget_order(b) for b in frame["budget"]]
    frame["_key"] = frame["budget"].astype(str)  # a homogeneous key to group on
    return frame


def _per_seed(group: pd.DataFrame, column: str) -> np.ndarray:
    """One value per seed (trials repeated for a seed are averaged), ordered by seed."""
    return np.asarray(group.groupby("seed", sort=True)[column].mean(), dtype=np.float64)


def _t_interval(values: np.ndarray, confidence: float) -> tuple[float, float]:
    n = len(values)
    mean = float(values.mean())
    half = float(stats.t.ppf(0.5 + confidence / 2.0, n - 1)) * float(values.std(ddof=1))
    half /= math.sqrt(n)
    return mean - half, mean + half


def _single_seed_interval(group: pd.DataFrame) -> tuple[float, float]:
    if "score_ci_low" not in group.columns or "score_ci_high" not in group.columns:
        return math.nan, math.nan
    given = group[["score_ci_low", "score_ci_high"]].dropna()
    if given.empty:
        return math.nan, math.nan
    return float(given["score_ci_low"].mean()), float(given["score_ci_high"].mean())


# --------------------------------------------------------------------------- curve table


def curve_table(points: pd.DataFrame, *, confidence: float = 0.95) -> pd.DataFrame:
    """One row per (strategy, budget) with :data:`LEARNING_CURVE_COLUMNS`.

    ``points`` holds one row per trial: ``strategy``, ``kind``, ``budget`` (labels per class,
    ``"full"``, or 0 for a pre-trained strategy), ``n_labels``, ``n_classes``, ``seed``,
    ``score``, ``fit_s``, and optionally ``score_ci_low`` / ``score_ci_high`` (the test-set
    bootstrap interval of that one trial).

    - ``budget_per_class``: the int budget or ``"full"``; a pre-trained strategy sees no labels,
      so all its trials collapse into one row with budget 0 (unless it was measured at int
      budgets, as a zero-shot forecaster fed N points of history is: one row per budget).
    - ``n_labels``: mean rows trained on; ``seed_count``: distinct seeds (trials repeated for one
      seed are averaged first, so every seed weighs the same).
    - The interval (``score_ci_low`` / ``score_ci_high``):

      * two or more seeds: the Student-t interval of the mean across seeds,
        ``mean ± t(confidence, n-1) * sd / sqrt(n)``. It covers the variation that matters for a
        learning curve — which rows were labelled and how training was seeded — and is the
        interval of the mean the row reports.
      * one seed: that trial's own test-set bootstrap interval when the points carry it (the
        only uncertainty measured), else NaN for both ends.

    Sorted by strategy, then ``n_labels`` (``"full"`` after the counts on a tie).
    """
    if points.empty:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in LEARNING_CURVE_COLUMNS})
    frame = _prepare(points)
    rows: list[dict[str, Any]] = []
    for (strategy, _key), group in frame.groupby(["strategy", "_key"], sort=False):
        scores = _per_seed(group, "score")
        if len(scores) >= 2:
            low, high = _t_interval(scores, confidence)
        else:
            low, high = _single_seed_interval(group)
        fit_s = float(group["fit_s"].mean()) if "fit_s" in group.columns else math.nan
        rows.append(
            {
                "strategy": str(strategy),
                "kind": str(group["kind"].iloc[0]),
                "budget_per_class": group["budget"].iloc[0],
                "n_labels": float(group["n_labels"].mean()),
                "seed_count": len(scores),
                "score_mean": float(scores.mean()),
                "score_ci_low": low,
                "score_ci_high": high,
                "fit_s_mean": fit_s,
                "_order": float(group["_order"].iloc[0]),
            }
        )
    table = pd.DataFrame(rows).sort_values(["strategy", "n_labels", "_order"], kind="stable")
    table = table.drop(columns="_order").reset_index(drop=True)
    table["budget_per_class"] = table["budget_per_class"].astype(object)
    return table[LEARNING_CURVE_COLUMNS]


# --------------------------------------------------------------------------- power law


@dataclass(frozen=True)
class PowerLawFit:
    """``score(x) = c - a * x**(-b)``, ``x`` = labels per class; ``c`` is the ceiling."""

    a: float
    b: float
    c: float

    def predict(self, x: float | Sequence[float] | np.ndarray) -> np.ndarray:
        arr = np.asarray(x, dtype=np.float64)
        with np.errstate(divide="ignore", over="ignore", invalid="ignore"):
            return np.asarray(self.c - self.a * arr ** (-self.b), dtype=np.float64)

    def budget_for(self, target: float) -> float:
        """Labels per class at which the curve reaches ``target``; ``inf`` if ``c <= target``."""
        gap = self.c - target
        if gap <= 0:
            return math.inf
        log_x = (math.log(self.a) - math.log(gap)) / self.b
        if log_x > 700.0:
            return math.inf
        return math.exp(log_x)


def _grid_start(
    x: np.ndarray, y: np.ndarray, c_bounds: tuple[float, float] = (0.0, 1.0)
) -> tuple[float, float, float]:
    """Best (a, b, c) over :data:`_B_GRID`, solving the linear (a, c) problem per exponent."""
    z = x[None, :] ** (-_B_GRID[:, None])  # (grid, n)
    z_mean = z.mean(axis=1, keepdims=True)
    y_mean = float(y.mean())
    var = ((z - z_mean) ** 2).sum(axis=1)
    cov = ((z - z_mean) * (y - y_mean)).sum(axis=1)
    slope = np.divide(cov, var, out=np.zeros_like(cov), where=var > 0)
    a = np.maximum(-slope, 1e-9)
    c = y_mean + a * z_mean[:, 0]
    clipped = (c < c_bounds[0]) | (c > c_bounds[1])
    if clipped.any():  # fix c at the bound, refit a alone
        c = np.clip(c, *c_bounds)
        zz = (z * z).sum(axis=1)
        a_fixed = np.divide(
            ((c[:, None] - y) * z).sum(axis=1), zz, out=np.zeros_like(zz), where=zz > 0
        )
        a = np.where(clipped, np.maximum(a_fixed, 1e-9), a)
    sse = ((c[:, None] - a[:, None] * z - y) ** 2).sum(axis=1)
    best = int(np.argmin(sse))
    return float(a[best]), float(_B_GRID[best]), float(c[best])


def _model(x: np.ndarray, a: float, b: float, c: float) -> np.ndarray:
    return np.asarray(c - a * x ** (-b), dtype=np.float64)


def fit_power_law(
    x: np.ndarray, y: np.ndarray, *, c_bounds: tuple[float, float] = (0.0, 1.0)
) -> PowerLawFit | None:
    """Least-squares ``y = c - a * x**(-b)`` with ``a > 0``, ``b > 0``, ``c`` within
    ``c_bounds`` (a score in [0, 1]; ``(-inf, 0)`` for a negated error).

    ``x`` may repeat (several seeds per budget). ``None`` when there are fewer than three
    distinct positive ``x`` or the inputs are not finite. A coarse grid over ``b`` (for a fixed
    ``b`` the model is linear in ``a`` and ``c``) gives the start; bounded least squares refines
    it; should the refinement fail, the grid's best curve is returned.
    """
    xs = np.asarray(x, dtype=np.float64).ravel()
    ys = np.asarray(y, dtype=np.float64).ravel()
    if xs.shape != ys.shape or not (np.isfinite(xs).all() and np.isfinite(ys).all()):
        return None
    if (xs <= 0).any() or len(np.unique(xs)) < 3:
        return None
    a0, b0, c0 = _grid_start(xs, ys, c_bounds)
    fit = PowerLawFit(a0, b0, c0)
    lower = [1e-12, 1e-6, c_bounds[0]]
    upper = [np.inf, np.inf, c_bounds[1]]
    p0 = [max(a0, 1e-9), b0, min(max(c0, c_bounds[0]), c_bounds[1])]
    try:
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore")
            params, _cov = optimize.curve_fit(
                _model, xs, ys, p0=p0, bounds=(lower, upper), method="trf", maxfev=2000
            )
    except (RuntimeError, ValueError, optimize.OptimizeWarning):
        return fit
    if not np.isfinite(params).all():
        return fit
    refined = PowerLawFit(float(params[0]), float(params[1]), float(params[2]))
    if _sse(refined, xs, ys) <= _sse(fit, xs, ys):
        return refined
    return fit


def _sse(fit: PowerLawFit, x: np.ndarray, y: np.ndarray) -> float:
    return float(((fit.predict(x) - y) ** 2).sum())


# --------------------------------------------------------------------------- labels needed


@dataclass(frozen=True)
class LabelsNeeded:
    """How many labels one trained strategy needs: to beat the pre-trained model, and to reach
    a target score.

    Label counts are per class. ``target_estimate`` and its range come from the fitted power
    law and may be ``inf`` (the fitted ceiling is at or below the target). ``fitted_ceiling``
    is the fitted asymptote ``c`` (None without a fit); for a lower-is-better metric it is the
    error's fitted floor, in the metric's units. ``beats_pretrained_delta`` is the strategy's
    score minus the pre-trained one's (negative where a lower error beats it).
    """

    strategy: str
    kind: str
    beats_pretrained_at: int | str | None
    beats_pretrained_delta: float | None
    target: float | None
    target_reached_at: int | str | None
    target_estimate: float | None
    target_estimate_low: float | None
    target_estimate_high: float | None
    extrapolated: bool
    fitted_ceiling: float | None = None

    def to_dict(self) -> dict[str, Any]:
        """Plain, JSON-safe values: an infinite float is written as the string ``"inf"``."""
        out = asdict(self)
        for key, value in out.items():
            if isinstance(value, float) and math.isinf(value):
                out[key] = "inf" if value > 0 else "-inf"
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> LabelsNeeded:
        """Inverse of :meth:`to_dict`; unknown keys are ignored."""
        names = {f.name for f in fields(cls)}
        values: dict[str, Any] = {}
        for key, value in data.items():
            if key not in names:
                continue
            if key.startswith("target_estimate") and value in ("inf", "-inf"):
                value = float(value)
            values[key] = value
        return cls(**values)


def _first_beating(
    strategy: str,
    significance: Mapping[tuple[str, int | str], tuple[float, float, float]],
    lower_is_better: bool = False,
) -> tuple[Budget | None, float | None]:
    found: list[tuple[float, Budget, float]] = []
    for (name, budget), (delta, low, high) in significance.items():
        better = high < 0 if lower_is_better else low > 0
        if name != strategy or not better:
            continue
        norm = _norm_budget(budget)
        found.append((_budget_order(norm), norm, float(delta)))
    if not found:
        return None, None
    _order, budget, delta = min(found, key=lambda item: item[0])
    return budget, delta


def _curve_points(
    group: pd.DataFrame,
) -> tuple[list[np.ndarray], np.ndarray, int | None]:
    """Per-seed scores and x (labels per class) of the budgets a curve is fitted on.

    Int budgets use their budget as x. ``"full"`` joins at x = mean(n_labels / n_classes) when
    that lies beyond the largest int budget (it anchors the ceiling); otherwise it is left out,
    since an average per class below a measured budget says little about that curve.
    Returns (scores per budget, x per budget, largest int budget).
    """
    scores: list[np.ndarray] = []
    xs: list[float] = []
    ints = sorted({int(b) for b in group["budget"] if b != FULL})
    for budget in ints:
        scores.append(_per_seed(group[group["budget"] == budget], "score"))
        xs.append(float(budget))
    largest = ints[-1] if ints else None
    full = group[group["_key"] == FULL]
    if not full.empty and largest is not None:
        n_classes = full["n_classes"].astype(float).clip(lower=1.0)
        x_full = float((full["n_labels"].astype(float) / n_classes).mean())
        if math.isfinite(x_full) and x_full > largest:
            scores.append(_per_seed(full, "score"))
            xs.append(x_full)
    return scores, np.asarray(xs, dtype=np.float64), largest


def _bootstrap_range(
    scores: list[np.ndarray],
    xs: np.ndarray,
    target: float,
    n_boot: int,
    seed: int,
    c_bounds: tuple[float, float] = (0.0, 1.0),
) -> tuple[float | None, float | None]:
    """2.5 / 97.5 percentiles of ``budget_for(target)`` over resamples of the seeds.

    Each resample draws every budget's per-seed scores with replacement, refits the curve on
    the resampled means and inverts it; ``inf`` counts (the resampled ceiling is below the
    target) and the percentiles take sample values (no interpolation), so a range can end in
    ``inf``. None when no budget has two seeds (nothing to resample) or no resample fits.
    """
    if n_boot < 1 or max(len(s) for s in scores) < 2:
        return None, None
    rng = np.random.default_rng(seed)
    means = np.empty((n_boot, len(scores)))
    for j, values in enumerate(scores):
        draws = rng.integers(0, len(values), size=(n_boot, len(values)))
        means[:, j] = values[draws].mean(axis=1)
    estimates: list[float] = []
    for row in means:
        fit = fit_power_law(xs, row, c_bounds=c_bounds)
        if fit is not None:
            estimates.append(fit.budget_for(target))
    if not estimates:
        return None, None
    values_arr = np.asarray(estimates, dtype=np.float64)
    low = float(np.percentile(values_arr, 2.5, method="lower"))
    high = float(np.percentile(values_arr, 97.5, method="higher"))
    return low, high


def labels_needed(
    points: pd.DataFrame,
    significance: dict[tuple[str, int | str], tuple[float, float, float]],
    *,
    target: float | None = None,
    n_boot: int = 500,
    seed: int = 0,
    lower_is_better: bool = False,
) -> list[LabelsNeeded]:
    """One :class:`LabelsNeeded` per trained (custom / hybrid) strategy, sorted by name.

    ``significance[(strategy, budget)] = (delta_mean, ci_low, ci_high)`` is the paired
    difference of the strategy minus the best pre-trained strategy at that budget; it beats
    the pre-trained model significantly where ``ci_low > 0`` (``ci_high < 0`` with
    ``lower_is_better``: a significantly lower error); ``beats_pretrained_at`` is the
    smallest such budget (``"full"`` after every count). An empty map (no pre-trained strategy)
    leaves both beat fields None.

    For a ``target`` score (with ``lower_is_better``, a maximum: the curves are fitted to the
    negated scores, and every value returned is in the metric's own units):

    - ``target_reached_at``: the smallest measured budget whose mean score is ``>= target``
      (``<= target`` with ``lower_is_better``).
    - ``target_estimate``: where the power law fitted on the mean score per budget (see
      :func:`fit_power_law`; x = labels per class, with ``"full"`` at x = n_labels / n_classes
      when that lies beyond the largest int budget) reaches the target; ``inf`` when the fitted
      ceiling is at or below it; None when there are fewer than three budgets to fit.
    - ``target_estimate_low`` / ``_high``: its 95 % range from a bootstrap over seeds
      (``n_boot`` resamples, seeded by ``seed``); may be ``inf``; None with one seed per budget.
    - ``extrapolated``: the estimate lies beyond the largest measured int budget (so an estimate
      between that budget and the full training set counts as extrapolated: the ``"full"``
      point's x is an average, not a budget anyone measured).
    """
    if points.empty:
        return []
    frame = _prepare(points)
    sign = -1.0 if lower_is_better else 1.0
    frame["score"] = sign * frame["score"].astype(np.float64)
    c_bounds = (-math.inf, 0.0) if lower_is_better else (0.0, 1.0)
    out: list[LabelsNeeded] = []
    for strategy, group in frame.groupby("strategy", sort=True):
        kind = str(group["kind"].iloc[0])
        if kind not in _TRAINED_KINDS:
            continue
        name = str(strategy)
        beats_at, beats_delta = _first_beating(name, significance, lower_is_better)
        if target is None:
            out.append(
                LabelsNeeded(name, kind, beats_at, beats_delta, None, None, None, None, None, False)
            )
            continue
        reached: Budget | None = None
        budgets = sorted({b for b in group["budget"]}, key=_budget_order)
        goal = sign * float(target)  # oriented: higher is better from here on
        for budget in budgets:
            mean = float(_per_seed(group[group["_key"] == str(budget)], "score").mean())
            if mean >= goal:
                reached = budget
                break
        scores, xs, largest = _curve_points(group)
        estimate: float | None = None
        low: float | None = None
        high: float | None = None
        ceiling: float | None = None
        fit = (
            fit_power_law(xs, np.array([s.mean() for s in scores]), c_bounds=c_bounds)
            if len(xs)
            else None
        )
        if fit is not None:
            estimate = fit.budget_for(goal)
            ceiling = sign * fit.c
            low, high = _bootstrap_range(scores, xs, goal, n_boot, seed, c_bounds)
        extrapolated = (
            estimate is not None
            and largest is not None
            and math.isfinite(estimate)
            and estimate > largest
        )
        out.append(
            LabelsNeeded(
                name,
                kind,
                beats_at,
                beats_delta,
                float(target),
                reached,
                estimate,
                low,
                high,
                extrapolated,
                ceiling,
            )
        )
    return out


# --------------------------------------------------------------------------- describe


def _fmt_score(value: float) -> str:
    text = f"{value:.2f}"
    if abs(float(text) - value) > 1e-9:
        text = f"{value:.3f}".rstrip("0")
    return text


def _fmt_count(value: float) -> str:
    """Labels per class, rounded sensibly: whole below 10, two significant figures above."""
    if value < 10:
        return str(max(1, round(value)))
    digits = math.floor(math.log10(value)) - 1
    rounded = round(value, -digits)
    return f"{int(rounded):,}"


LABELS = "labels per class"


def _fmt_budget(budget: int | str, unit: str = LABELS) -> str:
    if budget == FULL:
        # A forecasting budget counts points of history: its full budget is all of it.
        return "the full history" if "history" in unit else "the full training set"
    return f"{_fmt_count(float(budget)) if unit != LABELS else budget} {unit}"


def _short(unit: str) -> str:
    """What follows a count in a clause: "per class" for labels, else the unit itself."""
    return "per class" if unit == LABELS else unit


def _fmt_range(low: float | None, high: float | None) -> str:
    if low is None or high is None:
        return ""
    if math.isinf(low):
        return "95 % range: may never reach it"
    if math.isinf(high):
        return f"95 % range {_fmt_count(low)} or more"
    return f"95 % range {_fmt_count(low)}–{_fmt_count(high)}"


def _target_clause(
    item: LabelsNeeded, metric: str, unit: str = LABELS, lower_is_better: bool = False
) -> str | None:
    if item.target is None:
        return None
    goal = (
        f"{metric} {_fmt_score(item.target)} or lower"
        if lower_is_better
        else f"{_fmt_score(item.target)} {metric}"
    )
    estimate = item.target_estimate
    finite = estimate is not None and math.isfinite(estimate)
    if item.target_reached_at is not None:
        where = (
            "with the full training set"
            if item.target_reached_at == FULL
            else f"at {item.target_reached_at} {_short(unit)}"
        )
        clause = f"reaches {goal} {where}"
        if finite and estimate is not None:
            suffix = f" {_short(unit)}" if item.target_reached_at == FULL else ""
            clause += f" (fitted curve: about {_fmt_count(estimate)}{suffix})"
        return clause
    if estimate is None:
        return f"does not reach {goal} at any measured budget (too few budgets to fit a curve)"
    if not finite:
        bound = "floor" if lower_is_better else "ceiling"
        ceiling = (
            "" if item.fitted_ceiling is None else f" (fitted {bound} {item.fitted_ceiling:.2f})"
        )
        return f"is not expected to reach {goal}{ceiling}"
    notes = ["extrapolated" if item.extrapolated else "fitted curve"]
    span = _fmt_range(item.target_estimate_low, item.target_estimate_high)
    if span:
        notes.append(span)
    estimate_text = f"{_fmt_count(estimate)} {_short(unit)}"
    return f"would reach {goal} at about {estimate_text} ({', '.join(notes)})"


def describe(
    needed: list[LabelsNeeded],
    *,
    pretrained: str | None,
    metric: str = "accuracy",
    unit: str = LABELS,
    lower_is_better: bool = False,
) -> list[str]:
    """Short plain-language lines, one per strategy that has something to say.

    ``lower_is_better`` words a target as a maximum ("mase 0.9 or lower") and the fitted
    asymptote as a floor; the gain over the pre-trained model is signed either way.

    ``unit`` names what a budget counts ("labels per class"; "training interactions" for a
    recommendation study).

    ``pretrained`` names the best pre-trained strategy; with None nothing is said about
    beating it (and a strategy with no target either gets no line).
    """
    lines: list[str] = []
    for item in needed:
        parts: list[str] = []
        if pretrained is not None:
            if item.beats_pretrained_at is None:
                parts.append("does not beat the pre-trained model at any measured budget")
            else:
                delta = item.beats_pretrained_delta
                gain = "" if delta is None else f" ({delta:+.2f} {metric})"
                parts.append(
                    f"beats the pre-trained model ({pretrained}) from "
                    f"{_fmt_budget(item.beats_pretrained_at, unit)}{gain}"
                )
        target = _target_clause(item, metric, unit, lower_is_better)
        if target is not None:
            parts.append(target)
        if parts:
            lines.append(f"{item.strategy} {'; '.join(parts)}")
    return lines
