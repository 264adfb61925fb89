"""A headline where lower is better (an error such as MASE): the best strategy, the
leaderboard's order, significance, "beats the pre-trained model", a pre-trained strategy
measured at budgets, the recommendation and its wording, the Pareto front, and study.json.

The studies are built from hand-made trial results on a toy task registered only here
(``err`` per test unit, lower is better), so no model runs."""

from __future__ import annotations

import json
import sys
import zlib
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from crossover import tasks
from crossover.costs import Scenario
from crossover.costs.sheet import price
from crossover.evaluation.trials import Trial, TrialResult
from crossover.recommend import decide
from crossover.report import render_html, render_markdown
from crossover.report.data import ReportData
from crossover.report.plots import pareto_front
from crossover.study import Study, load_study
from crossover.tasks import Presentation, Task

NAME = "toy-error"
N_UNITS = 300
RNG = np.random.default_rng(0)
#: Each unit's difficulty, shared by every strategy: differences are paired on the units.
HARD = RNG.gamma(4.0, 0.25, N_UNITS)


def _no_split(dataset: object, seed: int) -> object:
    raise NotImplementedError


TOY = Task(
    name=NAME,
    metrics={},
    headline="err",
    split=_no_split,  # type: ignore[arg-type]
    test_size=0.0,
    lower_is_better=frozenset({"err"}),
    present=Presentation(confusion=False),
)


@pytest.fixture(autouse=True)
def _toy_task(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(tasks._loaded, NAME, TOY)
    monkeypatch.setitem(sys.modules, "litellm", None)


def _result(
    strategy: str,
    kind: str,
    level: float,
    *,
    budget: int | str | None = None,
    seed: int = 0,
    noise: float = 0.02,
    p95_ms: float = 5.0,
    throughput: float = 100.0,
) -> TrialResult:
    """A trial whose per-unit error is ``level`` times each unit's difficulty, plus noise."""
    rng = np.random.default_rng(zlib.crc32(f"{strategy} {budget} {seed}".encode()))
    units = level * HARD + noise * rng.standard_normal(N_UNITS)
    if budget is None:
        budget = 0 if kind == "pretrained" else "full"
    timed = budget in (0, "full")
    return TrialResult(
        trial=Trial(strategy=strategy, budget=budget, seed=seed, split_id="s"),
        kind=kind,
        metrics={"err": float(units.mean())},
        predictions=[],
        n_train=0 if kind == "pretrained" else (1000 if budget == "full" else int(budget) * 4),
        fit_s=1.0,
        fit_wall_s=1.0,
        encode_train_s=0.0,
        predict_s=0.1,
        latency_p50_ms=p95_ms / 2 if timed else float("nan"),
        latency_p95_ms=p95_ms if timed else float("nan"),
        throughput_rows_s=throughput if timed else float("nan"),
        size_mb=10.0 if timed else float("nan"),
        parameters=100,
        peak_mem_mb=50.0,
        n_classes=4,
        unit_scores={"err": [float(v) for v in units]},
    )


def _study(*results: TrialResult, lower_is_better: list[str] | None = None, **settings: object):  # type: ignore[no-untyped-def]
    return Study(
        results=list(results),
        y_true=[f"u{i}" for i in range(N_UNITS)],
        task=NAME,
        headline="err",
        spec={},
        dataset={},
        split={"split_id": "s", "train_rows": 1000, "test_rows": N_UNITS},
        environment={"cpu_count": 2, "cpu": "test CPU"},
        settings={"n_resamples": 500, "seed": 0, **settings},
        lower_is_better=lower_is_better,
    )


def _board_study():  # type: ignore[no-untyped-def]
    return _study(
        _result("zs", "pretrained", 1.0, p95_ms=8.0),
        _result("good", "custom", 0.7, p95_ms=1.0, throughput=5000.0),
        _result("tie", "hybrid", 0.703, p95_ms=9.0, noise=0.05),
        _result("bad", "hybrid", 1.3),
    )


def test_study_lower_is_better_ranks_the_lowest_error_first() -> None:
    study = _board_study()
    assert study.lower_is_better == ["err"]  # from the task
    assert study.lower_better() and study.orientation() == -1.0
    assert study.best == "good"
    board = study.leaderboard
    assert board.strategy.iloc[0] == "good"
    assert board.score.is_monotonic_increasing
    assert board.delta_vs_best.iloc[0] == 0 and pd.isna(board.significant.iloc[0])
    # delta is own score minus the best's: worse strategies have a positive delta.
    assert (board.delta_vs_best.iloc[1:] > 0).all()
    significant = dict(zip(board.strategy, board.significant, strict=True))
    assert significant["bad"] and significant["zs"]
    assert not significant["tie"]


def test_study_orientation_comes_from_lower_is_better_alone() -> None:
    """The same trials with no metric lower-is-better: the highest error ranks first."""
    study = _study(
        _result("zs", "pretrained", 1.0),
        _result("good", "custom", 0.7),
        _result("bad", "hybrid", 1.3),
        lower_is_better=[],
    )
    assert study.best == "bad"
    assert study.leaderboard.strategy.tolist() == ["bad", "zs", "good"]


def test_study_custom_with_lower_error_beats_the_pretrained_one() -> None:
    # good's error falls with labels: worse than zs at 2, tied at 4, better from 8.
    levels = {2: 1.3, 4: 1.0, 8: 0.8, 16: 0.75}
    results = [_result("zs", "pretrained", 1.0), _result("good", "custom", 0.7)]
    results += [
        _result("good", "custom", level, budget=b, seed=s)
        for b, level in levels.items()
        for s in range(2)
    ]
    study = _study(*results, target=0.85)
    needed = {n["strategy"]: n for n in study.curves["labels_needed"]}
    assert needed["good"]["beats_pretrained_at"] == 8
    assert needed["good"]["beats_pretrained_delta"] < 0
    # The target is a maximum: reached where the mean error is at or below it.
    assert needed["good"]["target_reached_at"] == 8
    summary = " ".join(study.curves["summary"])
    assert "beats the pre-trained model (zs) from 8 labels per class (-0.2" in summary
    assert "reaches err 0.85 or lower at 8 per class" in summary


def test_study_pretrained_measured_at_budgets_is_compared_at_each_budget() -> None:
    """A zero-shot forecaster fed N points of history: measured at every budget (no budget-0
    trial); a trained strategy's difference at a budget is against it at that budget."""
    pre = {2: 1.5, 4: 1.2, "full": 0.9}
    trained = {2: 1.4, 4: 1.3, "full": 0.85}
    results = [_result("fc", "pretrained", v, budget=b) for b, v in pre.items()]
    results += [_result("gbm", "custom", v, budget=b) for b, v in trained.items()]
    results.append(_result("zs", "pretrained", 0.95))  # worse than fc's leaderboard trial
    study = _study(*results)
    assert study.curves["pretrained"] == "fc"
    deltas = {str(s["budget"]): s["delta"] for s in study.curves["significance"]}
    mean = float(HARD.mean())
    # Against fc at 2 (1.5), not at full (0.9): gbm is better there, worse at 4.
    assert deltas["2"] == pytest.approx((1.4 - 1.5) * mean, abs=0.01)
    assert deltas["4"] == pytest.approx((1.3 - 1.2) * mean, abs=0.01)
    assert deltas["full"] == pytest.approx((0.85 - 0.9) * mean, abs=0.01)
    needed = {n["strategy"]: n for n in study.curves["labels_needed"]}
    assert needed["gbm"]["beats_pretrained_at"] == 2
    # The forecaster keeps one learning-curve point per budget.
    fc = study.learning_curve[study.learning_curve.strategy == "fc"]
    assert sorted(map(str, fc.budget_per_class)) == ["2", "4", "full"]


def test_study_best_pretrained_is_chosen_by_its_leaderboard_trial() -> None:
    results = [
        _result("fc", "pretrained", 0.5, budget=2),  # a small budget scoring well
        _result("fc", "pretrained", 1.0, budget="full"),
        _result("zs", "pretrained", 0.95),
        _result("gbm", "custom", 0.9, budget=2),
        _result("gbm", "custom", 0.8),
    ]
    assert _study(*results).curves["pretrained"] == "zs"


def test_recommend_lower_is_better_chooses_the_lowest_error() -> None:
    study = _board_study()
    rec = decide(study, price(study, Scenario()))
    assert rec.choice in ("good", "tie")
    assert set(rec.tied) == {"good", "tie"}
    assert (
        "Its err is" in rec.reasons[1]
        and "lower than that of the pre-trained model zs" in (rec.reasons[1])
    )
    assert "points above" not in " ".join(rec.reasons)
    flip = next(f for f in rec.flip_points if f["kind"] == "metric")
    assert f"If you need err below {flip['value']:.3f}" in flip["text"]
    assert rec.comparison_strategies["hybrid"] == "tie"  # the best hybrid: lowest error


def test_recommend_lower_is_better_min_metric_is_a_maximum_error() -> None:
    study = _board_study()
    scenario = Scenario.from_dict({"constraints": {"min_metric": 0.9}})
    rec = decide(study, price(study, scenario))
    bad = study.statistics["bad"]["err"]["score"]
    assert rec.dropped["bad"] == [
        f"err {bad:.3f} is above the limit 0.9",
        "its learning curve does not get down to 0.9",
    ]
    assert "zs" in rec.dropped and "good" not in rec.dropped
    assert rec.choice in ("good", "tie")


def test_pareto_front_lower_is_better() -> None:
    points = [(1.0, 0.5), (2.0, 0.4), (3.0, 0.6)]
    assert pareto_front(points) == [0, 2]
    assert pareto_front(points, lower_is_better=True) == [0, 1]


def test_report_says_lower_is_better() -> None:
    study = _board_study()
    data = ReportData.from_study(study)
    assert data.lower_is_better
    assert data.leaderboard[0]["strategy"] == "good"
    assert "(lower is better)" in (data.charts["forest"] or "")
    assert "(lower is better)" in (data.charts["quality_latency"] or "")
    note = "Lower err is better: the best strategy is first, and a worse one has a positive"
    assert note in render_markdown(data)
    assert note in render_html(data) and "headline metric: err (lower is better)" in (
        render_html(data)
    )


def test_study_json_keeps_the_orientation(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    study = _board_study()
    path = study.to_json(tmp_path / "study.json")
    data = json.loads(path.read_text())
    assert data["lower_is_better"] == ["err"]
    # Read where the task is not installed (a plugin): the file says which way is better.
    monkeypatch.delitem(tasks._loaded, NAME)
    loaded = load_study(path)
    assert loaded.lower_is_better == ["err"]
    assert loaded.best == "good"
    pd.testing.assert_frame_equal(loaded.leaderboard, study.leaderboard)
    # A study.json written before the key existed still loads: the task's, when installed,
    # else none.
    del data["lower_is_better"]
    path.write_text(json.dumps(data))
    assert load_study(path).lower_is_better == []
    monkeypatch.setitem(tasks._loaded, NAME, TOY)
    assert load_study(path).lower_is_better == ["err"]
