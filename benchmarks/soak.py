"""Benchmark: a bounded soak of `crossover serve` at a fixed request rate.

Exports a TF-IDF model trained on banking77, starts `crossover serve` on a free 127.0.0.1 port,
sends `--rate` single-row requests per second for `--seconds` (default 300) and stops by
itself. Reports errors, latency percentiles, and the server's resident memory after a warm-up
and at the end (target: 0 errors, the end within 10 % of the start).

    .venv/bin/python benchmarks/soak.py [--seconds 300] [--rate 50] [--model-dir DIR]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx
import pandas as pd
import psutil
from _banking77 import DATA, require_data

from crossover.artifacts import export_strategy
from crossover.strategies.text import TfidfLinear
from serve import free_port, server


async def soak(url: str, texts: list[str], rate: float, seconds: float) -> tuple[list[float], int]:
    latencies: list[float] = []
    errors = 0
    interval = 1.0 / rate
    async with httpx.AsyncClient(timeout=10) as client:

        async def one(i: int) -> None:
            nonlocal errors
            t0 = time.perf_counter()
            try:
                r = await client.post(url, json={"inputs": texts[i % len(texts)]})
                if r.status_code != 200:
                    errors += 1
            except httpx.HTTPError:
                errors += 1
            latencies.append(time.perf_counter() - t0)

        tasks = []
        start = time.perf_counter()
        i = 0
        while time.perf_counter() - start < seconds:
            tasks.append(asyncio.create_task(one(i)))
            i += 1
            await asyncio.sleep(max(0.0, start + i * interval - time.perf_counter()))
        await asyncio.gather(*tasks)
    return latencies, errors


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=300)
    parser.add_argument("--rate", type=float, default=50)
    parser.add_argument("--model-dir", type=Path, default=None)
    args = parser.parse_args()
    require_data()
    train = pd.read_csv(DATA / "train.csv")
    texts = pd.read_csv(DATA / "test.csv")["text"].astype(str).tolist()
    with tempfile.TemporaryDirectory() as tmp:
        model_dir = args.model_dir
        if model_dir is None:
            fitted = TfidfLinear().fit(train["text"].tolist(), train["category"].tolist())
            model_dir = export_strategy(fitted, Path(tmp) / "model")
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        exe = str(Path(sys.executable).with_name("crossover"))
        cmd = [exe, "serve", str(model_dir), "--host", "127.0.0.1", "--port", str(port)]
        env = {**os.environ, "HF_HUB_OFFLINE": "1"}
        with server(cmd, env, f"{base}/readyz") as process:
            url = f"{base}/v1/predict"
            serving = psutil.Process(process.pid)

            def rss() -> int:
                return sum(p.memory_info().rss for p in [serving, *serving.children(True)])

            asyncio.run(soak(url, texts, args.rate, min(10.0, args.seconds)))  # warm-up
            rss_start = rss()
            latencies, errors = asyncio.run(soak(url, texts, args.rate, args.seconds))
            rss_end = rss()
    ms = sorted(x * 1000 for x in latencies)
    p99 = ms[int(0.99 * (len(ms) - 1))]
    growth = (rss_end - rss_start) / rss_start * 100
    print(f"| requests | {len(ms):,} at {args.rate:g}/s for {args.seconds:g} s | |")
    print(f"| errors | {errors} | 0 |")
    print(f"| latency p50 / p99 | {statistics.median(ms):.1f} / {p99:.1f} ms | |")
    print(
        f"| resident memory, start -> end | {rss_start / 2**20:.1f} -> {rss_end / 2**20:.1f} MiB "
        f"({growth:+.1f} %) | within 10 % |"
    )


if __name__ == "__main__":
    main()
