"""The pre-trained text encoder on each runtime and precision, side by side in one run.

For each data set (banking77: 10,003 / 3,080 texts, 77 intents; sms_spam: 5,574 messages, a
stratified 70/30 split) and each setting of ``--encoder`` (``crossover.models.runtimes``):
the seconds to build the converted copy, sentences per second encoding the test texts without
cache (best of ``--repeats`` passes: the machine is shared), the cosine of each vector to torch
fp32's, and the accuracy of ``text.embedding-head`` (its own choice of C) trained on the
training texts. Every setting runs in this one process, one after another, on the same texts.

    .venv/bin/python benchmarks/encoder_runtimes.py [--data banking77,sms_spam]
        [--settings torch-fp32,openvino-int8] [--repeats 3] [--no-accuracy]
    .venv/bin/python benchmarks/encoder_runtimes.py --ablations [--data banking77]

``--ablations`` measures what the choices inside openvino-int8 gain, side by side: batches
sorted by token length against the texts' own order, and every core against one thread
(each a converted model loaded with that thread count; the texts in the CSV's order, which
groups them by intent).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data"
MODEL = "sentence-transformers/all-MiniLM-L6-v2"


def load(name: str) -> tuple[list[str], list[str], list[str], list[str]]:
    if name == "banking77":
        train = pd.read_csv(SHARED / "banking77" / "train.csv")
        test = pd.read_csv(SHARED / "banking77" / "test.csv")
        return (
            train.text.tolist(),
            train.category.tolist(),
            test.text.tolist(),
            test.category.tolist(),
        )
    if name == "sms_spam":
        from sklearn.model_selection import train_test_split

        sms = pd.read_csv(SHARED / "sms_spam" / "sms.tsv", sep="\t")
        train, test = train_test_split(sms, test_size=0.3, stratify=sms.label, random_state=0)
        return train.msg.tolist(), train.label.tolist(), test.msg.tolist(), test.label.tolist()
    sys.exit(f"unknown data set {name!r}: banking77 or sms_spam")


def main() -> None:
    from crossover.models.embeddings import Embedder
    from crossover.models.runtimes import SETTINGS, encoder_threads
    from crossover.strategies.text.embedding_head import EmbeddingHead

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", default="banking77,sms_spam")
    parser.add_argument("--settings", default=",".join(SETTINGS))
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--no-accuracy", action="store_true")
    parser.add_argument("--ablations", action="store_true")
    args = parser.parse_args()
    if args.ablations:
        ablations(args)
        return
    if not SHARED.exists():
        sys.exit(f"{SHARED} is absent: the shared data sets are needed for this benchmark")
    settings = args.settings.split(",")
    print(f"threads {encoder_threads()}, load {os.getloadavg()[0]:.2f}, model {MODEL}")
    for name in args.data.split(","):
        train_x, train_y, test_x, test_y = load(name)
        cache = Path(tempfile.mkdtemp(prefix="crossover-runtimes-"))
        print(f"\n{name}: {len(train_x)} train / {len(test_x)} test texts")
        header = f"{'setting':15} {'build s':>8} {'sent/s':>8} {'x torch':>8} {'cos mean':>9}"
        header += f" {'cos min':>8} {'accuracy':>9} {'vs fp32':>8}"
        print(header)
        reference: np.ndarray | None = None
        torch_rate = reference_accuracy = None
        for setting in settings:
            embedder = Embedder(MODEL, cache_dir=cache, encoder=setting, use_cache=False)
            started = time.perf_counter()
            embedder.calibrate(train_x)  # the training texts, as a study does
            embedder.runtime_encoder()
            build_s = time.perf_counter() - started
            embedder.encode(test_x[:64])  # warm-up: loading is not encoding
            best, vectors = float("inf"), None
            for _ in range(args.repeats):
                started = time.perf_counter()
                vectors = embedder.encode(test_x)
                best = min(best, time.perf_counter() - started)
            assert vectors is not None
            rate = len(test_x) / best
            if reference is None:
                reference, torch_rate = vectors, rate
            cos = (vectors * reference).sum(axis=1)
            accuracy = float("nan")
            if not args.no_accuracy:
                head = EmbeddingHead(
                    MODEL,
                    encoder=setting,
                    encoder_calibration=embedder.calibration,
                    cache_dir=str(cache),
                )
                head.fit(train_x, train_y)
                accuracy = float(np.mean(head.predict(test_x) == np.asarray(test_y)))
                if reference_accuracy is None:
                    reference_accuracy = accuracy
            delta = 100 * (accuracy - (reference_accuracy or accuracy))
            print(
                f"{setting:15} {build_s:8.1f} {rate:8.0f} {rate / (torch_rate or rate):8.2f} "
                f"{cos.mean():9.5f} {cos.min():8.5f} {accuracy:9.4f} {delta:+7.2f}p",
                flush=True,
            )
        print(f"load at the end {os.getloadavg()[0]:.2f}")


def ablations(args: argparse.Namespace) -> None:
    from crossover.models.embeddings import Embedder
    from crossover.models.runtimes import RuntimeEncoder, encoder_threads

    threads = encoder_threads()
    for name in args.data.split(","):
        train_x, _, test_x, _ = load(name)
        cache = Path(tempfile.mkdtemp(prefix="crossover-runtimes-"))
        embedder = Embedder(MODEL, cache_dir=cache, encoder="openvino-int8", use_cache=False)
        embedder.calibrate(train_x)
        folder = embedder.converted_folder()
        assert folder is not None
        runs = {
            f"sorted, {threads} threads": (
                RuntimeEncoder(embedder.model, folder, embedder.setting, threads),
                True,
            ),
            f"as given, {threads} threads": (None, False),
            "sorted, 1 thread": (RuntimeEncoder(embedder.model, folder, embedder.setting, 1), True),
        }
        first = runs[f"sorted, {threads} threads"][0]
        rates: dict[str, list[float]] = {k: [] for k in runs}
        for _ in range(args.repeats):
            for label, (encoder, by_length) in runs.items():
                encoder = encoder or first
                encoder.encode(test_x[:64])
                started = time.perf_counter()
                encoder.encode(test_x, by_length=by_length)
                rates[label].append(len(test_x) / (time.perf_counter() - started))
        print(f"\n{name}, openvino-int8, {len(test_x)} test texts, best of {args.repeats}:")
        best = max(rates[f"sorted, {threads} threads"])
        for label, values in rates.items():
            print(f"  {label:22} {max(values):7.0f} sent/s  x{max(values) / best:.2f}")
        print(f"load at the end {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
