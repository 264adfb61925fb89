"""An image study on Fashion-MNIST from Debian's package: every default strategy, few labels.

Issue 19's target: with 10 labelled images per class, the best hybrid at least 10 points of
accuracy above the CNN trained from scratch. This writes a seeded stratified subset (``--train``
images per class from the official training set, ``--test`` per class from the official test
set) and runs ``crossover.compare`` on it, as ``crossover compare`` would, then prints the
leaderboard with its intervals and the gap.

    apt-get install dataset-fashion-mnist
    .venv/bin/python benchmarks/image_study.py [--train 10] [--test 100] [--out DIR]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

import _fashion_mnist

import crossover


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--train", type=int, default=10, help="training images per class")
    parser.add_argument("--test", type=int, default=100, help="test images per class")
    parser.add_argument("--strategies", default=None, help="default: the task's candidates")
    parser.add_argument("--out", type=Path, default=None, help="write the study's files here")
    args = parser.parse_args()
    _fashion_mnist.require()
    root = Path(tempfile.gettempdir()) / f"crossover-fashion-{args.train}-{args.test}"
    train, test = _fashion_mnist.write_folder(root, args.train, args.test, seed=0)
    start = time.perf_counter()
    study = crossover.compare(
        train,
        task="image-classification",
        test=test,
        strategies=args.strategies,
        budgets="full",
        progress=True,
    )
    wall = time.perf_counter() - start
    if args.out is not None:
        crossover.write_outputs(study, args.out)
    print(
        f"Fashion-MNIST, {args.train} training images per class, {args.test * 10} test "
        f"images; study wall time {wall:.0f} s"
    )
    board = study.leaderboard
    for row in board.itertuples():
        print(
            f"  {row.strategy:<22} {row.kind:<10} accuracy {row.score:.3f} "
            f"[{row.ci_low:.3f}, {row.ci_high:.3f}]  fit {row.fit_s:.0f} s"
        )
    scores = dict(zip(board.strategy, board.score, strict=True))
    kinds = dict(zip(board.strategy, board.kind, strict=True))
    hybrids = {k: v for k, v in scores.items() if kinds[k] == "hybrid"}
    if hybrids and "image.cnn" in scores:
        best = max(hybrids, key=hybrids.__getitem__)
        gap = 100 * (hybrids[best] - scores["image.cnn"])
        print(f"  best hybrid {best} - image.cnn: {gap:+.1f} points (target: +10)")


if __name__ == "__main__":
    main()
