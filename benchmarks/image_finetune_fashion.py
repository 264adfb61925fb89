"""Benchmark: ``image.finetune`` on Fashion-MNIST, against ``image.embedding-head`` with 10
images per class, and on the full 60,000 training images with a time budget.

Data: Debian's ``dataset-fashion-mnist`` (``benchmarks/_fashion_mnist.py``), written once as
PNG folders under ``--root`` (seeded stratified subsets).

- ``--part small``: 10 training images per class (100; each seed draws its own), tested on
  ``--test-per-class`` images per class (default 1,000: the whole 10,000-image test set).
  Three rows per seed: the embedding head as it is on main, ``image.finetune`` with its
  defaults, and ``image.finetune`` with a budget so small that only its linear probe runs
  (the head fitted on the frozen network's pooled features, before any block trains): what
  fine-tuning adds.
- ``--part full``: all 60,000 training images, the whole test set. The frozen part's
  activations are computed first through the cache, as a study prefetches them before its
  trials (their time is printed apart); ``fit`` then has ``--budget`` seconds (one fit per
  value), which the strategy spends on its augmented views, the linear probe and
  fine-tuning.

``--torch-threads 1`` runs the frozen part on one thread: on a 2-core machine shared with
other work it ran 2-3x faster than on two (the tail trains on one thread whatever this says).

The machine is usually shared: every time printed is wall-clock seconds of one run.

    .venv/bin/python benchmarks/image_finetune_fashion.py --part small [--seeds 3]
    .venv/bin/python benchmarks/image_finetune_fashion.py --part full --budget 600,1800 \\
        [--image-size 96] [--trainable-blocks 8] [--torch-threads 1]
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

import numpy as np
from _fashion_mnist import require, write_folder

from crossover.strategies import Strategy
from crossover.strategies.image.embedding_head import ImageEmbeddingHead
from crossover.strategies.image.finetune import ImageFinetune


def read_folder(folder: Path) -> tuple[list[str], np.ndarray]:
    """Paths and labels of an ImageFolder layout, in a fixed order."""
    paths, labels = [], []
    for klass in sorted(p for p in folder.iterdir() if p.is_dir()):
        for path in sorted(klass.glob("*.png")):
            paths.append(str(path))
            labels.append(klass.name)
    return paths, np.asarray(labels, dtype=object)


def evaluate(
    name: str,
    strategy: Strategy,
    train: tuple[list[str], np.ndarray],
    test: tuple[list[str], np.ndarray],
) -> dict[str, Any]:
    """Fit, predict the test set, and the figures of one row."""
    start = time.perf_counter()
    strategy.fit(*train)
    fit_s = time.perf_counter() - start
    start = time.perf_counter()
    predicted = strategy.predict(test[0])
    predict_s = time.perf_counter() - start
    row: dict[str, Any] = {
        "strategy": name,
        "train": len(train[0]),
        "test": len(test[0]),
        "accuracy": round(float(np.mean(predicted == test[1])), 4),
        "fit_s": round(fit_s, 1),
        "predict_s": round(predict_s, 1),
    }
    for field in ("epochs_run_", "best_epoch_", "val_accuracy_", "stopped_by_time_budget_"):
        if hasattr(strategy, field):
            value = getattr(strategy, field)
            row[field.rstrip("_")] = round(value, 4) if isinstance(value, float) else value
    print(json.dumps(row), flush=True)
    return row


def small(args: argparse.Namespace) -> list[dict[str, Any]]:
    common = {"image_size": args.image_size, "cache_dir": args.cache_dir}
    rows = []
    for seed in range(args.seeds):
        # Each seed draws its own 10 images per class (the test images are the same draw
        # whenever they are the whole test set).
        root = Path(args.root) / f"fashion-10-{args.test_per_class}-seed{seed}"
        train_dir, test_dir = write_folder(root, 10, args.test_per_class, seed=seed)
        train, test = read_folder(train_dir), read_folder(test_dir)
        candidates: list[tuple[str, Strategy]] = [
            ("image.embedding-head", ImageEmbeddingHead(**common, random_state=seed)),
            ("image.finetune", ImageFinetune(**common, random_state=seed)),
            (
                "image.finetune, linear probe only",
                ImageFinetune(**common, random_state=seed, time_budget_s=1e-9),
            ),
        ]
        for name, strategy in candidates:
            rows.append({"seed": seed, **evaluate(name, strategy, train, test)})
    return rows


def full(args: argparse.Namespace) -> list[dict[str, Any]]:
    root = Path(args.root) / "fashion-all"
    train_dir, test_dir = write_folder(root, None, None, seed=0)
    train, test = read_folder(train_dir), read_folder(test_dir)
    rows = []
    for budget in args.budget:
        strategy = ImageFinetune(
            image_size=args.image_size,
            trainable_blocks=args.trainable_blocks,
            time_budget_s=budget,
            epochs=args.epochs,
            cache_dir=args.cache_dir,
        )
        if not rows:  # the frozen part's activations, once for every budget
            start = time.perf_counter()
            strategy.feature_encoder().encode(train[0] + test[0])
            prefetch_s = time.perf_counter() - start
            print(json.dumps({"frozen_part_s": round(prefetch_s, 1), "images": 70_000}))
        rows.append(evaluate(f"image.finetune, {budget:g} s", strategy, train, test))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--part", choices=("small", "full"), required=True)
    parser.add_argument("--root", default="/tmp/crossover-bench/fashion")
    parser.add_argument("--cache-dir", default=None, help="feature cache (default: crossover's)")
    parser.add_argument("--test-per-class", type=int, default=1000)
    parser.add_argument("--seeds", type=int, default=1)
    parser.add_argument("--image-size", type=int, default=160)
    parser.add_argument("--trainable-blocks", type=int, default=4)
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument(
        "--budget",
        type=lambda text: [float(b) for b in text.split(",")],
        default=[600.0],
        help="fit's time_budget_s, one fit per comma-separated value",
    )
    parser.add_argument(
        "--torch-threads", type=int, default=None, help="torch intra-op threads (default: its own)"
    )
    args = parser.parse_args()
    require()
    if args.torch_threads:
        import torch

        torch.set_num_threads(args.torch_threads)
    print(json.dumps(vars(args)), flush=True)
    rows = small(args) if args.part == "small" else full(args)
    print(f"\n{'strategy':36} {'seed':>4} {'train':>6} {'test':>6} {'accuracy':>8} {'fit_s':>7}")
    for row in rows:
        print(
            f"{row['strategy']:36} {row.get('seed', 0):>4} {row['train']:>6} {row['test']:>6} "
            f"{row['accuracy']:>8.4f} {row['fit_s']:>7.1f}"
        )


if __name__ == "__main__":
    main()
