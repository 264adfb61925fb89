"""Planning, the trial store, parallel workers, and resuming a killed study."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pandas as pd
import pytest

import crossover
from crossover.evaluation.budgets import FULL
from crossover.evaluation.runner import plan
from crossover.evaluation.store import TrialStore
from crossover.evaluation.trials import Trial
from crossover.tasks import Split
from tests.conftest import FAST_MODEL, make_tickets

ROOT = Path(__file__).resolve().parents[2]


def _split() -> Split:
    frame = make_tickets(20)
    return Split(frame, frame, "split-x", "test")


def test_plan_gives_every_trained_strategy_the_same_budgets_and_seeds() -> None:
    trials, summary = plan(
        ["text.zero-shot-embeddings", "text.tfidf-linear", "text.embedding-head"],
        {},
        _split(),
        seed=0,
        label="label",
        budgets=[2, 4, 64, FULL],
        seeds=3,
    )
    assert summary["skipped_budgets"] == [64]  # 20 rows per class: 64 would be all of them
    pretrained = [t for t in trials if t.strategy == "text.zero-shot-embeddings"]
    assert [(t.budget, t.seed) for t in pretrained] == [(0, 0)]
    for key in ("text.tfidf-linear", "text.embedding-head"):
        cells = sorted((str(t.budget), t.seed) for t in trials if t.strategy == key)
        assert cells == [("2", 0), ("2", 1), ("2", 2), ("4", 0), ("4", 1), ("4", 2), ("full", 0)]
    assert len({t.hash for t in trials}) == len(trials)


def test_trial_hash_changes_with_any_field() -> None:
    base = Trial("text.tfidf-linear", {"C": 1.0}, 4, 0, "s")
    variants = [
        Trial("text.embedding-head", {"C": 1.0}, 4, 0, "s"),
        Trial("text.tfidf-linear", {"C": 2.0}, 4, 0, "s"),
        Trial("text.tfidf-linear", {"C": 1.0}, 8, 0, "s"),
        Trial("text.tfidf-linear", {"C": 1.0}, 4, 1, "s"),
        Trial("text.tfidf-linear", {"C": 1.0}, 4, 0, "t"),
    ]
    assert len({base.hash, *(v.hash for v in variants)}) == 6
    assert Trial("text.tfidf-linear", {"C": 1.0}, 4, 0, "s").hash == base.hash


def test_trial_store_round_trip_and_ignores_partial_files(tmp_path: Path) -> None:
    study = crossover.compare(
        make_tickets(8),
        strategies="text.tfidf-linear",
        budgets="full",
        progress=False,
        measure_speed=False,
        trials_dir=tmp_path,
    )
    store = TrialStore(tmp_path)
    result = study.results[0]
    loaded = store.get(result.trial)
    assert loaded is not None
    assert json.dumps(loaded.to_dict()) == json.dumps(result.to_dict())  # NaN-safe equality
    (tmp_path / f"{result.trial.hash}.json").write_text('{"trial": ')  # a torn write
    assert store.get(result.trial) is None
    (tmp_path / ".tmp-abc.part").write_text("{")  # what a kill during put() leaves
    TrialStore(tmp_path)
    assert not (tmp_path / ".tmp-abc.part").exists()


def test_compare_learning_curve_runs_in_workers_without_loading_the_encoder() -> None:
    kwargs = dict(
        strategies="text.embedding-head,text.tfidf-linear",
        model=FAST_MODEL,
        budgets="2,4,full",
        seeds=2,
        progress=False,
        measure_speed=False,
    )
    parallel = crossover.compare(make_tickets(12), jobs=2, **kwargs)
    serial = crossover.compare(make_tickets(12), jobs=1, **kwargs)
    workers = [r for r in parallel.results if r.execution.get("worker")]
    assert len(workers) == 8  # 2 strategies x 2 budgets x 2 seeds
    assert {r.execution["pid"] for r in workers}.isdisjoint({os.getpid()})
    heads = [r for r in workers if r.trial.strategy == "text.embedding-head"]
    assert all(r.execution["models_loaded"] == 0 for r in heads)
    cols = ["strategy", "budget_per_class", "score_mean", "score_ci_low", "score_ci_high"]
    pd.testing.assert_frame_equal(parallel.learning_curve[cols], serial.learning_curve[cols])


_SCRIPT = textwrap.dedent(
    """
    import sys, time
    import crossover
    from crossover.strategies.text import TfidfLinear
    from tests.conftest import make_tickets

    @crossover.register
    class SlowTfidf(TfidfLinear):
        key = "text.slow-tfidf"

        def _fit(self, X, y):
            time.sleep(0.4)  # slow enough to be killed half-way
            super()._fit(X, y)

    study = crossover.compare(
        make_tickets(20), strategies="text.slow-tfidf", budgets="2,4,8,full", seeds=3,
        jobs=1, measure_speed=False, progress=False, trials_dir=sys.argv[1],
    )
    crossover.write_outputs(study, sys.argv[2])
    """
)


def _start(script: Path, trials: Path, out: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.Popen([sys.executable, str(script), str(trials), str(out)], env=env)


@pytest.mark.slow
def test_study_killed_half_way_resumes_without_recomputing(tmp_path: Path) -> None:
    script = tmp_path / "study.py"
    script.write_text(_SCRIPT)
    trials = tmp_path / "trials"
    process = _start(script, trials, tmp_path / "out")
    deadline = time.monotonic() + 120
    while len(list(trials.glob("*.json"))) < 4 and time.monotonic() < deadline:
        time.sleep(0.05)
    process.send_signal(signal.SIGKILL)
    process.wait()
    before = {p.name: p.stat().st_mtime_ns for p in trials.glob("*.json")}
    assert 4 <= len(before) < 10, "the study should have been killed half-way"

    assert _start(script, trials, tmp_path / "out").wait() == 0
    after = {p.name: p.stat().st_mtime_ns for p in trials.glob("*.json")}
    assert len(after) == 10  # 1 full + 3 budgets x 3 seeds
    assert not list(trials.glob(".tmp-*"))  # a write cut by the kill was cleaned up
    assert {name: after[name] for name in before} == before  # finished trials not recomputed

    assert _start(script, tmp_path / "fresh", tmp_path / "fresh-out").wait() == 0
    resumed = pd.read_csv(tmp_path / "out" / "learning_curve.csv")
    fresh = pd.read_csv(tmp_path / "fresh-out" / "learning_curve.csv")
    cols = ["strategy", "budget_per_class", "n_labels", "score_mean", "score_ci_low"]
    pd.testing.assert_frame_equal(resumed[cols], fresh[cols])
    board = ["strategy", "score", "ci_low", "ci_high"]
    pd.testing.assert_frame_equal(
        pd.read_csv(tmp_path / "out" / "leaderboard.csv")[board],
        pd.read_csv(tmp_path / "fresh-out" / "leaderboard.csv")[board],
    )
