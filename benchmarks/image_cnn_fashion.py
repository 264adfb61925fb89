"""Benchmark: ``image.cnn`` trained from scratch on the full Fashion-MNIST (60,000 images).

Writes the official splits as PNG files (``_fashion_mnist.write_folder``: kept between runs),
fits ``image.cnn`` on the 60,000 training images (the side chosen from the images: 28 px;
grayscale, so one input channel), and prints the accuracy on the 10,000 test images, the time
to decode the training images and to train, the epochs run, and the prediction throughput from
PNG files, as a Markdown table for benchmarks/RESULTS.md.

    .venv/bin/python benchmarks/image_cnn_fashion.py [--time-budget 600] [--epochs 30]
        [--width 32] [--per-class N] [--seed 0] [--threads N] [--root /tmp/crossover-fashion-full]

Target (issue 19): accuracy >= 0.91 with under 10 minutes of training on the 2-core reference
machine. The machine may be shared: the load average before and after, and the process's CPU
seconds next to the wall seconds, say how much of the two cores the run had.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _fashion_mnist import require, write_folder

from crossover.data.images import to_array
from crossover.strategies.image.cnn import ImageCnn


def folder_images(folder: Path) -> tuple[list[str], list[str]]:
    """The PNG paths under ``folder/<class>/`` and their classes, in a stable order."""
    paths = sorted(folder.glob("*/*.png"))
    return [str(p) for p in paths], [p.parent.name for p in paths]


def load_average() -> str:
    return " ".join(f"{v:.1f}" for v in os.getloadavg())


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--time-budget", type=float, default=600.0, help="0: no budget")
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--width", type=int, default=32)
    parser.add_argument("--per-class", type=int, default=None, help="default: every image")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--threads", type=int, default=0, help="torch threads (0: torch's default, every core)"
    )
    parser.add_argument("--root", type=Path, default=Path("/tmp/crossover-fashion-full"))
    args = parser.parse_args()
    require()
    import torch

    if args.threads:
        torch.set_num_threads(args.threads)
    threads = torch.get_num_threads()
    print(f"{os.cpu_count()} CPUs, {threads} torch threads; load average {load_average()}")
    started = time.perf_counter()
    train_dir, test_dir = write_folder(args.root, args.per_class, None, seed=0)
    x_train, y_train = folder_images(train_dir)
    x_test, y_test = folder_images(test_dir)
    print(
        f"{len(x_train):,} training and {len(x_test):,} test PNGs under {args.root} "
        f"({time.perf_counter() - started:.0f} s)",
        flush=True,
    )

    model = ImageCnn(
        width=args.width,
        epochs=args.epochs,
        time_budget_s=args.time_budget or None,
        random_state=args.seed,
    )
    cpu, wall = time.process_time(), time.perf_counter()
    model.fit(x_train, y_train)
    fit_cpu_s, fit_s = time.process_time() - cpu, time.perf_counter() - wall
    print(f"fitted; load average {load_average()}", flush=True)

    wall = time.perf_counter()
    predicted = model.predict(x_test)
    predict_s = time.perf_counter() - wall
    wall = time.perf_counter()
    to_array(x_test, model.image_size_, grayscale=model.grayscale_)
    decode_test_s = time.perf_counter() - wall
    accuracy = float(np.mean(predicted == np.asarray(y_test, dtype=object)))

    budget = f"{args.time_budget:.0f} s" if args.time_budget else "none"
    print(f"load average at end {load_average()}")
    print()
    print(
        "| images | side | width | threads | budget | epochs run (best) | val acc | test accuracy "
        "| decode s | train s | fit CPU s | predict img/s (from PNG) | network img/s |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    val = "-" if model.validation_accuracy_ is None else f"{model.validation_accuracy_:.4f}"
    cut = " (budget)" if model.stopped_by_time_budget_ else ""
    network_s = max(predict_s - decode_test_s, 1e-9)
    print(
        f"| {len(x_train):,} | {model.image_size_} | {args.width} | {threads} | {budget} "
        f"| {model.epochs_run_}{cut} ({model.best_epoch_}) | {val} | **{accuracy:.4f}** "
        f"| {model.decode_seconds_:.0f} | {model.train_seconds_:.0f} | {fit_cpu_s:.0f} "
        f"| {len(x_test) / predict_s:,.0f} | {len(x_test) / network_s:,.0f} |"
    )
    print(f"\n(fit wall {fit_s:.0f} s, of which decoding {model.decode_seconds_:.0f} s)")


if __name__ == "__main__":
    main()
