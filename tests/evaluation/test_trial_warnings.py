"""Warnings raised while trials run are recorded in their results and summed up once, never
printed raw (from this process or from workers)."""

from __future__ import annotations

import io
import warnings
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from crossover import tasks
from crossover.evaluation.backends import ProcessPoolBackend
from crossover.evaluation.budgets import FULL
from crossover.evaluation.execute import count_warnings, warning_lines
from crossover.evaluation.progress import PlainReporter
from crossover.evaluation.runner import TrialData, plan, run, run_trial
from crossover.evaluation.store import TrialStore
from crossover.evaluation.trials import Trial, TrialResult
from crossover.tasks import Split
from tests.conftest import FAST_MODEL, make_tickets

TASK = tasks.get("text-classification")
HEAD = "text.embedding-head"
# One iteration of lbfgs does not converge: scikit-learn's ConvergenceWarning, a UserWarning,
# at every fit.
UNCONVERGED = {HEAD: {"model": FAST_MODEL, "max_iter": 1}}


@pytest.fixture(scope="module")
def setup() -> tuple[list[Trial], TrialData]:
    frame = make_tickets(12)
    split = Split(frame.iloc[::2], frame.iloc[1::2], "split-w", "halves")
    trials, _ = plan([HEAD], UNCONVERGED, split, 0, label="label", budgets=[2, FULL], seeds=2)
    return trials, TrialData.from_split(split, "text", "label", None)


def _unconverged(result: TrialResult) -> dict[str, Any]:
    (entry,) = [e for e in result.warnings if e["category"] == "ConvergenceWarning"]
    return entry


def _check_recorded(results: list[TrialResult], printed: str) -> None:
    for result in results:
        entry = _unconverged(result)
        assert entry["source"] == "scikit-learn"
        assert entry["message"].startswith("lbfgs failed to converge")
        assert entry["count"] >= 1
    assert "ConvergenceWarning" not in printed and "warnings.warn" not in printed


def test_run_records_a_trials_warnings_and_prints_one_line_each(
    setup: tuple[list[Trial], TrialData], capfd: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    trials, data = setup
    stream = io.StringIO()
    store = TrialStore(tmp_path)
    # Warnings are errors in this test suite: a raw one would fail the test here.
    results = run(
        trials, data, TASK, reporter=PlainReporter(stream), measure_speed=False, store=store
    )
    _check_recorded(results, capfd.readouterr().err)
    summary = [line for line in stream.getvalue().splitlines() if "(ConvergenceWarning)" in line]
    full = _unconverged(results[0])["count"]
    curve = sum(_unconverged(r)["count"] for r in results[1:])
    assert summary == [
        f"scikit-learn warned (ConvergenceWarning) {full} time{'s' * (full > 1)} in 1 trial of "
        f"{HEAD} on every training row: {_unconverged(results[0])['message']}",
        f"scikit-learn warned (ConvergenceWarning) {curve} times in 2 trials of {HEAD} at "
        f"2 labels per class: {_unconverged(results[1])['message']}",
    ]
    # Kept with the result: the trial store gives them back.
    assert [store.get(t).warnings for t in trials] == [r.warnings for r in results]  # type: ignore[union-attr]


def test_warnings_in_worker_processes_are_recorded_not_printed(
    setup: tuple[list[Trial], TrialData], capfd: pytest.CaptureFixture[str]
) -> None:
    trials, data = setup
    curve = [t for t in trials if t.budget != FULL]
    stream = io.StringIO()
    results = run(
        curve,
        data,
        TASK,
        reporter=PlainReporter(stream),
        measure_speed=False,
        backend=ProcessPoolBackend(2),
    )
    assert all(r.execution["worker"] for r in results)
    _check_recorded(results, capfd.readouterr().err)
    assert f"in 2 trials of {HEAD} at 2 labels per class" in stream.getvalue()


def _warning_trial(category: type[Warning]) -> Any:
    def trial(t: Trial, data: TrialData, task: Any, **kwargs: Any) -> TrialResult:
        warnings.warn("first line\n  second line", category, stacklevel=1)
        for _ in range(2):
            warnings.warn("first line", category, stacklevel=1)
        return run_trial(t, data, TASK, **kwargs)

    return trial


def test_a_tasks_own_trial_has_its_warnings_counted_by_message(
    setup: tuple[list[Trial], TrialData],
) -> None:
    trials, data = setup
    task = replace(TASK, run_trial=_warning_trial(UserWarning))
    result = run_trial(trials[1], data, task, measure_speed=False)
    ours = [e for e in result.warnings if e["source"] == "test_trial_warnings"]
    assert ours == [
        {"source": "test_trial_warnings", "category": "UserWarning", "message": m, "count": n}
        for m, n in (("first line second line", 1), ("first line", 2))
    ]
    assert _unconverged(result)["source"] == "scikit-learn"  # the inner trial's


def test_a_warning_made_an_error_stays_an_error(setup: tuple[list[Trial], TrialData]) -> None:
    trials, data = setup
    task = replace(TASK, run_trial=_warning_trial(DeprecationWarning))
    with pytest.raises(DeprecationWarning, match="first line"):  # pytest: warnings are errors
        run_trial(trials[1], data, task, measure_speed=False)


def test_results_without_warnings_read_as_before() -> None:
    result = TrialResult.from_dict(
        {
            "trial": Trial("text.tfidf-linear").to_dict(),
            **dict.fromkeys(["kind"], "trained"),
            "metrics": {},
            "predictions": [],
            **dict.fromkeys(["n_train", "parameters"], 0),
            **dict.fromkeys(
                ["fit_s", "fit_wall_s", "encode_train_s", "predict_s", "latency_p50_ms"], 0.0
            ),
            **dict.fromkeys(["latency_p95_ms", "throughput_rows_s", "size_mb", "peak_mem_mb"], 0.0),
        }
    )
    assert result.warnings == []
    assert warning_lines([result]) == []


def test_count_warnings_adds_to_what_was_counted() -> None:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        warnings.warn("x" * 300, UserWarning, stacklevel=1)
    (entry,) = count_warnings(caught, [])
    assert len(entry["message"]) == 203 and entry["message"].endswith("...")
    (again,) = count_warnings(caught, [entry])
    assert again["count"] == 2
