"""Benchmark: the learning-curve study on banking77 (the three foundation strategies, or
`--strategies default` for every default candidate, text.ensemble included).

`crossover compare` at the default budgets (2,4,8,16,32,64,full) and 3 seeds, through the
CLI in a new process, with a warm embedding cache (filled first by an untimed run of the
leaderboard alone). Prints the wall time, the learning curves and the labels-needed answer.

    .venv/bin/python benchmarks/learning_curve.py [--jobs 2] [--target 0.9] [--strategies default]

Target on the 2-core reference machine: <= 5 minutes.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
from pathlib import Path

import pandas as pd
from _banking77 import compare_cli, require_data

STRATEGIES = "text.zero-shot-embeddings,text.tfidf-linear,text.embedding-head"


def compare(cache: Path, out: Path, strategies: str, *extra: str) -> float:
    chosen = () if strategies == "default" else ("--strategies", strategies)
    return compare_cli(cache, out, *chosen, *extra)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--target", type=float, default=0.9)
    parser.add_argument("--cache", type=Path, default=None, help="reuse an embedding cache")
    parser.add_argument("--strategies", default=STRATEGIES, help="keys, or 'default'")
    args = parser.parse_args()
    require_data()
    with tempfile.TemporaryDirectory() as tmp:
        cache = args.cache or Path(tmp) / "cache"
        warm_up = compare(cache, Path(tmp) / "warm", args.strategies, "--budgets", "full")
        print(f"untimed warm-up (fills the embedding cache): {warm_up:.1f} s", flush=True)
        wall = compare(
            cache,
            Path(tmp) / "out",
            args.strategies,
            "--jobs",
            str(args.jobs),
            "--target",
            str(args.target),
        )
        study = json.loads((Path(tmp) / "out" / "study.json").read_text())
        curve = pd.read_csv(Path(tmp) / "out" / "learning_curve.csv")
    plan = study["settings"]["plan"]
    env = study["environment"]
    print(f"machine: {env['cpu']}, {env['cpu_count']} cores, GPU: {env['gpu'] or 'none'}")
    print(
        f"trials: {plan['trials']} (budgets {plan['budgets']}, {plan['seeds']} seeds), "
        f"--jobs {args.jobs}"
    )
    print(f"learning-curve study wall time: {wall:.1f} s (target <= 300 s)\n")
    table = curve.pivot_table(
        index="strategy", columns="budget_per_class", values="score_mean", sort=False
    )
    columns = [str(c) for c in table.columns]
    print("| strategy | " + " | ".join(columns) + " |")
    print("|---|" + "---:|" * len(columns))
    for strategy, row in table.iterrows():
        cells = ["" if pd.isna(v) else f"{v:.3f}" for v in row]
        print(f"| {strategy} | " + " | ".join(cells) + " |")
    print()
    for line in study["curves"]["summary"]:
        print(f"- {line}")


if __name__ == "__main__":
    main()
