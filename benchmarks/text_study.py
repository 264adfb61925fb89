"""Benchmark: `crossover compare --budgets full` on banking77 train/test, cold and warm cache.

Runs the CLI as a user would (a new process each time, so imports and model loading count),
first with an empty embedding cache, then again with the cache it filled. Prints the wall
times and the leaderboard figures as a Markdown table for benchmarks/RESULTS.md.

    .venv/bin/python benchmarks/text_study.py [--warm-runs 3] [--cold-runs 1]
        [--encoders openvino-int8,torch-fp32] [--baseline-rev 7d97cb1]

Targets on the 2-core reference machine: <= 120 s cold, <= 30 s warm. With ``--encoders``
each cold run is made once per encoder setting, one after another (the first setting's cache
serves the warm runs), and the cold medians are compared: the study with the default int8
encoder against torch fp32 (target: 3x faster). ``--baseline-rev REV`` adds a cold run of
the code at git revision REV (extracted with ``git archive``, run with this interpreter and its
packages) after each round, to time the study as it was against the study as it is.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import tempfile
from pathlib import Path

from _banking77 import compare_cli, require_data


def run_once(
    cache: Path, out: Path, encoder: str | None = None, source: Path | None = None
) -> tuple[float, dict]:
    # The leaderboard study of the foundation issue: no learning curves.
    extra = ("--encoder", encoder) if encoder else ()
    wall = compare_cli(cache, out, "--budgets", "full", *extra, source=source)
    return wall, json.loads((out / "study.json").read_text())


def extract(rev: str, into: Path) -> Path:
    """The ``src`` folder of git revision ``rev`` of this repository, written under ``into``."""
    root = Path(__file__).resolve().parents[1]
    into.mkdir(parents=True)
    archive = subprocess.run(
        ["git", "-C", str(root), "archive", rev, "src"], check=True, capture_output=True
    ).stdout
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive, check=True)
    return into / "src"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cold-runs", type=int, default=1)
    parser.add_argument("--warm-runs", type=int, default=3)
    parser.add_argument("--encoders", default="", help="encoder settings to compare, cold")
    parser.add_argument("--baseline-rev", default="", help="git revision to time beside, cold")
    args = parser.parse_args()
    require_data()
    baseline: list[float] = []
    baseline_study: dict = {}

    encoders: list[str | None] = list(args.encoders.split(",")) if args.encoders else [None]
    colds: dict[str | None, list[float]] = {e: [] for e in encoders}
    studies: dict[str | None, dict] = {}
    warm: list[float] = []
    study: dict = {}
    with tempfile.TemporaryDirectory() as tmp:
        source = extract(args.baseline_rev, Path(tmp) / "baseline") if args.baseline_rev else None
        for i in range(args.cold_runs):
            for j, encoder in enumerate(encoders):
                cache = Path(tmp) / f"cache-cold-{i}-{j}"
                wall, studies[encoder] = run_once(cache, Path(tmp) / f"out-cold-{i}-{j}", encoder)
                colds[encoder].append(wall)
                print(f"cold run {i + 1} ({encoder or 'default'}): {wall:.1f} s", flush=True)
            if source is not None:
                cache, out = Path(tmp) / f"cache-base-{i}", Path(tmp) / f"out-base-{i}"
                wall, baseline_study = run_once(cache, out, source=source)
                baseline.append(wall)
                print(f"cold run {i + 1} (code of {args.baseline_rev}): {wall:.1f} s", flush=True)
        for i in range(args.warm_runs):
            # A new output folder each run: the same one would resume its finished trials.
            wall, study = run_once(
                Path(tmp) / "cache-cold-0-0", Path(tmp) / f"out-warm-{i}", encoders[0]
            )
            warm.append(wall)
            print(f"warm run {i + 1}: {wall:.1f} s", flush=True)
    cold = colds[encoders[0]]
    study = study or studies[encoders[0]]

    env = study["environment"]
    print()
    print(
        f"machine: {env['cpu']}, {env['cpu_count']} cores, {env['memory_gb']} GiB, "
        f"GPU: {env['gpu'] or 'none'}; crossover {env['versions']['crossover']}, "
        f"torch {env['versions']['torch']}"
    )
    print(
        f"banking77: {study['split']['train_rows']} train / {study['split']['test_rows']} test rows"
    )
    print()
    print("| run | wall s (median) | runs | target |")
    print("|---|---:|---:|---:|")
    print(f"| cold embedding cache | {statistics.median(cold):.1f} | {len(cold)} | <= 120 |")
    if warm:
        print(f"| warm embedding cache | {statistics.median(warm):.1f} | {len(warm)} | <= 30 |")
    print()
    print("| strategy | kind | accuracy [95 % CI] | fit s | p50 ms | p95 ms | rows/s | MB |")
    print("|---|---|---|---:|---:|---:|---:|---:|")
    for row in study["leaderboard"]:
        print(
            f"| {row['strategy']} | {row['kind']} | {row['score']:.3f} "
            f"[{row['ci_low']:.3f}, {row['ci_high']:.3f}] | {row['fit_s']:.1f} | "
            f"{row['latency_p50_ms']:.1f} | {row['latency_p95_ms']:.1f} | "
            f"{row['throughput_rows_s']:.0f} | {row['size_mb']:.1f} |"
        )
    print("\n(figures of the last warm run, else of the last cold run)")
    if len(encoders) > 1 or baseline:
        first = statistics.median(cold)
        print("\n| encoder | cold wall s (median) | runs | x the first |")
        print("|---|---:|---:|---:|")
        for encoder in encoders:
            median = statistics.median(colds[encoder])
            print(f"| {encoder} | {median:.1f} | {len(colds[encoder])} | {median / first:.2f} |")
        if baseline:
            median = statistics.median(baseline)
            print(
                f"| code of {args.baseline_rev} (its default) | {median:.1f} | {len(baseline)} "
                f"| {median / first:.2f} |"
            )
            studies[f"code of {args.baseline_rev}"] = baseline_study
        for encoder in studies:
            print(f"\n{encoder}, last cold run:")
            for row in studies[encoder]["leaderboard"]:
                print(
                    f"| {row['strategy']} | {row['score']:.3f} | {row['fit_s']:.1f} | "
                    f"{row['latency_p50_ms']:.1f} | {row['throughput_rows_s']:.0f} | "
                    f"{row['size_mb']:.1f} |"
                )


if __name__ == "__main__":
    main()
