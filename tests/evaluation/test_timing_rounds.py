"""Timings with their noise: rounds, their spread, the best round's throughput, and a machine
busy with other work flagged, from the measurement to the leaderboard, report and verdict."""

from __future__ import annotations

import subprocess
import sys
import time

import pytest

from crossover.costs import Scenario
from crossover.costs.sheet import price
from crossover.evaluation.execute import busy_lines
from crossover.evaluation.latency import MachineLoad, _cpus, measure_latency
from crossover.recommend import decide
from crossover.report.data import ReportData
from crossover.strategies.text import TfidfLinear
from tests.conftest import make_tickets
from tests.costs._fixtures import make_study, result


def _fitted() -> tuple[TfidfLinear, list[str]]:
    data = make_tickets()
    return TfidfLinear().fit(data.text, data.label), data.text.tolist()


def test_a_timing_comes_in_rounds_and_costs_read_the_best_one() -> None:
    strategy, texts = _fitted()
    latency = measure_latency(strategy, texts, max_seconds=0.3, max_single_calls=60)
    assert len(latency.p50_ms_rounds) == len(latency.throughput_rows_s_rounds) == 3
    assert all(p > 0 for p in latency.p50_ms_rounds)
    # Other work only slows a round: the throughput reported is the fastest round's.
    assert latency.throughput_rows_s == max(latency.throughput_rows_s_rounds)
    timing = latency.timing()
    assert timing["rounds"] == 3 and timing["batch_rows"] == latency.batch_rows
    assert latency.load is not None and latency.load.wall_s > 0 and latency.load.cpu_s > 0
    assert timing["load"]["busy"] == latency.load.busy


@pytest.mark.parametrize(
    ("load", "busy"),
    [
        (MachineLoad(wall_s=2.0, cpu_s=2.0, other_cores=0.1, cpus=2), False),
        (MachineLoad(wall_s=2.0, cpu_s=3.8, other_cores=0.0, cpus=4), False),  # 2 threads
        (MachineLoad(wall_s=2.0, cpu_s=2.0, other_cores=0.5, cpus=2), True),  # half a core
        (MachineLoad(wall_s=2.0, cpu_s=1.0, other_cores=None, cpus=2), True),  # 0.5 < 0.6
        (MachineLoad(wall_s=2.0, cpu_s=1.0, other_cores=0.0, cpus=2), True),
    ],
)
def test_the_busy_rule_by_hand(load: MachineLoad, busy: bool) -> None:
    assert load.busy is busy
    assert MachineLoad.from_dict(load.to_dict()) == load


def test_a_machine_busy_with_other_processes_is_flagged() -> None:
    strategy, texts = _fitted()
    spin = [sys.executable, "-c", "while True: pass"]
    spinners = [subprocess.Popen(spin) for _ in range(min(_cpus(), 8))]
    try:
        time.sleep(0.3)
        latency = measure_latency(strategy, texts, max_seconds=0.6, max_single_calls=200)
    finally:
        for p in spinners:
            p.kill()
            p.wait()
    assert latency.load is not None
    assert latency.load.busy
    assert latency.load.other_cores is None or latency.load.other_cores >= 0.5


def _timing(p50s: list[float], rows_s: list[float], *, busy: bool) -> dict[str, object]:
    load = MachineLoad(wall_s=4.0, cpu_s=4.0, other_cores=1.5 if busy else 0.0, cpus=2)
    return {
        "rounds": len(p50s),
        "p50_ms_rounds": p50s,
        "throughput_rows_s_rounds": rows_s,
        "load": load.to_dict(),
    }


def _study():  # type: ignore[no-untyped-def]
    return make_study(
        result(
            "quiet",
            "custom",
            n_wrong=60,
            throughput=5000.0,
            p95_ms=3.0,
            timing=_timing([1.4, 1.5, 1.7], [4000.0, 5000.0, 4800.0], busy=False),
        ),
        result(
            "noisy",
            "hybrid",
            n_wrong=20,
            throughput=50.0,
            p95_ms=1800.0,
            timing=_timing([700.0, 900.0, 1500.0], [30.0, 50.0, 45.0], busy=True),
        ),
    )


def test_the_leaderboard_carries_the_spread_and_the_busy_flag() -> None:
    board = _study().leaderboard.set_index("strategy")
    assert (
        board.loc["noisy", "latency_p50_ms_low"],
        board.loc["noisy", "latency_p50_ms_high"],
    ) == (
        700.0,
        1500.0,
    )
    assert board.loc["quiet", "throughput_rows_s_low"] == 4000.0
    assert bool(board.loc["noisy", "timed_busy"]) is True
    assert bool(board.loc["quiet", "timed_busy"]) is False


def test_a_busy_timing_is_said_in_the_run_the_report_the_costs_and_the_verdict(
    capsys: pytest.CaptureFixture[str],
) -> None:
    from crossover.cli._common import print_leaderboard

    study = _study()
    lines = busy_lines(study.results)
    assert len(lines) == 1 and lines[0].startswith("noisy was timed while the machine was busy")
    assert "other processes used 1.5 of 2 cores" in lines[0]
    # Nothing is cached for a strategy that reads no pre-trained features: not said of it.
    noisy = next(r for r in study.results if r.trial.strategy == "noisy")
    said = "(the embeddings stay cached)" in lines[0]
    assert said == bool(noisy.embedding_model)
    noisy.embedding_model = None if said else "some-model"
    assert ("(the embeddings stay cached)" in busy_lines(study.results)[0]) is not said

    print_leaderboard(study)
    out = capsys.readouterr().out
    assert "900.0 (700.0–1500.0)*" in out and "1.5 (1.4–1.7) " in out
    assert "timed while other work competed for the cores: noisy;" in out

    pricing = price(study, Scenario())
    noisy, quiet = pricing.sheet("noisy"), pricing.sheet("quiet")
    assert any("the best of 3 timing rounds" in n and "overstated" in n for n in noisy.notes)
    assert not any("overstated" in n for n in quiet.notes)

    rec = decide(study, pricing)
    assert rec.choice == "noisy"
    said = next(r for r in rec.reasons if "above quiet" in r)
    assert "while other work competed for its cores, which likely slowed noisy)" in said

    report = ReportData.from_study(study, pricing, rec)
    row = next(r for r in report.leaderboard if r["strategy"] == "noisy")
    assert row["p50"] == "900.0 (700.0–1,500.0)*"
    assert "in 3 rounds" in report.timing_note and "competed for the cores: noisy;" in (
        report.timing_note
    )
