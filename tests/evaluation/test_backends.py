"""The backend seam: where learning-curve trials run is a plug-in; what they give is not."""

from __future__ import annotations

import pickle
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np
import pytest

from crossover import tasks
from crossover.evaluation.backends import (
    InProcessBackend,
    ProcessPoolBackend,
    TrialWork,
    execute,
)
from crossover.evaluation.budgets import FULL
from crossover.evaluation.runner import TrialData, is_timed, plan, run
from crossover.evaluation.store import TrialStore
from crossover.evaluation.trials import Trial, TrialResult
from crossover.tasks import Split
from tests.conftest import make_tickets

TASK = tasks.get("text-classification")


@pytest.fixture(scope="module")
def setup() -> tuple[list[Trial], TrialData]:
    frame = make_tickets(12)
    split = Split(frame.iloc[::2], frame.iloc[1::2], "split-b", "halves")
    trials, _ = plan(
        ["text.tfidf-linear"], {}, split, seed=0, label="label", budgets=[2, 4, FULL], seeds=2
    )
    data = TrialData.from_split(split, "text", "label", None)
    return trials, data


class RecordingBackend:
    """Runs trials here, newest first, and remembers which it was given."""

    where = "a test backend"

    def __init__(self) -> None:
        self.given: list[Trial] = []

    def map(self, trials: Sequence[Trial], work: TrialWork) -> Iterator[TrialResult]:
        self.given.extend(trials)
        for trial in reversed(trials):  # results may come back in any order
            yield execute(trial, work)


def test_run_sends_the_learning_curve_trials_to_the_backend(
    setup: tuple[list[Trial], TrialData], tmp_path: Path
) -> None:
    trials, data = setup
    backend = RecordingBackend()
    store = TrialStore(tmp_path)
    results = run(trials, data, TASK, measure_speed=False, store=store, backend=backend)
    assert backend.given == [t for t in trials if not is_timed(t)]
    assert [r.trial for r in results] == trials  # in the order of the plan, whatever the backend's
    assert all(store.get(t) is not None for t in trials)  # each result stored as it came
    again = RecordingBackend()
    run(trials, data, TASK, measure_speed=False, store=store, backend=again)
    assert again.given == []  # a rerun resumes: nothing left to run


def test_the_process_pool_gives_what_this_process_gives(
    setup: tuple[list[Trial], TrialData],
) -> None:
    trials, data = setup
    curve = [t for t in trials if not is_timed(t)]
    work = TrialWork({"split-b": data}, TASK, {})
    here = {r.trial.hash: r for r in InProcessBackend().map(curve, work)}
    pooled = list(ProcessPoolBackend(2).map(curve, work))
    assert {r.trial.hash for r in pooled} == set(here)
    for result in pooled:
        assert result.execution["worker"] is True
        assert result.metrics == here[result.trial.hash].metrics
        assert result.predictions == here[result.trial.hash].predictions


def test_work_travels_with_the_task_name_and_finds_the_task_again(
    setup: tuple[list[Trial], TrialData],
) -> None:
    _, data = setup
    copy = pickle.loads(pickle.dumps(TrialWork({"s": data}, TASK, {"m": 0.5})))
    assert copy.task is TASK
    assert copy.encode_s_per_text == {"m": 0.5}
    np.testing.assert_array_equal(copy.datas["s"].y_true, data.y_true)


def test_an_unknown_split_id_reads_the_primary_split(
    setup: tuple[list[Trial], TrialData],
) -> None:
    _, data = setup
    work = TrialWork({"first": data}, TASK, {})
    assert work.data_for(Trial("text.tfidf-linear", {}, 2, 0, "elsewhere")) is data
