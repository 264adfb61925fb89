"""Benchmark: the banking77 learning-curve study on the local process pool and on a local Ray
with the same CPUs (`--backend ray --jobs N`), side by side; and, from the measured per-trial
times, an estimate of the wall time on 1, 4 and 16 workers of this study and of one with 10x
the trials.

`crossover compare` through the CLI in a new process, as in benchmarks/learning_curve.py (the
three foundation strategies, default budgets, 3 seeds), with a warm embedding cache (filled
first by an untimed leaderboard-only run) and a new output folder each time, so no trial is
reused. The two backends alternate for `--rounds` rounds; medians are quoted.

    .venv/bin/python benchmarks/ray_backend.py [--rounds 2] [--jobs 2] [--strategies KEYS]

Target: the local Ray's study within 1.2x of the local pool's.
"""

from __future__ import annotations

import argparse
import heapq
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _banking77 import DATA, require_data

STRATEGIES = "text.zero-shot-embeddings,text.tfidf-linear,text.embedding-head"
STAGE = re.compile(r"^learning-curve trials \((?P<where>[^)]*)\): done, \d+/\d+ in (?P<clock>\S+)$")


def compare(cache: Path, out: Path, *extra: str) -> tuple[float, float | None, str]:
    """Wall seconds of a `crossover compare` run, its learning-curve stage's seconds (whole
    seconds, from the progress line) and its stderr."""
    env = {
        **os.environ,
        "CROSSOVER_CACHE_DIR": str(cache),
        "HF_HUB_OFFLINE": "1",
        "RAY_USAGE_STATS_ENABLED": "0",
    }
    cmd = [
        str(Path(sys.executable).with_name("crossover")),
        "compare", str(DATA / "train.csv"), "--test", str(DATA / "test.csv"),
        "--text", "text", "--label", "category", "--out", str(out), *extra,
    ]  # fmt: skip
    start = time.perf_counter()
    done = subprocess.run(cmd, env=env, check=False, capture_output=True, text=True)
    wall = time.perf_counter() - start
    if done.returncode != 0:
        sys.exit(f"crossover compare failed ({done.returncode}):\n{done.stderr[-3000:]}")
    stage = None
    for line in done.stderr.splitlines():
        match = STAGE.match(line.strip())
        if match:
            h, m, s = (int(v) for v in match["clock"].split(":"))
            stage = float(h * 3600 + m * 60 + s)
    return wall, stage, done.stderr


def makespan(durations: list[float], workers: int) -> float:
    """Longest-processing-time-first list scheduling of ``durations`` on ``workers``."""
    loads = [0.0] * workers
    heapq.heapify(loads)
    for d in sorted(durations, reverse=True):
        heapq.heappush(loads, heapq.heappop(loads) + d)
    return max(loads)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--strategies", default=STRATEGIES)
    parser.add_argument("--cache", type=Path, default=None, help="reuse an embedding cache")
    args = parser.parse_args()
    require_data()
    chosen = ("--strategies", args.strategies, "--jobs", str(args.jobs))
    runs: dict[str, list[tuple[float, float | None]]] = {"local": [], "ray": []}
    with tempfile.TemporaryDirectory() as tmp:
        cache = args.cache or Path(tmp) / "cache"
        warm, _, _ = compare(cache, Path(tmp) / "warm", *chosen, "--budgets", "full")
        print(f"untimed warm-up (fills the embedding cache): {warm:.1f} s", flush=True)
        study = None
        for round_ in range(args.rounds):
            order = ["local", "ray"] if round_ % 2 == 0 else ["ray", "local"]
            for backend in order:
                out = Path(tmp) / f"{backend}-{round_}"
                wall, stage, _ = compare(cache, out, *chosen, "--backend", backend)
                runs[backend].append((wall, stage))
                print(
                    f"round {round_ + 1} {backend:5}: study {wall:6.1f} s, learning-curve "
                    f"stage {stage if stage is not None else float('nan'):5.0f} s",
                    flush=True,
                )
                if backend == "local":
                    study = json.loads((out / "study.json").read_text())
    assert study is not None
    local_wall = statistics.median(w for w, _ in runs["local"])
    ray_wall = statistics.median(w for w, _ in runs["ray"])
    local_stage = statistics.median(s or 0.0 for _, s in runs["local"])
    ray_stage = statistics.median(s or 0.0 for _, s in runs["ray"])
    env = study["environment"]
    print(f"\nmachine: {env['cpu']}, {env['cpu_count']} cores; --jobs {args.jobs}")
    print(f"trials: {study['settings']['plan']['trials']} ({args.strategies})")
    print(
        f"median study: local pool {local_wall:.1f} s, local Ray {ray_wall:.1f} s "
        f"(ratio {ray_wall / local_wall:.2f}x; target <= 1.2x)"
    )
    print(
        f"median learning-curve stage: local pool {local_stage:.0f} s, local Ray "
        f"{ray_stage:.0f} s (ratio {ray_stage / max(local_stage, 1):.2f}x)"
    )

    # The estimate: the curve trials' measured work (fit + predict of the test rows) scheduled
    # on W workers, scaled by how far the measured stage was from that schedule on --jobs
    # workers (process start, data transfer, scheduling); the rest of the study is serial.
    curve = [r for r in study["results"] if r["trial"]["budget"] != "full"]
    durations = [float(r.get("fit_wall_s") or r["fit_s"]) + float(r["predict_s"]) for r in curve]
    overhead = local_stage / makespan(durations, args.jobs)
    serial = local_wall - local_stage
    print(
        f"\ncurve trials: {len(durations)}, {sum(durations):.0f} s of work (median "
        f"{statistics.median(durations):.2f} s, max {max(durations):.1f} s); measured stage / "
        f"ideal schedule on {args.jobs} workers: {overhead:.2f}; serial part (load, encode, "
        f"leaderboard trials, report): {serial:.0f} s"
    )
    print("estimated wall time (serial part + scheduled trials x that factor):")
    print(f"{'workers':>8} {'this study':>12} {'10x the trials':>16}")
    for workers in (1, 4, 16):
        one = serial + overhead * makespan(durations, workers)
        ten = serial + overhead * makespan(durations * 10, workers)
        print(f"{workers:>8} {one:>10.0f} s {ten:>14.0f} s")


if __name__ == "__main__":
    main()
