"""``Study``: every trial's result and the views derived from them, saved as JSON."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from crossover.errors import DataError
from crossover.evaluation.bootstrap import LABEL_METRICS, bootstrap, percentile_interval
from crossover.evaluation.learning_curve import LEARNING_CURVE_COLUMNS
from crossover.evaluation.runner import is_timed
from crossover.evaluation.trials import TrialResult

__all__ = [
    "GLOSSARY",
    "LEADERBOARD_COLUMNS",
    "LEARNING_CURVE_COLUMNS",
    "SCHEMA_VERSION",
    "Study",
    "load_study",
]

SCHEMA_VERSION = 1

LEADERBOARD_COLUMNS = [
    "strategy",
    "kind",
    "metric",
    "score",
    "ci_low",
    "ci_high",
    "delta_vs_best",
    "significant",
    "fit_s",
    "latency_p50_ms",
    "latency_p50_ms_low",
    "latency_p50_ms_high",
    "latency_p95_ms",
    "throughput_rows_s",
    "throughput_rows_s_low",
    "size_mb",
    "timed_busy",
]

GLOSSARY: dict[str, str] = {
    "strategy": "registry key of the strategy",
    "kind": "pretrained (used as it is), custom (trained from scratch) or hybrid (pre-trained "
    "base adapted with your data)",
    "metric": "the headline metric the rows are ranked by, best first (higher is better, "
    "unless lower_is_better names it)",
    "score": "the metric on the test rows; with repeated splits (small tables), its mean over "
    "the splits",
    "ci_low": "lower end of the 95 % bootstrap interval of score (percentile method); with "
    "repeated splits, of the corrected resampled t interval across the splits (Nadeau & "
    "Bengio 2003: the variance of the mean is (1/J + n_test/n_train) times the splits' "
    "variance, since the splits share training rows)",
    "ci_high": "upper end of that interval",
    "delta_vs_best": "score minus the best strategy's score (0 for the best; a worse strategy "
    "has a negative delta, or a positive one where lower is better)",
    "significant": "whether the 95 % paired-bootstrap interval of delta_vs_best excludes 0 "
    "(with repeated splits: the corrected t interval of the per-split differences); empty for "
    "the best strategy",
    "fit_s": "seconds to train on the training rows, including encoding them with the "
    "pre-trained model (the embedding cache skips that work, so it is charged back at a rate "
    "timed without cache on up to 512 training texts); for a pretrained strategy, encoding "
    "the label names",
    "latency_p50_ms": "median milliseconds to predict one row, caches bypassed, over every "
    "call of 3 timing rounds",
    "latency_p50_ms_low": "the lowest of the 3 rounds' medians (the spread of latency_p50_ms)",
    "latency_p50_ms_high": "the highest of the 3 rounds' medians",
    "latency_p95_ms": "95th percentile milliseconds to predict one row, caches bypassed, over "
    "every call of the 3 rounds",
    "throughput_rows_s": "rows predicted per second in batches of 64, caches bypassed: the "
    "best of 3 rounds (other work on the machine only slows a round down); the serving costs "
    "use it",
    "throughput_rows_s_low": "the slowest round's rows per second",
    "lower_is_better": "the metrics where a smaller value is better (errors such as MASE or "
    "the Brier score); every other metric is better higher",
    "timed_busy": "whether other processes competed for the cores while it was timed (they "
    "used half a core or more on average, or the timed code got under 0.6 of a core): its "
    "latency is then overstated",
    "size_mb": "megabytes on disk to deploy it: saved state plus the pre-trained model it needs",
    "peak_mem_mb": "highest growth of the process's resident memory during fit and predict "
    "(a model already loaded by an earlier strategy is not counted again)",
    "budget_per_class": "labelled training rows per class a learning-curve point trained on "
    "(every row of a smaller class); 'full' is the whole training split, 0 a pretrained model",
    "n_labels": "labelled training rows, mean over seeds",
    "seed_count": "number of seeds (stratified subsamples) at this budget",
    "score_mean": "the metric on the test rows, mean over seeds",
    "score_ci_low": "lower end of the 95 % interval of score_mean: Student-t across seeds, or "
    "the test-set bootstrap interval when there is one seed",
    "score_ci_high": "upper end of that interval",
    "fit_s_mean": "fit seconds, mean over seeds",
}


def task_glossary(task: str) -> dict[str, str]:
    """What ``task``'s metrics mean; none for a task that is not installed here (a study
    written elsewhere, by a plugin task)."""
    from crossover import tasks
    from crossover.errors import ConfigError

    try:
        return dict(tasks.get(task).glossary)
    except ConfigError:
        return {}


def task_lower_is_better(task: str) -> list[str]:
    """The metrics of ``task`` where lower is better; none for a task that is not installed
    here."""
    from crossover import tasks
    from crossover.errors import ConfigError

    try:
        return sorted(tasks.get(task).lower_is_better)
    except ConfigError:
        return []


def _round_extreme(result: TrialResult, key: str, pick: Any) -> float:
    """The lowest or highest (``pick``: min or max) of a trial's timing rounds; NaN when its
    speed was not timed in rounds."""
    rounds = (result.timing or {}).get(key) or []
    return float(pick(rounds)) if rounds else math.nan


def _clean(value: Any) -> Any:
    """JSON cannot hold NaN; numpy scalars become Python numbers."""
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


@dataclass
class Study:
    """All trial results of one comparison, the data and the machine they came from.

    ``statistics`` holds, per strategy and metric: ``score``, ``ci_low``, ``ci_high`` and the
    paired difference to the best strategy (``delta``, ``delta_ci_low``, ``delta_ci_high``,
    ``significant``). It is computed on creation from the stored predictions.

    The best strategy has the highest headline score, or the lowest where the headline is in
    ``lower_is_better`` (an error: MASE); ``delta`` is always the strategy's score minus the
    best one's, so there a worse strategy has a positive delta.
    """

    results: list[TrialResult]
    y_true: list[str]
    task: str
    headline: str
    spec: dict[str, Any]
    dataset: dict[str, Any]
    split: dict[str, Any]
    environment: dict[str, Any]
    settings: dict[str, Any]
    duration_s: float = 0.0
    created_at: str = ""
    statistics: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)
    curves: dict[str, Any] = field(default_factory=dict)
    #: The test rows' inputs, in the order of ``y_true`` (the report quotes the confusions).
    x_test: list[str] = field(default_factory=list)
    #: Tables with ``--amount`` and ``--cost-fp``: per strategy, the expected-loss threshold
    #: and the money it saves on the test rows (``tasks.tabular.metrics.decision_threshold``).
    thresholds: dict[str, Any] = field(default_factory=dict)
    #: The metrics where a smaller value is better (errors: MASE, the Brier score). None: the
    #: task's ``Task.lower_is_better`` when the task is installed here, else none. Saved in
    #: study.json, so that a study of a plugin task not installed here still ranks its
    #: strategies the right way round.
    lower_is_better: list[str] | None = None

    def __post_init__(self) -> None:
        if self.lower_is_better is None:
            self.lower_is_better = task_lower_is_better(self.task)
        self.lower_is_better = sorted(self.lower_is_better)
        if not self.statistics and self.results:
            self.statistics = self._compute_statistics()
        if not self.curves and self.results:
            self.curves = self._compute_curves()

    def lower_better(self, metric: str | None = None) -> bool:
        """Whether a smaller ``metric`` (default: the headline) is the better one."""
        return (metric or self.headline) in (self.lower_is_better or ())

    def orientation(self, metric: str | None = None) -> float:
        """1.0 where a higher ``metric`` (default: the headline) is better, -1.0 where lower
        is: ``orientation() * score`` is higher for the better strategy."""
        return -1.0 if self.lower_better(metric) else 1.0

    @property
    def primary_split(self) -> str:
        """The id of the split that holds ``y_true``, the learning curves and the latency."""
        return str(self.split.get("split_id", ""))

    def _on_primary(self, r: TrialResult) -> bool:
        return (not self.primary_split or r.trial.split_id == self.primary_split) and (
            r.trial.strategy not in self._failed
        )

    @property
    def _failed(self) -> frozenset[str]:
        return frozenset(r.trial.strategy for r in self.results if r.api_failed)

    @property
    def failed(self) -> list[str]:
        """Strategies behind a paid API whose calls mostly got no answer
        (``TrialResult.api_failed``): they measured the outage, not the model, so no view of
        the study (leaderboard, curves, costs, recommendation) counts them; their results
        stay in ``results``."""
        return sorted(self._failed)

    @property
    def leaderboard_results(self) -> list[TrialResult]:
        """The trials on the leaderboard: pretrained ones and trained ones on the full split
        (of the primary split, when the study repeats its splits); none of a ``failed``
        strategy."""
        return [r for r in self.results if is_timed(r.trial) and self._on_primary(r)]

    def split_results(self) -> dict[str, list[TrialResult]]:
        """Each leaderboard strategy's trials on every split, in the order of ``split_ids``."""
        ids = list(self.split.get("split_ids") or [self.primary_split])
        out: dict[str, list[TrialResult]] = {}
        for r in self.leaderboard_results:
            by_split = {
                x.trial.split_id: x
                for x in self.results
                if is_timed(x.trial) and x.trial.strategy == r.trial.strategy
            }
            out[r.trial.strategy] = [by_split[i] for i in ids if i in by_split]
        return out

    @property
    def repeated(self) -> bool:
        """Whether the leaderboard is measured over several splits."""
        return any(len(v) > 1 for v in self.split_results().values())

    def _resample(
        self, results: dict[str, TrialResult], metrics: tuple[str, ...] | None = None
    ) -> dict[str, dict[str, np.ndarray]]:
        """Each result's metrics on the same bootstrap resamples of the primary test rows:
        label metrics from the predictions, score metrics (PR-AUC ...) from the probabilities."""
        y_true = np.asarray(self.y_true, dtype=object)
        n_resamples = int(self.settings.get("n_resamples", 2000))
        seed = int(self.settings.get("seed", 0))
        label_metrics = tuple(
            m
            for m in LABEL_METRICS
            if (metrics is None or m in metrics) and all(m in r.metrics for r in results.values())
        )
        out: dict[str, dict[str, np.ndarray]] = {k: {} for k in results}
        if any(r.unit_scores for r in results.values()):
            from crossover.evaluation.bootstrap import _resample_counts

            counts = _resample_counts(len(y_true), n_resamples, seed).astype(np.float64)
            for k, r in results.items():
                for metric, per_unit in (r.unit_scores or {}).items():
                    if metrics is not None and metric not in metrics:
                        continue
                    v = np.array([np.nan if x is None else x for x in per_unit], dtype=np.float64)
                    defined = np.isfinite(v)
                    with np.errstate(invalid="ignore", divide="ignore"):
                        out[k][metric] = (counts @ np.where(defined, v, 0.0)) / (counts @ defined)
        if label_metrics:
            preds = {k: np.asarray(r.predictions, dtype=object) for k, r in results.items()}
            boot = bootstrap(
                y_true, preds, n_resamples=n_resamples, seed=seed, metrics=label_metrics
            )
            for k in results:
                out[k].update(boot.samples[k])
        scored = {k: r for k, r in results.items() if r.proba is not None and r.classes}
        if scored:
            from crossover.evaluation.bootstrap import _resample_counts
            from crossover.evaluation.score_bootstrap import (
                binary_score_samples,
                multiclass_score_samples,
            )

            counts = _resample_counts(len(y_true), n_resamples, seed)
            fpr = float(self.settings.get("fpr") or 0.01)
            for k, r in scored.items():
                classes = np.asarray(r.classes, dtype=object)
                proba = np.asarray(r.proba, dtype=np.float64)
                if len(classes) == 2:
                    positive = self.spec.get("positive")
                    col = int(np.flatnonzero(classes == positive)[0]) if positive in classes else 1
                    y = (y_true == classes[col]).astype(int)
                    samples = binary_score_samples(y, proba[:, col], counts, fpr=fpr)
                else:
                    index = {c: i for i, c in enumerate(classes)}
                    known = np.array([v in index for v in y_true])
                    codes = np.array([index[v] for v in y_true[known]])
                    samples = multiclass_score_samples(codes, proba[known], counts[:, known])
                for metric, values in samples.items():
                    if metric in r.metrics and (metrics is None or metric in metrics):
                        out[k][metric] = values
        return out

    @property
    def best(self) -> str:
        """The strategy with the best headline score (the highest, or the lowest where the
        headline is lower-is-better)."""
        sign = self.orientation()
        return max(self.statistics, key=lambda s: sign * self.statistics[s][self.headline]["score"])

    def paired_delta(self, a: str, b: str, metric: str | None = None) -> dict[str, Any]:
        """Score of leaderboard strategy ``a`` minus ``b`` on the same test rows: the point
        difference, its paired-bootstrap 95 % interval, and whether it excludes zero."""
        metric = metric or self.headline
        if self.repeated:
            groups = self.split_results()
            diffs = _paired_split_values(groups[a], groups[b], metric)
            delta = float(np.mean(diffs))
            low, high = corrected_t_interval(diffs, self._test_train_ratio())
        else:
            board = {r.trial.strategy: r for r in self.leaderboard_results}
            samples = self._resample({k: board[k] for k in (a, b)}, (metric,))
            low, high = percentile_interval(samples[a][metric] - samples[b][metric])
            delta = float(board[a].metrics[metric] - board[b].metrics[metric])
        return {"delta": delta, "ci_low": low, "ci_high": high, "significant": low > 0 or high < 0}

    def _test_train_ratio(self) -> float:
        train = float(self.split.get("train_rows") or 1)
        return float(self.split.get("test_rows") or 0) / train

    def _repeated_statistics(self) -> dict[str, dict[str, dict[str, Any]]]:
        """Mean over the splits, with the corrected resampled t interval (Nadeau & Bengio)
        for each score and for each paired difference to the best strategy."""
        groups = self.split_results()
        ratio = self._test_train_ratio()

        def mean(name: str, metric: str) -> float:
            return float(np.mean([r.metrics[metric] for r in groups[name]]))

        sign = self.orientation()
        best = max(groups, key=lambda s: sign * mean(s, self.headline))
        stats: dict[str, dict[str, dict[str, Any]]] = {}
        for name, results in groups.items():
            stats[name] = {}
            shared = set.intersection(*(set(r.metrics) for r in results))
            best_metrics = set.intersection(*(set(r.metrics) for r in groups[best]))
            for metric in sorted(shared & best_metrics):
                values = np.array([r.metrics[metric] for r in results])
                low, high = corrected_t_interval(values, ratio)
                diffs = _paired_split_values(results, groups[best], metric)
                d_low, d_high = corrected_t_interval(diffs, ratio)
                stats[name][metric] = {
                    "score": float(values.mean()),
                    "ci_low": low,
                    "ci_high": high,
                    "delta": float(np.mean(diffs)),
                    "delta_ci_low": d_low,
                    "delta_ci_high": d_high,
                    "significant": None if name == best else bool(d_high < 0 or d_low > 0),
                    "splits": len(values),
                }
        return stats

    def _compute_statistics(self) -> dict[str, dict[str, dict[str, Any]]]:
        if self.repeated:
            return self._repeated_statistics()
        board = self.leaderboard_results
        samples = self._resample({r.trial.strategy: r for r in board})
        point = {r.trial.strategy: r.metrics for r in board}
        sign = self.orientation()
        best = max(point, key=lambda s: sign * point[s][self.headline])
        stats: dict[str, dict[str, dict[str, Any]]] = {}
        for name, metric_samples in samples.items():
            stats[name] = {}
            for metric, values in metric_samples.items():
                if metric not in samples[best]:
                    continue
                low, high = percentile_interval(values)
                diff = values - samples[best][metric]
                d_low, d_high = percentile_interval(diff)
                is_best = name == best
                stats[name][metric] = {
                    "score": float(point[name][metric]),
                    "ci_low": low,
                    "ci_high": high,
                    "delta": float(point[name][metric] - point[best][metric]),
                    "delta_ci_low": d_low,
                    "delta_ci_high": d_high,
                    "significant": None if is_best else bool(d_high < 0 or d_low > 0),
                }
        return stats

    def curve_points(self) -> pd.DataFrame:
        """One row per trial: strategy, kind, budget, n_labels, n_classes, seed, score, fit_s
        (and the leaderboard interval for trials on the leaderboard).

        Only the primary split's trials: with repeated splits the learning curves are measured
        on the first split, so a leaderboard trial's interval here is its test-set bootstrap
        on that split (the leaderboard's own interval is across splits)."""
        metric = self.headline
        rows = []
        intervals: dict[str, tuple[float, float]] = {}
        if self.repeated:
            board = {r.trial.strategy: r for r in self.leaderboard_results}
            samples = self._resample(board, (metric,))
            intervals = {
                k: percentile_interval(v[metric]) for k, v in samples.items() if metric in v
            }
        else:
            intervals = {
                k: (v[metric]["ci_low"], v[metric]["ci_high"])
                for k, v in self.statistics.items()
                if metric in v
            }
        for r in self.results:
            if not self._on_primary(r) or metric not in r.metrics:
                continue
            row: dict[str, Any] = {
                "strategy": r.trial.strategy,
                "kind": r.kind,
                "budget": r.trial.budget,
                "n_labels": r.n_train,
                "n_classes": r.n_classes,
                "seed": r.trial.seed,
                "score": r.metrics[metric],
                "fit_s": r.fit_s,
            }
            if is_timed(r.trial) and r.trial.strategy in intervals:
                row["score_ci_low"], row["score_ci_high"] = intervals[r.trial.strategy]
            rows.append(row)
        return pd.DataFrame(rows)

    def _compute_curves(self) -> dict[str, Any]:
        from crossover.evaluation.learning_curve import curve_table, describe, labels_needed
        from crossover.tasks import get as get_task

        metric = self.headline
        lower = self.lower_better()
        sign = self.orientation()
        points = self.curve_points()
        table = curve_table(points)
        on_primary = [r for r in self.results if self._on_primary(r) and metric in r.metrics]
        pretrained = [r for r in on_primary if r.kind == "pretrained"]
        # The best pre-trained strategy by its leaderboard trial: a zero-shot forecaster is
        # also measured at every history budget.
        board_pre = [r for r in pretrained if is_timed(r.trial)] or pretrained
        best_pre = max(board_pre, key=lambda r: sign * r.metrics[metric]) if board_pre else None
        significance: dict[tuple[str, int | str], tuple[float, float, float]] = {}
        if best_pre is not None:
            # Same resamples for every trial: the seed-mean of a strategy's per-resample score
            # minus the pretrained one's is a paired difference on the test rows.
            trained = [r for r in on_primary if r.kind != "pretrained"]
            own = [r for r in pretrained if r.trial.strategy == best_pre.trial.strategy]
            chosen = {r.trial.hash: r for r in [*trained, *own]}
            resampled = self._resample(chosen, (metric,))
            base = resampled[best_pre.trial.hash][metric]
            # Where the pre-trained strategy was measured at a trained one's budget (fed that
            # much history), the difference at that budget is against it there.
            base_at: dict[str, list[np.ndarray]] = {}
            for r in own:
                base_at.setdefault(str(r.trial.budget), []).append(resampled[r.trial.hash][metric])
            groups: dict[tuple[str, int | str], list[np.ndarray]] = {}
            for r in trained:
                key = (r.trial.strategy, r.trial.budget)
                groups.setdefault(key, []).append(resampled[r.trial.hash][metric])
            for key, samples in groups.items():
                at = base_at.get(str(key[1]))
                diff = np.mean(samples, axis=0) - (base if at is None else np.mean(at, axis=0))
                low, high = percentile_interval(diff)
                significance[key] = (float(diff.mean()), low, high)
        target = self.settings.get("target")
        needed = labels_needed(points, significance, target=target, lower_is_better=lower)
        return {
            "metric": metric,
            "pretrained": best_pre.trial.strategy if best_pre else None,
            "table": table.astype(object).where(table.notna(), None).to_dict(orient="records"),
            "significance": [
                {"strategy": k[0], "budget": k[1], "delta": v[0], "ci_low": v[1], "ci_high": v[2]}
                for k, v in significance.items()
            ],
            "labels_needed": [n.to_dict() for n in needed],
            "summary": describe(
                needed,
                pretrained=best_pre.trial.strategy if best_pre else None,
                metric=metric,
                unit=get_task(self.task).present.budget_unit,
                lower_is_better=lower,
            ),
        }

    @property
    def learning_curve(self) -> pd.DataFrame:
        """Mean and 95 % interval per strategy and budget; columns LEARNING_CURVE_COLUMNS."""
        return pd.DataFrame(self.curves.get("table", []), columns=LEARNING_CURVE_COLUMNS)

    @property
    def leaderboard(self) -> pd.DataFrame:
        """One row per strategy, best first; columns in ``LEADERBOARD_COLUMNS``, see GLOSSARY."""
        rows = []
        for r in self.leaderboard_results:
            s = self.statistics[r.trial.strategy][self.headline]
            rows.append(
                {
                    "strategy": r.trial.strategy,
                    "kind": r.kind,
                    "metric": self.headline,
                    "score": s["score"],
                    "ci_low": s["ci_low"],
                    "ci_high": s["ci_high"],
                    "delta_vs_best": s["delta"],
                    "significant": s["significant"],
                    "fit_s": r.fit_s,
                    "latency_p50_ms": r.latency_p50_ms,
                    "latency_p50_ms_low": _round_extreme(r, "p50_ms_rounds", min),
                    "latency_p50_ms_high": _round_extreme(r, "p50_ms_rounds", max),
                    "latency_p95_ms": r.latency_p95_ms,
                    "throughput_rows_s": r.throughput_rows_s,
                    "throughput_rows_s_low": _round_extreme(r, "throughput_rows_s_rounds", min),
                    "size_mb": r.size_mb,
                    "timed_busy": r.timed_busy if r.timing else None,
                }
            )
        frame = pd.DataFrame(rows, columns=LEADERBOARD_COLUMNS)
        frame["significant"] = frame["significant"].astype("boolean")
        frame["timed_busy"] = frame["timed_busy"].astype("boolean")
        return frame.sort_values("score", ascending=self.lower_better(), kind="stable").reset_index(
            drop=True
        )

    # -- persistence ------------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = _clean(
            {
                "schema_version": SCHEMA_VERSION,
                "created_at": self.created_at,
                "duration_s": self.duration_s,
                "task": self.task,
                "headline": self.headline,
                "lower_is_better": self.lower_is_better,
                "spec": self.spec,
                "dataset": self.dataset,
                "split": self.split,
                "environment": self.environment,
                "settings": self.settings,
                "glossary": {**GLOSSARY, **task_glossary(self.task)},
                "leaderboard": self.leaderboard.astype(object)
                .where(self.leaderboard.notna(), None)
                .to_dict(orient="records"),
                "statistics": self.statistics,
                "curves": self.curves,
                "results": [r.to_dict() for r in self.results],
                "y_true": self.y_true,
                "x_test": self.x_test,
                "thresholds": self.thresholds,
            }
        )
        return out

    def to_json(self, path: str | Path) -> Path:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(self.to_dict(), indent=1))
        return path

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Study:
        results = [TrialResult.from_dict(item) for item in data["results"]]
        return cls(
            results=results,
            y_true=list(data["y_true"]),
            task=data["task"],
            headline=data["headline"],
            spec=data["spec"],
            dataset=data["dataset"],
            split=data["split"],
            environment=data["environment"],
            settings=data["settings"],
            duration_s=float(data.get("duration_s", 0.0)),
            created_at=str(data.get("created_at", "")),
            statistics=data["statistics"],
            curves=data.get("curves", {}),
            x_test=list(data.get("x_test") or []),
            thresholds=dict(data.get("thresholds") or {}),
            lower_is_better=data.get("lower_is_better"),
        )

    @classmethod
    def from_json(cls, path: str | Path) -> Study:
        return load_study(path)


def corrected_t_interval(
    values: np.ndarray, test_train_ratio: float, confidence: float = 0.95
) -> tuple[float, float]:
    """Interval of the mean of per-split values from repeated random splits.

    The corrected resampled t interval of Nadeau & Bengio (2003): the splits share training
    rows, so their values are correlated and the plain t interval is too narrow; the variance
    of the mean is taken as ``(1 / J + n_test / n_train) * s^2`` instead of ``s^2 / J``.
    """
    from scipy import stats

    values = np.asarray(values, dtype=np.float64)
    mean = float(values.mean())
    if len(values) < 2:
        return mean, mean
    scale = np.sqrt((1.0 / len(values) + test_train_ratio) * values.var(ddof=1))
    half = float(stats.t.ppf(0.5 + confidence / 2, len(values) - 1) * scale)
    return mean - half, mean + half


def _paired_split_values(a: list[TrialResult], b: list[TrialResult], metric: str) -> np.ndarray:
    """``a``'s metric minus ``b``'s on each split both were measured on."""
    other = {r.trial.split_id: r.metrics[metric] for r in b}
    return np.array(
        [r.metrics[metric] - other[r.trial.split_id] for r in a if r.trial.split_id in other]
    )


def load_study(path: str | Path) -> Study:
    """Read a ``study.json`` written by ``Study.to_json`` (any supported schema version), or
    the one in the folder ``path``."""
    path = Path(path)
    if path.is_dir():
        path = path / "study.json"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise DataError(f"{path}: no such study file; run `crossover compare` first") from None
    except (OSError, ValueError) as exc:  # UnicodeDecodeError and JSONDecodeError included
        raise DataError(
            f"{path} is not a crossover study: {_not_json(exc)}; {_PASS_STUDY}"
        ) from exc
    version = data.get("schema_version") if isinstance(data, dict) else None
    if version is not None and version != SCHEMA_VERSION:
        raise DataError(
            f"{path}: study schema version {version!r} is not supported "
            f"(this crossover reads {SCHEMA_VERSION})"
        )
    if not isinstance(data, dict) or version is None or "task" not in data:
        found = (
            f"keys {', '.join(map(repr, list(data)[:5]))}"
            if isinstance(data, dict)
            else f"a JSON {type(data).__name__}"
        )
        raise DataError(
            f"{path} is not a crossover study (no schema_version and task; it holds {found}); "
            f"{_PASS_STUDY}"
        )
    try:
        _check_shape(data)
        return Study.from_dict(data)
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        what = f"no {exc.args[0]!r}" if isinstance(exc, KeyError) and exc.args else str(exc)
        raise DataError(
            f"{path}: a crossover study, but damaged or edited ({what}); run `crossover "
            "compare` again to write it afresh"
        ) from exc


_PASS_STUDY = "pass the study.json that `crossover compare` wrote (or its output folder)"
# The JSON type of each part of a study; those marked optional may be absent.
_SHAPE: dict[str, tuple[type | tuple[type, ...], bool]] = {
    "task": (str, True),
    "headline": (str, True),
    "spec": (dict, True),
    "dataset": (dict, True),
    "split": (dict, True),
    "environment": (dict, True),
    "settings": (dict, True),
    "statistics": (dict, True),
    "results": (list, True),
    "y_true": (list, True),
    "curves": (dict, False),
    "x_test": (list, False),
    "thresholds": (dict, False),
    "lower_is_better": (list, False),
    "duration_s": ((int, float), False),
    "created_at": (str, False),
}
_JSON_NAMES = {str: "a string", dict: "an object", list: "an array", int: "a number"}


def _check_shape(data: dict[str, Any]) -> None:
    """A KeyError or TypeError naming the first part of ``data`` that is absent or of another
    JSON type than a study's, and each trial result not an object."""
    for key, (kind, required) in _SHAPE.items():
        if key not in data:
            if required:
                raise KeyError(key)
            continue
        value = data[key]
        if not isinstance(value, kind) or isinstance(value, bool):
            expected = _JSON_NAMES[kind if isinstance(kind, type) else kind[0]]
            raise TypeError(f"{key!r} is {type(value).__name__}, not {expected}")
    if not all(isinstance(r, dict) for r in data["results"]):
        raise TypeError("a trial result of 'results' is not an object")
    if not all(isinstance(m, str) for m in data.get("lower_is_better") or []):
        raise TypeError("a metric of 'lower_is_better' is not a string")
    metrics = [m for m in data["statistics"].values() if isinstance(m, dict)]
    if metrics and not any(data["headline"] in m for m in metrics):
        raise ValueError(f"'headline' names {data['headline']!r}, a metric the study lacks")


def _not_json(exc: Exception) -> str:
    if isinstance(exc, json.JSONDecodeError):
        return f"not JSON ({exc.msg} at line {exc.lineno}, column {exc.colno})"
    if isinstance(exc, UnicodeDecodeError):
        return "not a text file (not UTF-8)"
    return f"cannot be read ({exc})"
