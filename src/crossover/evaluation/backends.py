"""Where learning-curve trials run: the ``Backend`` seam, and its two implementations here.

A backend takes trials and the work they share (``TrialWork``: the rows of every split, the
task, the encoding rates) and yields each trial's result as soon as it finishes, in any
order; the runner stores each one at once, so a study killed half-way resumes from what
finished. Running one trial is a plain function of the trial and that work
(:func:`execute`), so a backend only decides *where* it runs:

- :class:`InProcessBackend` runs them here, one after the other (tests, ``jobs=1``);
- :class:`ProcessPoolBackend` runs them in local worker processes (spawned, one BLAS thread
  each), which receive the shared work once, not with every trial.

A cluster backend (Ray) implements the same ``map``; the trial store and the embedding cache
are files under one folder each, so shared storage is all it needs to see the same caches.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from crossover.evaluation.execute import TrialData, run_trial

if TYPE_CHECKING:
    from crossover.evaluation.trials import Trial, TrialResult
    from crossover.tasks import Task

__all__ = ["Backend", "InProcessBackend", "ProcessPoolBackend", "TrialWork", "execute"]


@dataclass(frozen=True)
class TrialWork:
    """What every trial of a batch shares: the rows of each split by split id (the first is
    the primary split), the task, and the encoding seconds per text of each model (charged
    back to the fit time of trials that read cached embeddings).

    It pickles with the task's name in place of the task, which the receiving process looks
    up again (``crossover.tasks.get``): a task's functions need not be picklable.
    """

    datas: dict[str, TrialData]
    task: Task
    encode_s_per_text: dict[str, float]

    def data_for(self, trial: Trial) -> TrialData:
        """The rows of the trial's split (the primary split's for an unknown split id)."""
        return self.datas.get(trial.split_id) or next(iter(self.datas.values()))

    def __reduce__(self) -> tuple[Any, tuple[Any, ...]]:
        return _work_by_task_name, (self.datas, self.task.name, self.encode_s_per_text)


def _work_by_task_name(
    datas: dict[str, TrialData], task: str, encode_s_per_text: dict[str, float]
) -> TrialWork:
    from crossover import tasks

    return TrialWork(datas, tasks.get(task), encode_s_per_text)


class Backend(Protocol):
    """Runs trials somewhere and yields their results as they finish (any order)."""

    #: Where, in a few words, for the progress line ("2 processes").
    where: str

    def map(self, trials: Sequence[Trial], work: TrialWork) -> Iterator[TrialResult]: ...


def execute(trial: Trial, work: TrialWork) -> TrialResult:
    """One learning-curve trial: fitted, scored on every test row, its speed not measured
    (only leaderboard trials are timed, in the main process)."""
    return run_trial(
        trial,
        work.data_for(trial),
        work.task,
        measure_speed=False,
        encode_s_per_text=work.encode_s_per_text,
    )


class InProcessBackend:
    """Every trial in this process, one after the other."""

    where = "this process"

    def map(self, trials: Sequence[Trial], work: TrialWork) -> Iterator[TrialResult]:
        for trial in trials:
            yield execute(trial, work)


class ProcessPoolBackend:
    """Trials in ``jobs`` local worker processes.

    Spawned, not forked (a forked copy of a process that has started torch's threads can
    hang); each worker gets the shared work once, at start, and runs with one BLAS thread so
    that ``jobs`` workers do not oversubscribe ``jobs`` cores.
    """

    def __init__(self, jobs: int) -> None:
        self.jobs = jobs
        self.where = f"{jobs} processes"

    def map(self, trials: Sequence[Trial], work: TrialWork) -> Iterator[TrialResult]:
        import multiprocessing

        context = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(
            max_workers=self.jobs, mp_context=context, initializer=_start_worker, initargs=(work,)
        ) as pool:
            futures = [pool.submit(_run_in_worker, trial) for trial in trials]
            for future in as_completed(futures):
                yield future.result()


_WORKER: dict[str, Any] = {}


def _start_worker(work: TrialWork) -> None:
    for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        os.environ[var] = "1"
    from threadpoolctl import threadpool_limits

    threadpool_limits(1)
    _WORKER["work"] = work


def _run_in_worker(trial: Trial) -> TrialResult:
    from crossover.models.embeddings import _load_model

    result = execute(trial, _WORKER["work"])
    result.execution = {
        "pid": os.getpid(),
        "worker": True,
        # Encoders this worker loaded: 0 for strategies that only need cached embeddings.
        "models_loaded": _load_model.cache_info().currsize,
    }
    return result
