"""Benchmark: the tabular-classification leaderboard through `crossover compare`, as a user runs it.

Two data sets, each through the CLI in a new process (imports and model loading count):

- ``creditcard``: ../shared/data/creditcard_fraud/creditcard_sample.csv (5,412 rows, 492
  frauds, anonymised numeric features): 5 repeated stratified 80/20 splits (the default for a
  table this small), every default strategy;
- ``fraud``: the bundled generated transactions (12,000 rows, 3 % fraud, a merchant-description
  text column), the demo's settings: time split, ``customer_id`` dropped, review cost 5.

Prints per strategy: PR-AUC with its 95 % interval, ROC-AUC, recall at 1 % FPR, Brier score,
fit seconds, one-row latency and batch throughput, and the study's wall time, as Markdown.

    .venv/bin/python benchmarks/tabular_study.py [--data creditcard,fraud] [--budgets full]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CREDITCARD = ROOT.parent / "shared" / "data" / "creditcard_fraud" / "creditcard_sample.csv"
FRAUD = ROOT / "src" / "crossover" / "data" / "examples" / "fraud_transactions.csv"
CLI = [str(Path(sys.executable).parent / "crossover")]

ARGS = {
    "creditcard": [str(CREDITCARD), "--label", "Class", "--amount", "Amount", "--cost-fp", "5"],
    "fraud": [
        str(FRAUD),
        "--label",
        "is_fraud",
        "--time",
        "timestamp",
        "--drop",
        "customer_id",
        "--amount",
        "amount",
        "--cost-fp",
        "5",
    ],
}


def run(name: str, budgets: str, out: Path) -> tuple[float, dict]:
    command = [
        *CLI,
        "compare",
        *ARGS[name],
        "--task",
        "tabular-classification",
        "--budgets",
        budgets,
        "--out",
        str(out),
    ]
    start = time.perf_counter()
    subprocess.run(command, check=True, capture_output=True, text=True)
    return time.perf_counter() - start, json.loads((out / "study.json").read_text())


def table(study: dict) -> str:
    lines = [
        "| strategy | kind | PR-AUC [95 % CI] | ROC-AUC | recall @ 1 % FPR | Brier | fit s "
        "| p50 ms | rows/s |",
        "|---|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    timed = {
        r["trial"]["strategy"]: r
        for r in study["results"]
        if r["trial"]["split_id"] == study["split"]["split_id"] and r["trial"]["budget"] == "full"
    }
    for row in study["leaderboard"]:
        name = row["strategy"]
        stats = study["statistics"][name]
        r = timed[name]
        lines.append(
            f"| {name} | {row['kind']} | {row['score']:.3f} [{row['ci_low']:.3f}, "
            f"{row['ci_high']:.3f}] | {stats['roc_auc']['score']:.3f} | "
            f"{stats.get('recall_at_fpr', {}).get('score', float('nan')):.3f} | "
            f"{stats['brier']['score']:.4f} | {r['fit_s']:.2f} | {r['latency_p50_ms']:.1f} | "
            f"{r['throughput_rows_s']:,.0f} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default="creditcard,fraud")
    parser.add_argument("--budgets", default="full", help="'full': the leaderboard alone")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        for name in args.data.split(","):
            if name == "creditcard" and not CREDITCARD.is_file():
                print(f"skipping creditcard: {CREDITCARD} is absent")
                continue
            wall, study = run(name, args.budgets, Path(tmp) / name)
            env = study["environment"]
            print(f"\n### {name}: {study['split']['description']}")
            print(
                f"machine: {env['cpu']}, {env['cpu_count']} cores; wall {wall:.1f} s "
                f"(budgets {args.budgets})\n"
            )
            print(table(study))
            for strategy, t in study.get("thresholds", {}).items():
                print(
                    f"- {strategy}: saves {t['saved']:,.0f} of {t['no_model_loss']:,.0f} "
                    f"on {t['rows']} test rows (review cost {t['cost_fp']:g})"
                )


if __name__ == "__main__":
    main()
