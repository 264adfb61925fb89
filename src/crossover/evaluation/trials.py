"""``Trial`` (what to run) and ``TrialResult`` (what it measured): plain, serialisable data."""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from typing import Any

__all__ = ["API_FAILED_SHARE", "Trial", "TrialResult"]

#: A trial behind a paid API with more than this share of its test rows unanswered (calls
#: that failed after their retries) measured the outage, not the model: the study leaves it
#: out of the leaderboard, the costs and the recommendation. Below it the failed rows count
#: as errors (its score is then a lower bound, and the run says so).
API_FAILED_SHARE = 0.5


@dataclass(frozen=True)
class Trial:
    """One strategy, with its parameters, trained on one label budget of one split and seed.

    ``budget`` is a count of labelled rows per class, ``"full"`` (the whole training split),
    or 0 for a pretrained strategy, which trains on nothing. ``hash`` is the cache key.
    """

    strategy: str
    params: dict[str, Any] = field(default_factory=dict)
    budget: str | int = "full"
    seed: int = 0
    split_id: str = ""

    @property
    def hash(self) -> str:
        payload = json.dumps(asdict(self), sort_keys=True, default=str)
        return hashlib.sha256(payload.encode()).hexdigest()[:16]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class TrialResult:
    """What one trial measured. Units are in the names; see ``crossover.study.GLOSSARY``.

    Speed and size fields are NaN for trials that are not timed (learning-curve budgets).
    ``execution`` says where it ran: process id, whether in a worker, models loaded there.
    """

    trial: Trial
    kind: str
    metrics: dict[str, float]
    predictions: list[str]
    n_train: int
    fit_s: float
    fit_wall_s: float
    encode_train_s: float
    predict_s: float
    latency_p50_ms: float
    latency_p95_ms: float
    throughput_rows_s: float
    size_mb: float
    parameters: int
    peak_mem_mb: float
    embedding_model: str | None = None
    n_classes: int = 0
    execution: dict[str, Any] = field(default_factory=dict)
    #: For a model behind a paid API: ``model`` (the provider's id) and the measured
    #: ``input_tokens_per_prediction`` / ``output_tokens_per_prediction``; None when self-hosted.
    api: dict[str, Any] | None = None
    #: Class probabilities of the test rows (rows x ``classes``), for tasks scored on them
    #: (ROC-AUC, PR-AUC); None for tasks scored on labels only.
    proba: list[list[float]] | None = None
    classes: list[str] | None = None
    #: For a task whose metrics are means over test units (recommendation: users): per metric,
    #: each unit's value in the order of the study's ``y_true`` (None where the metric is not
    #: defined for that unit, e.g. a user outside the cold-start slice). The study bootstraps
    #: the units from them.
    unit_scores: dict[str, list[float | None]] | None = None
    #: Warnings raised while the trial ran (scikit-learn's, at small budgets), not printed:
    #: one entry per distinct warning, ``source`` (the package: "scikit-learn"), ``category``,
    #: ``message`` (on one line, cut at 200 characters) and ``count``. Empty when none was raised.
    warnings: list[dict[str, Any]] = field(default_factory=list)
    #: How the speed was timed (None when it was not, or by an older crossover): the rounds
    #: (``p50_ms_rounds``, ``throughput_rows_s_rounds``: the latency's spread; the throughput
    #: above is the best round's) and ``load``, the machine's meanwhile (``other_cores``,
    #: ``cpu_share``, ``busy``; see ``crossover.evaluation.latency.MachineLoad``).
    timing: dict[str, Any] | None = None

    @property
    def timed_busy(self) -> bool:
        """Whether its speed was timed while other work competed for the machine's cores."""
        load = (self.timing or {}).get("load") or {}
        return bool(load.get("busy"))

    @property
    def api_failed(self) -> bool:
        """Whether it is behind a paid API and most of its calls got no answer
        (``API_FAILED_SHARE``)."""
        api = self.api or {}
        predictions = int(api.get("predictions") or 0)
        return predictions > 0 and int(api.get("failed") or 0) > API_FAILED_SHARE * predictions

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["trial"] = self.trial.to_dict()
        out["trial_hash"] = self.trial.hash
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TrialResult:
        data = dict(data)
        data.pop("trial_hash", None)
        data["trial"] = Trial(**data["trial"])
        for key in ("latency_p50_ms", "latency_p95_ms", "throughput_rows_s", "size_mb"):
            if data.get(key) is None:
                data[key] = float("nan")
        return cls(**data)
