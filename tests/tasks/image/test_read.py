"""Reading labelled images: both layouts, every format the issue names, and each bad image
refused with its path."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image

import crossover
from crossover.errors import DataError
from crossover.tasks.image.read import SHA


def _image(value: int, mode: str = "RGB", size: int = 12) -> Image.Image:
    rng = np.random.default_rng(value)
    pixels = rng.integers(0, 255, (size, size, 4), dtype=np.uint8)
    channels = {"RGB": 3, "RGBA": 4, "L": 1}[mode]
    return Image.fromarray(pixels[:, :, :channels].squeeze(), mode=None)


def _save(path: Path, image: Image.Image, fmt: str = "PNG") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    image.save(path, format=fmt)
    return path


def _folder(root: Path, per_class: int = 3, start: int = 0) -> Path:
    for c, name in enumerate(("cat", "dog")):
        for i in range(per_class):
            _save(root / name / f"{i}.png", _image(start + 10 * c + i))
    return root


def test_a_folder_of_class_folders_reads_every_format(tmp_path: Path) -> None:
    root = tmp_path / "photos"
    _save(root / "cat" / "a.jpg", _image(1), "JPEG")
    _save(root / "cat" / "b.png", _image(2, "L"))  # grayscale
    _save(root / "cat" / "nested" / "c.webp", _image(3), "WEBP")
    _save(root / "dog" / "d.png", _image(4, "RGBA"))  # transparency
    _save(root / "dog" / "e.png", _image(5))
    (root / "dog" / "notes.txt").write_text("not an image")
    dataset = crossover.load(root, task="image-classification")
    frame = dataset.frame
    assert dataset.spec.task == "image-classification"
    assert sorted(frame["label"]) == ["cat", "cat", "cat", "dog", "dog"]
    assert all(Path(p).is_absolute() and Path(p).is_file() for p in frame["image"])
    assert frame[SHA].str.len().eq(64).all()
    assert any("notes.txt" in w and "skipped" in w for w in dataset.warnings)


def test_strict_refuses_a_non_image_file(tmp_path: Path) -> None:
    root = _folder(tmp_path / "photos")
    (root / "cat" / "notes.txt").write_text("x")
    with pytest.raises(DataError, match=r"notes\.txt.*--strict"):
        crossover.load(root, task="image-classification", strict=True)


def test_a_table_of_paths_relative_to_the_table(tmp_path: Path) -> None:
    root = _folder(tmp_path / "images")
    rows = [
        {"file": str(p.relative_to(tmp_path)), "kind": p.parent.name}
        for p in sorted(root.rglob("*.png"))
    ]
    table = tmp_path / "labels.csv"
    pd.DataFrame(rows).to_csv(table, index=False)
    dataset = crossover.load(table, task="image-classification")
    assert dataset.inferred == {"image": "file", "label": "kind"}
    assert dataset.spec.inputs == ("file",) and dataset.spec.target == "kind"
    assert all(Path(p).is_file() for p in dataset.frame["file"])
    # Read again with the names it recorded (export does): the same rows.
    again = crossover.load(table, task="image-classification", label="kind", **dataset.options)
    assert again.fingerprint == dataset.fingerprint


def test_a_missing_path_in_a_table_names_it(tmp_path: Path) -> None:
    _folder(tmp_path / "images")
    table = tmp_path / "labels.csv"
    pd.DataFrame(
        {"path": ["images/cat/0.png", "images/cat/gone.png"], "label": ["cat", "dog"]}
    ).to_csv(table, index=False)
    with pytest.raises(DataError, match=r"gone\.png.*relative to the table"):
        crossover.load(table, task="image-classification")


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b"", r"empty file \(0 bytes\)"),
        (b"this is not a picture at all", "not an image Pillow can read"),
    ],
)
def test_a_bad_file_is_refused_with_its_path(tmp_path: Path, content: bytes, reason: str) -> None:
    root = _folder(tmp_path / "photos")
    bad = root / "dog" / "bad.png"
    bad.write_bytes(content)
    with pytest.raises(DataError, match=rf"dog/bad\.png: {reason}"):
        crossover.load(root, task="image-classification")


def test_a_truncated_image_is_refused(tmp_path: Path) -> None:
    root = _folder(tmp_path / "photos")
    buffer = io.BytesIO()
    _image(99, size=64).save(buffer, format="JPEG")
    (root / "cat" / "cut.jpg").write_bytes(buffer.getvalue()[: len(buffer.getvalue()) // 2])
    with pytest.raises(DataError, match=r"cat/cut\.jpg: the image is damaged"):
        crossover.load(root, task="image-classification")


def test_a_decompression_bomb_is_an_error_not_a_warning(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = _folder(tmp_path / "photos")
    _save(root / "cat" / "huge.png", _image(7, size=40))  # 1,600 pixels
    # Pillow only warns between its limit and twice it; crossover refuses at the limit.
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1_000)
    with pytest.raises(DataError, match=r"huge\.png: 1,600 pixels, more than the limit of 1,000"):
        crossover.load(root, task="image-classification")


def test_a_class_with_one_image_is_refused(tmp_path: Path) -> None:
    root = _folder(tmp_path / "photos")
    _save(root / "bird" / "only.png", _image(50))
    with pytest.raises(DataError, match=r"'bird' have a single image .*only\.png"):
        crossover.load(root, task="image-classification")


def test_no_class_folders_says_what_layout_it_wants(tmp_path: Path) -> None:
    _save(tmp_path / "flat" / "a.png", _image(1))
    with pytest.raises(DataError, match="no class folders"):
        crossover.load(tmp_path / "flat", task="image-classification")


def test_a_test_image_that_is_a_training_image_is_a_leakage_warning(tmp_path: Path) -> None:
    train = _folder(tmp_path / "train")
    test = _folder(tmp_path / "test", start=100)
    (test / "dog" / "copy.png").write_bytes((train / "cat" / "1.png").read_bytes())
    dataset = crossover.load(train, task="image-classification", test=test)
    leak = [w for w in dataset.warnings if w.startswith("possible leakage")]
    assert len(leak) == 1 and "1 test image(s) of 7" in leak[0] and "copy.png" in leak[0]


def test_a_test_label_never_trained_on_is_refused(tmp_path: Path) -> None:
    train = _folder(tmp_path / "train")
    test = _folder(tmp_path / "test", start=100)
    _save(test / "bird" / "x.png", _image(77))
    with pytest.raises(DataError, match=r"'bird' never occur in the training images"):
        crossover.load(train, task="image-classification", test=test)


def test_the_holdout_is_stratified_and_seeded(tmp_path: Path) -> None:
    from crossover import tasks

    root = _folder(tmp_path / "photos", per_class=10)
    dataset = crossover.load(root, task="image-classification")
    task = tasks.get("image-classification")
    first, again = task.split(dataset, 0), task.split(dataset, 0)
    assert first.split_id == again.split_id
    assert first.test["label"].value_counts().to_dict() == {"cat": 2, "dog": 2}
    assert not set(first.train["image"]) & set(first.test["image"])
