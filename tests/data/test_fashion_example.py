"""The bundled image example (``fashion/``, a Fashion-MNIST subset): its layout, its files, its
size, and no image shared by its training and test folders."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from PIL import Image

from crossover.data import example_path
from crossover.data.examples.make_fashion import (
    CLASSES,
    OUTPUT,
    PER_CLASS_TEST,
    PER_CLASS_TRAIN,
)

FOLDER = example_path("fashion")
PER_CLASS = {"train": PER_CLASS_TRAIN, "test": PER_CLASS_TEST}


def _pngs(split: str) -> list[Path]:
    return sorted((FOLDER / split).glob("*/*.png"))


def test_example_path_is_the_generators_folder() -> None:
    assert FOLDER == OUTPUT
    assert FOLDER.is_dir()
    assert (FOLDER / "README.md").is_file()


def test_example_path_still_names_the_csv_examples() -> None:
    assert example_path("fraud_transactions").name == "fraud_transactions.csv"
    assert example_path().name == "support_tickets.csv"


@pytest.mark.parametrize("split", ["train", "test"])
def test_ten_class_folders_with_their_count_each(split: str) -> None:
    assert PER_CLASS == {"train": 100, "test": 30}
    folders = sorted(p.name for p in (FOLDER / split).iterdir())
    assert folders == sorted(CLASSES)
    for name in CLASSES:
        files = list((FOLDER / split / name).iterdir())
        assert len(files) == PER_CLASS[split], (split, name)
        assert all(f.suffix == ".png" and f.stem.isdigit() for f in files), (split, name)


@pytest.mark.parametrize("split", ["train", "test"])
def test_every_file_is_a_28x28_grayscale_png(split: str) -> None:
    for path in _pngs(split):
        with Image.open(path) as image:
            assert image.format == "PNG", path
            assert image.mode == "L", path
            assert image.size == (28, 28), path
            image.load()  # decodes the whole file: a truncated one fails here


def test_total_size_under_2_mb() -> None:
    files = [p for p in FOLDER.rglob("*") if p.is_file()]
    assert sum(p.stat().st_size for p in files) < 2_000_000


def test_no_image_in_both_train_and_test() -> None:
    def digests(split: str) -> set[str]:
        return {hashlib.sha256(p.read_bytes()).hexdigest() for p in _pngs(split)}

    train, test = digests("train"), digests("test")
    assert len(train) == len(CLASSES) * PER_CLASS_TRAIN  # no duplicate within a split either
    assert len(test) == len(CLASSES) * PER_CLASS_TEST
    assert not train & test
