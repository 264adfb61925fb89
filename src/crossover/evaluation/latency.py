"""Inference speed of a fitted strategy, computed without any cache.

Timings get the care the scores get: they are taken in rounds (single-row calls, then
batches, ``ROUNDS`` times), so that their spread is measured and not only their median, and
the machine's load is measured alongside, so that a timing taken while other processes held
the cores says so instead of passing for the model's speed.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import pandas as pd

from crossover.strategies.base import Strategy

__all__ = [
    "BUSY_CPU_SHARE",
    "BUSY_OTHER_CORES",
    "ROUNDS",
    "Latency",
    "MachineLoad",
    "measure_latency",
]

#: Rounds of single-row calls and batches; the median, spread and best round come from them.
ROUNDS = 3
#: The machine counts as busy when other processes used at least this many cores on average
#: while crossover timed (half a core: enough to slow a model that uses the whole machine) ...
BUSY_OTHER_CORES = 0.5
#: ... or when the timed code got less than this share of one core's time: it was waiting to
#: run (a model's predict computes; it does not sleep).
BUSY_CPU_SHARE = 0.6


@dataclass(frozen=True)
class MachineLoad:
    """What the machine did while a strategy was timed.

    ``cpu_s`` is this process's CPU time (every thread) over ``wall_s``; ``other_cores`` the
    mean number of cores the other processes kept busy meanwhile (from the machine's CPU
    counters; None where they cannot be read); ``cpus`` the cores this process may use.
    """

    wall_s: float
    cpu_s: float
    other_cores: float | None
    cpus: int

    @property
    def cpu_share(self) -> float:
        """This process's CPU seconds per wall second (above 1 with several threads)."""
        return self.cpu_s / self.wall_s if self.wall_s > 0 else math.nan

    @property
    def busy(self) -> bool:
        """Whether other work competed for the cores: timings then overstate the model's cost."""
        crowded = self.other_cores is not None and self.other_cores >= BUSY_OTHER_CORES
        return crowded or self.cpu_share < BUSY_CPU_SHARE

    def describe(self) -> str:
        """The measurement in words, e.g. "other processes used 1.4 of 2 cores; crossover
        got 0.52 of a core"."""
        parts = []
        if self.other_cores is not None:
            parts.append(f"other processes used {self.other_cores:.1f} of {self.cpus} cores")
        parts.append(f"the timed code got {self.cpu_share:.2f} core-seconds per second")
        return "; ".join(parts)

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "cpu_share": self.cpu_share, "busy": self.busy}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> MachineLoad:
        """Read back what ``to_dict`` wrote (its derived figures are recomputed)."""
        return cls(
            wall_s=float(data["wall_s"]),
            cpu_s=float(data["cpu_s"]),
            other_cores=None if data.get("other_cores") is None else float(data["other_cores"]),
            cpus=int(data["cpus"]),
        )


@dataclass(frozen=True)
class Latency:
    """One-row latency (ms) and batch throughput (rows/s, batches of 64), over ``ROUNDS``.

    ``latency_p50_ms`` and ``latency_p95_ms`` pool every single-row call of every round;
    ``p50_ms_rounds`` is each round's median (their range is the spread). The throughput is
    the best round's: other work on the machine only ever slows a round down, so the fastest
    is the closest to what the model costs (``throughput_rows_s_rounds`` keeps every round).
    """

    latency_p50_ms: float
    latency_p95_ms: float
    throughput_rows_s: float
    single_row_calls: int
    batch_rows: int
    p50_ms_rounds: tuple[float, ...] = ()
    throughput_rows_s_rounds: tuple[float, ...] = ()
    load: MachineLoad | None = None

    def timing(self) -> dict[str, Any]:
        """The rounds and the machine's load, as a trial result records them."""
        return {
            "rounds": len(self.p50_ms_rounds),
            "single_row_calls": self.single_row_calls,
            "batch_rows": self.batch_rows,
            "p50_ms_rounds": list(self.p50_ms_rounds),
            "throughput_rows_s_rounds": list(self.throughput_rows_s_rounds),
            "load": None if self.load is None else self.load.to_dict(),
        }


class _LoadMeter:
    """This process's CPU time and the machine's, over a stretch of wall time."""

    def __init__(self) -> None:
        self._start = self._read()

    @staticmethod
    def _read() -> tuple[float, float, float | None]:
        machine: float | None
        try:
            import psutil

            t = psutil.cpu_times()
            machine = float(sum(getattr(t, f, 0.0) for f in _BUSY_FIELDS))
        except (ImportError, OSError, RuntimeError):
            machine = None
        return time.perf_counter(), time.process_time(), machine

    def stop(self) -> MachineLoad:
        (w0, c0, m0), (w1, c1, m1) = self._start, self._read()
        wall, cpu = w1 - w0, c1 - c0
        others = None
        if m0 is not None and m1 is not None and wall > 0:
            others = max(0.0, (m1 - m0 - cpu) / wall)
        return MachineLoad(wall_s=wall, cpu_s=cpu, other_cores=others, cpus=_cpus())


#: The fields of the machine's CPU times that count as busy (psutil names; those absent on
#: a platform read 0).
_BUSY_FIELDS = ("user", "nice", "system", "irq", "softirq", "steal")


def _cpus() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def measure_latency(
    strategy: Strategy,
    texts: Sequence[str] | Sequence[np.ndarray] | pd.DataFrame,
    *,
    rounds: int = ROUNDS,
    max_single_calls: int = 200,
    max_seconds: float = 1.5,
    batch_size: int = 64,
    max_batches: int = 16,
) -> Latency:
    """Time ``predict`` on single rows and on batches of ``batch_size``, in ``rounds``.

    ``max_single_calls``, ``max_batches`` and ``max_seconds`` (per half) are shared out over
    the rounds; every round makes at least 4 single calls and one batch, so a slow model
    costs seconds, not minutes. Caches are bypassed: this is real inference. ``texts`` may be
    a DataFrame of a table strategy's input rows.
    """
    if isinstance(texts, pd.DataFrame):
        frame = texts.reset_index(drop=True)
        n = len(frame)

        def rows(idx: list[int]) -> object:
            return frame.iloc[idx]
    else:
        # Texts (or image paths) as text; arrays (a series' history) as they are.
        items = [t if isinstance(t, np.ndarray) else str(t) for t in texts] or ["example"]
        n = len(items)

        def rows(idx: list[int]) -> object:
            return [items[i] for i in idx]

    rounds = max(1, rounds)
    calls_per_round = max(4, max_single_calls // rounds)
    batches_per_round = max(1, max_batches // rounds)
    seconds = max_seconds / rounds
    single: list[float] = []
    p50_rounds: list[float] = []
    throughput_rounds: list[float] = []
    n_rows = 0
    call = batch_no = 0
    with strategy.uncached():
        strategy.predict(rows([0]))  # warm-up: lazy loads and first-call allocations
        meter = _LoadMeter()
        for _ in range(rounds):
            these: list[float] = []
            start = time.perf_counter()
            for _ in range(calls_per_round):
                t0 = time.perf_counter()
                strategy.predict(rows([call % n]))
                these.append(time.perf_counter() - t0)
                call += 1
                if len(these) >= 4 and time.perf_counter() - start > seconds:
                    break
            single.extend(these)
            p50_rounds.append(float(np.median(these)) * 1000.0)
            done = batches = 0
            start = time.perf_counter()
            while batches < batches_per_round:
                offset = (batch_no * batch_size) % n
                batch = [(offset + j) % n for j in range(min(batch_size, n))]
                strategy.predict(rows(batch))
                done += len(batch)
                batches += 1
                batch_no += 1
                if time.perf_counter() - start > seconds:
                    break
            throughput_rounds.append(done / (time.perf_counter() - start))
            n_rows += done
        load = meter.stop()
    ms = np.asarray(single) * 1000.0
    return Latency(
        latency_p50_ms=float(np.percentile(ms, 50)),
        latency_p95_ms=float(np.percentile(ms, 95)),
        throughput_rows_s=max(throughput_rounds),
        single_row_calls=len(single),
        batch_rows=n_rows,
        p50_ms_rounds=tuple(p50_rounds),
        throughput_rows_s_rounds=tuple(throughput_rounds),
        load=load,
    )
