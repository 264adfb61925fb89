"""Benchmark: how much crossover's timings move, on a quiet machine and on a busy one.

Fits ``text.tfidf-linear`` and ``text.embedding-head`` (all-MiniLM-L6-v2) once on banking77,
then times each ``--repeats`` times with ``crossover.evaluation.latency.measure_latency`` (3
rounds each, as a study does), first on a quiet machine, then with ``--spinners`` processes
spinning on the cores meanwhile (each spinner is a busy loop in its own process). Prints, per
model and condition: the median and range over the repeats of the p50, of the best round's
throughput (the figure the costs use) and of a single round's (what one timing would have
given), and how many of the repeats the busy check flagged.

    .venv/bin/python benchmarks/timing_noise.py [--repeats 7] [--spinners 1]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time

import pandas as pd
from _banking77 import DATA, require_data

from crossover.evaluation.latency import measure_latency
from crossover.strategies.text import EmbeddingHead, TfidfLinear

MODEL = "sentence-transformers/all-MiniLM-L6-v2"


def _spread(values: list[float], digits: int = 1) -> str:
    med = statistics.median(values)
    return f"{med:,.{digits}f} ({min(values):,.{digits}f}-{max(values):,.{digits}f})"


def _time(strategy: object, texts: list[str], repeats: int) -> dict[str, object]:
    p50, best, first, busy = [], [], [], 0
    for _ in range(repeats):
        lat = measure_latency(strategy, texts)  # type: ignore[arg-type]
        p50.append(lat.latency_p50_ms)
        best.append(lat.throughput_rows_s)
        first.append(lat.throughput_rows_s_rounds[0])
        busy += bool(lat.load and lat.load.busy)
    return {
        "p50 ms, median (range)": _spread(p50),
        "rows/s best of 3 rounds": _spread(best, 0),
        "rows/s one round": _spread(first, 0),
        "flagged busy": f"{busy}/{repeats}",
        "spread best %": 100 * (max(best) - min(best)) / statistics.median(best),
        "spread one %": 100 * (max(first) - min(first)) / statistics.median(first),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--spinners", type=int, default=1)
    args = parser.parse_args()
    require_data()
    train = pd.read_csv(DATA / "train.csv")
    test = pd.read_csv(DATA / "test.csv")
    texts = test["text"].astype(str).tolist()[:512]
    models = {
        "text.tfidf-linear": TfidfLinear().fit(train["text"], train["category"]),
        "text.embedding-head": EmbeddingHead(model=MODEL, C=20.0).fit(
            train["text"], train["category"]
        ),
    }
    rows = []
    for condition in ("quiet", f"{args.spinners} spinner(s)"):
        spinners = []
        if condition != "quiet":
            spin = [sys.executable, "-c", "while True: pass"]
            spinners = [subprocess.Popen(spin) for _ in range(args.spinners)]
            time.sleep(0.5)
        try:
            for name, model in models.items():
                rows.append(
                    {"model": name, "machine": condition, **_time(model, texts, args.repeats)}
                )
        finally:
            for p in spinners:
                p.kill()
                p.wait()
    frame = pd.DataFrame(rows)
    frame["spread best %"] = frame["spread best %"].round(0)
    frame["spread one %"] = frame["spread one %"].round(0)
    print(f"{os.cpu_count()} cores, {args.repeats} repeats of measure_latency per row")
    print(frame.to_string(index=False))


if __name__ == "__main__":
    main()
