"""An image study on Fashion-MNIST from Debian's package: every default strategy, few labels.

Issue 19's target: with 10 labelled images per class, the best hybrid at least 10 points of
accuracy above the CNN trained from scratch. This writes a seeded stratified subset (``--train``
images per class from the official training set, ``--test`` per class from the official test
set) and runs ``crossover.compare`` on it, as ``crossover compare`` would, then prints the
leaderboard with its intervals and the gap.

    apt-get install dataset-fashion-mnist
    .venv/bin/python benchmarks/image_study.py [--train 10] [--test 1000] [--draws 5] [--out DIR]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

import _fashion_mnist
import numpy as np

import crossover


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--train", type=int, default=10, help="training images per class")
    parser.add_argument(
        "--test", type=int, default=1000, help="test images per class (1000: all 10,000)"
    )
    parser.add_argument(
        "--draws",
        type=int,
        default=1,
        help="independent training draws (seeds 0, 1, ...), one study each; the gap is "
        "printed per draw and as their mean",
    )
    parser.add_argument("--strategies", default=None, help="default: the task's candidates")
    parser.add_argument("--out", type=Path, default=None, help="write the first study's files")
    args = parser.parse_args()
    _fashion_mnist.require()
    gaps = []
    for draw in range(args.draws):
        root = Path(tempfile.gettempdir()) / f"crossover-fashion-{args.train}-{args.test}-{draw}"
        train, test = _fashion_mnist.write_folder(root, args.train, args.test, seed=draw)
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
        if args.out is not None and draw == 0:
            crossover.write_outputs(study, args.out)
        print(
            f"Fashion-MNIST, draw {draw}: {args.train} training images per class, "
            f"{args.test * 10} test images; "
            f"study wall time {wall:.0f} s"
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
            gaps.append(100 * (hybrids[best] - scores["image.cnn"]))
            print(f"  best hybrid {best} - image.cnn: {gaps[-1]:+.1f} points", flush=True)
    if gaps:
        each = ", ".join(f"{gap:+.1f}" for gap in gaps)
        print(
            f"best hybrid - image.cnn over {len(gaps)} draws: mean {np.mean(gaps):+.1f} points "
            f"({each}; target: +10)"
        )


if __name__ == "__main__":
    main()
