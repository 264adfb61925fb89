"""Shared by the image benchmarks and the slow image tests: Fashion-MNIST from Debian's package.

The data is the four gzip IDX files of ``dataset-fashion-mnist`` (``apt-get install
dataset-fashion-mnist``: 60,000 training and 10,000 test images, 28x28 grayscale, 10 classes;
MIT, Zalando SE). Reading them, drawing a seeded stratified subset and writing it as PNG files
in the ImageFolder layout is the code that made the bundled example
(``crossover.data.examples.make_fashion``), so the bundled folder is one such subset
(100 / 30 per class, seed 0).

    from _fashion_mnist import available, load, write_folder   # from a benchmark script
    train_dir, test_dir = write_folder(tmp / "fashion", 600, 100, seed=0)
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

from crossover.data.examples.make_fashion import (
    CLASSES,
    DEBIAN_DIR,
    FILES,
    read_split,
    write,
)

__all__ = ["CLASSES", "DEBIAN_DIR", "available", "load", "require", "write_folder"]

_MARKER = "subset.json"  # written last: the parameters of a complete folder


def available() -> bool:
    """Whether the Debian package's four IDX files are installed."""
    return all((DEBIAN_DIR / name).is_file() for pair in FILES.values() for name in pair)


def require() -> None:
    """Exit with the command that installs the data when it is absent (benchmark scripts)."""
    if not available():
        sys.exit(
            f"{DEBIAN_DIR} lacks the Fashion-MNIST files: apt-get install dataset-fashion-mnist"
        )


def load(split: str) -> tuple[np.ndarray, np.ndarray]:
    """The images (uint8, ``(n, 28, 28)``) and class names of an official split.

    ``split`` is ``"train"`` (60,000 images) or ``"test"`` (10,000); the names are those of
    ``CLASSES`` (``"t-shirt"``, ..., ``"ankle-boot"``).
    """
    images, labels = read_split(split)
    return images, np.asarray(CLASSES)[labels]


def write_folder(
    root: str | Path,
    per_class_train: int | None,
    per_class_test: int | None,
    seed: int = 0,
) -> tuple[Path, Path]:
    """Write a seeded stratified subset as ``root/{train,test}/<class>/<index>.png``.

    ``per_class_*`` None takes every image of that split. A folder already written with the
    same parameters (its ``subset.json``) and still holding the PNG files it counted is kept
    as it is; otherwise it is rewritten (PNG files of an earlier draw are removed). No test
    image has the pixels of a training image.

    Returns
    -------
    tuple of Path
        The training folder and the test folder.
    """
    root = Path(root)
    train_dir, test_dir = root / "train", root / "test"
    params = {"per_class_train": per_class_train, "per_class_test": per_class_test, "seed": seed}
    marker = root / _MARKER
    if marker.is_file():
        written = json.loads(marker.read_text(encoding="utf-8"))
        if written.get("params") == params and written.get("counts") == _counts(root):
            return train_dir, test_dir
        marker.unlink()
    write(root, per_class_train, per_class_test, seed)
    marker.write_text(json.dumps({"params": params, "counts": _counts(root)}), encoding="utf-8")
    return train_dir, test_dir


def _counts(root: Path) -> dict[str, int]:
    return {split: sum(1 for _ in (root / split).glob("*/*.png")) for split in ("train", "test")}
