"""Write ``fashion/``, the image example: a small stratified subset of Fashion-MNIST as PNG files.

Source
------
Fashion-MNIST (Zalando Research, https://github.com/zalandoresearch/fashion-mnist): 70,000
grayscale 28x28 photos of clothing in 10 classes, 60,000 in the official training set and
10,000 in the official test set, 6,000 and 1,000 per class. It is read from the four gzip IDX
files of Debian's ``dataset-fashion-mnist`` package (``apt-get install dataset-fashion-mnist``),
in ``/usr/share/datasets/fashion-mnist``; nothing is downloaded.

Licence
-------
MIT (Expat, as Debian names it): "Copyright: 2017, Zalando SE" (the package's
``/usr/share/doc/dataset-fashion-mnist/copyright``). ``fashion/README.md`` repeats it beside the
images, with the notice the licence asks to keep.

What is written
---------------
100 images per class from the official training set and 30 per class from the official test
set, drawn without replacement by ``numpy.random.default_rng`` from ``--seed`` (0), the training
and test draws from streams of their own, so the same seed gives the same files on any machine.
Each image is an 8-bit grayscale PNG (Pillow, ``optimize=True``) in the ImageFolder layout::

    fashion/train/<class>/<index>.png
    fashion/test/<class>/<index>.png

where ``<index>`` is the image's position in its official set, zero-padded to five digits, and
``<class>`` one of ``CLASSES`` (Fashion-MNIST's labels 0 to 9, in order). A test image whose
pixels equal a training image's is never drawn (the official sets have no such pair today).
PNG files left in the class folders by an earlier run and not drawn this time are removed.

Run ``python -m crossover.data.examples.make_fashion`` (or this file) to rewrite the bundled
folder; ``--source`` names another folder holding the four IDX files.

The reading (``read_idx``, ``read_split``) and the drawing and writing (``draw``, ``write``)
are shared with ``benchmarks/_fashion_mnist.py``, which writes larger subsets (or the whole set)
for the benchmarks.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
from collections.abc import Sequence
from pathlib import Path

import numpy as np

__all__ = [
    "CLASSES",
    "DEBIAN_DIR",
    "FILES",
    "OUTPUT",
    "PER_CLASS_TEST",
    "PER_CLASS_TRAIN",
    "SPLITS",
    "draw",
    "main",
    "read_idx",
    "read_split",
    "write",
]

OUTPUT = Path(__file__).with_name("fashion")
DEBIAN_DIR = Path("/usr/share/datasets/fashion-mnist")

#: Fashion-MNIST's class names, in the order of its labels 0 to 9.
CLASSES: tuple[str, ...] = (
    "t-shirt",
    "trouser",
    "pullover",
    "dress",
    "coat",
    "sandal",
    "shirt",
    "sneaker",
    "bag",
    "ankle-boot",
)
SPLITS: tuple[str, ...] = ("train", "test")
#: The images and labels files of each official split.
FILES: dict[str, tuple[str, str]] = {
    "train": ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"),
    "test": ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"),
}
PER_CLASS_TRAIN = 100
PER_CLASS_TEST = 30

_UBYTE = 0x08  # the IDX type code of unsigned bytes, the only one Fashion-MNIST uses


def read_idx(path: Path) -> np.ndarray:
    """Read a gzip IDX file of unsigned bytes (``*-ubyte.gz``) into a uint8 array.

    Parameters
    ----------
    path : Path
        The gzip-compressed IDX file.

    Returns
    -------
    numpy.ndarray
        uint8, of the shape the file's header gives (``(n, 28, 28)`` images, ``(n,)`` labels).

    Raises
    ------
    ValueError
        When the header is not that of an IDX file of unsigned bytes, or the data is shorter or
        longer than the header says.
    """
    with gzip.open(path, "rb") as f:
        data = f.read()
    if len(data) < 4 or data[0] != 0 or data[1] != 0 or data[2] != _UBYTE:
        raise ValueError(f"{path}: not an IDX file of unsigned bytes (header {data[:4].hex()})")
    ndim = data[3]
    start = 4 + 4 * ndim
    shape = tuple(int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    size = int(np.prod(shape))
    if len(data) - start != size:
        raise ValueError(
            f"{path}: the header gives shape {shape} ({size} bytes), the file holds "
            f"{len(data) - start}"
        )
    return np.frombuffer(data, dtype=np.uint8, offset=start).reshape(shape)


def read_split(split: str, source: Path = DEBIAN_DIR) -> tuple[np.ndarray, np.ndarray]:
    """The images and integer labels of an official split (``"train"`` or ``"test"``).

    Returns
    -------
    tuple of numpy.ndarray
        uint8 images of shape ``(n, 28, 28)`` and uint8 labels of shape ``(n,)``, 0 to 9 (the
        positions of ``CLASSES``).

    Raises
    ------
    ValueError
        For a split other than ``"train"`` and ``"test"``, or files that do not match.
    FileNotFoundError
        When ``source`` lacks the files (install ``dataset-fashion-mnist``).
    """
    if split not in FILES:
        raise ValueError(f"split must be one of {SPLITS}, got {split!r}")
    images_file, labels_file = FILES[split]
    images = read_idx(source / images_file)
    labels = read_idx(source / labels_file)
    if images.ndim != 3 or labels.ndim != 1 or len(images) != len(labels):
        raise ValueError(
            f"{source}: {split} images of shape {images.shape} do not match labels of shape "
            f"{labels.shape}"
        )
    if labels.size and int(labels.max()) >= len(CLASSES):
        raise ValueError(f"{source / labels_file}: label {int(labels.max())} is not 0 to 9")
    return images, labels


def draw(labels: np.ndarray, per_class: int | None, rng: np.random.Generator) -> np.ndarray:
    """Positions of ``per_class`` images of each class, drawn without replacement, sorted.

    ``per_class`` None keeps every position. A class with fewer images is an error.
    """
    if per_class is None:
        return np.arange(len(labels))
    chosen = []
    for label in range(len(CLASSES)):
        pool = np.flatnonzero(labels == label)
        if len(pool) < per_class:
            raise ValueError(f"class {CLASSES[label]!r} has {len(pool)} images, < {per_class}")
        chosen.append(rng.choice(pool, size=per_class, replace=False))
    return np.sort(np.concatenate(chosen))


def _pixel_key(image: np.ndarray) -> bytes:
    return hashlib.sha256(image.tobytes()).digest()


def _write_split(images: np.ndarray, labels: np.ndarray, keep: np.ndarray, out: Path) -> None:
    from PIL import Image

    wanted: dict[Path, set[str]] = {out / name: set() for name in CLASSES}
    for folder in wanted:
        folder.mkdir(parents=True, exist_ok=True)
    for i in keep:
        folder = out / CLASSES[int(labels[i])]
        name = f"{int(i):05d}.png"
        wanted[folder].add(name)
        Image.fromarray(images[i]).save(folder / name, format="PNG", optimize=True)
    for folder, names in wanted.items():
        for stale in folder.glob("*.png"):
            if stale.name not in names:
                stale.unlink()


def write(
    out: Path,
    per_class_train: int | None = PER_CLASS_TRAIN,
    per_class_test: int | None = PER_CLASS_TEST,
    seed: int = 0,
    source: Path = DEBIAN_DIR,
) -> tuple[Path, Path]:
    """Write a seeded stratified subset of Fashion-MNIST under ``out`` as ImageFolder PNGs.

    Parameters
    ----------
    out : Path
        The folder that receives ``train/<class>/<index>.png`` and ``test/<class>/<index>.png``.
    per_class_train, per_class_test : int or None, default=100 and 30
        Images per class drawn from the official training and test sets; None writes all.
    seed : int, default=0
        Seed of the draws; the training and test draws each have a stream of their own.
    source : Path, default=DEBIAN_DIR
        The folder of the four gzip IDX files.

    Returns
    -------
    tuple of Path
        The training folder and the test folder.
    """
    train_images, train_labels = read_split("train", source)
    test_images, test_labels = read_split("test", source)
    train_keep = draw(train_labels, per_class_train, np.random.default_rng([seed, 0]))
    # Never a test image equal to a training one: drop them from the test pool before drawing.
    seen = {_pixel_key(image) for image in train_images}
    clean = np.array([_pixel_key(image) not in seen for image in test_images], dtype=bool)
    test_pool = np.flatnonzero(clean)
    test_keep = test_pool[
        draw(test_labels[test_pool], per_class_test, np.random.default_rng([seed, 1]))
    ]
    train_dir, test_dir = out / "train", out / "test"
    _write_split(train_images, train_labels, train_keep, train_dir)
    _write_split(test_images, test_labels, test_keep, test_dir)
    return train_dir, test_dir


def main(argv: Sequence[str] | None = None) -> None:
    """Write the bundled example to ``fashion/`` (or ``--out``).

    Parameters
    ----------
    argv : sequence of str or None, default=None
        Command-line arguments (``--train``, ``--test``, ``--seed``, ``--source``, ``--out``);
        ``sys.argv`` when None.
    """
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--train", type=int, default=PER_CLASS_TRAIN, help="images per class")
    parser.add_argument("--test", type=int, default=PER_CLASS_TEST, help="images per class")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--source", type=Path, default=DEBIAN_DIR)
    parser.add_argument("--out", type=Path, default=OUTPUT)
    args = parser.parse_args(argv)
    train_dir, test_dir = write(args.out, args.train, args.test, args.seed, args.source)
    files = [*train_dir.glob("*/*.png"), *test_dir.glob("*/*.png")]
    size = sum(f.stat().st_size for f in files)
    print(f"wrote {args.out}: {len(files):,} PNG files, {size / 1e6:.2f} MB")


if __name__ == "__main__":
    main()
