from __future__ import annotations

import numpy as np

from crossover.evaluation.latency import measure_latency
from crossover.evaluation.memory import PeakMemory
from crossover.strategies.text import TfidfLinear
from tests.conftest import make_tickets


def test_measure_latency_reports_percentiles_and_throughput() -> None:
    data = make_tickets()
    strategy = TfidfLinear().fit(data.text, data.label)
    latency = measure_latency(strategy, data.text.tolist(), max_seconds=0.3, max_single_calls=50)
    assert 0 < latency.latency_p50_ms <= latency.latency_p95_ms
    assert latency.throughput_rows_s > 0
    assert 12 <= latency.single_row_calls <= 50  # at least 4 in each of 3 rounds
    assert latency.batch_rows % min(64, len(data)) == 0


def test_peak_memory_sees_a_large_allocation() -> None:
    with PeakMemory() as memory:
        block = np.ones(200_000_000 // 8)
        block.sum()
        del block
    assert memory.peak_mb >= 150
