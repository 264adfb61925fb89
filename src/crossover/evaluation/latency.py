"""Inference speed of a fitted strategy, computed without any cache."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from crossover.strategies.base import Strategy

__all__ = ["Latency", "measure_latency"]


@dataclass(frozen=True)
class Latency:
    """One-row latency percentiles (ms) and batch throughput (rows/s, batches of 64)."""

    latency_p50_ms: float
    latency_p95_ms: float
    throughput_rows_s: float
    single_row_calls: int
    batch_rows: int


def measure_latency(
    strategy: Strategy,
    texts: Sequence[str] | pd.DataFrame,
    *,
    max_single_calls: int = 200,
    max_seconds: float = 1.5,
    batch_size: int = 64,
    max_batches: int = 16,
) -> Latency:
    """Time ``predict`` on single rows and on batches of ``batch_size``.

    Each half stops at ``max_seconds`` (after at least 10 single calls and 2 batches), so a
    slow model costs seconds, not minutes. Caches are bypassed: this is real inference.
    ``texts`` may be a DataFrame of a table strategy's input rows.
    """
    if isinstance(texts, pd.DataFrame):
        frame = texts.reset_index(drop=True)
        n = len(frame)

        def rows(idx: list[int]) -> object:
            return frame.iloc[idx]
    else:
        items = [str(t) for t in texts] or ["example"]
        n = len(items)

        def rows(idx: list[int]) -> object:
            return [items[i] for i in idx]

    with strategy.uncached():
        strategy.predict(rows([0]))  # warm-up: lazy loads and first-call allocations
        single: list[float] = []
        start = time.perf_counter()
        for i in range(max_single_calls):
            t0 = time.perf_counter()
            strategy.predict(rows([i % n]))
            single.append(time.perf_counter() - t0)
            if len(single) >= 10 and time.perf_counter() - start > max_seconds:
                break
        n_rows = 0
        batches = 0
        start = time.perf_counter()
        while batches < max_batches:
            offset = (batches * batch_size) % n
            batch = [(offset + j) % n for j in range(min(batch_size, n))]
            strategy.predict(rows(batch))
            n_rows += len(batch)
            batches += 1
            if batches >= 2 and time.perf_counter() - start > max_seconds:
                break
        elapsed = time.perf_counter() - start
    ms = np.asarray(single) * 1000.0
    return Latency(
        latency_p50_ms=float(np.percentile(ms, 50)),
        latency_p95_ms=float(np.percentile(ms, 95)),
        throughput_rows_s=float(n_rows / elapsed),
        single_row_calls=len(single),
        batch_rows=n_rows,
    )
