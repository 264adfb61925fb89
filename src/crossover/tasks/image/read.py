"""Reading labelled images: a folder of class folders, or a table of image paths and labels.

The two layouts users already have:

- a folder with one sub-folder per class (the ImageFolder convention of torchvision and
  Keras): ``photos/cat/001.jpg``, ``photos/dog/a.png`` ... (images at any depth inside a class
  folder; files that are not images are skipped and counted);
- a table (CSV, Parquet ...) with an image-path column, relative to the table's folder, and a
  label column, as AutoGluon's MultiModalPredictor takes (both inferred when unnamed).

Every image is decoded once here (``crossover.data.images.open_image``), so that an unreadable,
truncated, empty or oversized file is refused before any model runs, with its path. The rows
are the image's absolute path and its label (columns ``image`` and ``label`` for a folder; a
table's own column names), and ``_sha256``, the content hash, which finds the same image in
training and test.
"""

from __future__ import annotations

import hashlib
import logging
import os
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pandas as pd

from crossover.data import Dataset, TaskSpec, as_frame, check_descriptions, load_label_descriptions
from crossover.data.images import IMAGE_SUFFIXES, image_bytes, open_image
from crossover.errors import DataError

__all__ = ["IMAGE", "LABEL", "SHA", "TASK_NAME", "list_images", "read"]

logger = logging.getLogger("crossover")
TASK_NAME = "image-classification"
#: The columns of a read image data set.
IMAGE, LABEL, SHA = "image", "label", "_sha256"
#: Files a folder may hold beside its images without a warning.
_QUIET = frozenset({".ds_store", "thumbs.db", "desktop.ini"})
#: Threads that decode images while checking them (Pillow releases the GIL while decoding).
_DECODERS = min(8, (os.cpu_count() or 1) * 2)


def read(
    data: str | Path | pd.DataFrame,
    *,
    image: str | None = None,
    label: str | None = None,
    test: str | Path | pd.DataFrame | None = None,
    label_descriptions: str | Path | dict[str, str] | None = None,
    strict: bool = False,
    **_other_tasks: Any,
) -> Dataset:
    """Read and check labelled images (``crossover.load(..., task="image-classification")``).

    ``data`` is a folder of class folders, or a table (file or DataFrame) of image paths and
    labels (``image`` and ``label`` name its columns; inferred when there is one candidate);
    ``test`` a fixed test set in either layout; ``label_descriptions`` label -> description
    for the pre-trained strategy; ``strict`` refuses a folder's non-image files and a table's
    rows without an image or label instead of skipping them. A ``DataError`` names the file.
    """
    warnings: list[str] = []
    inferred: dict[str, str] = {}
    frame, source, (image_col, label_col) = _read_any(
        data, image, label, strict, warnings, inferred
    )
    _check_classes(frame, image_col, label_col, source)
    test_frame: pd.DataFrame | None = None
    test_source: str | None = None
    if test is not None:
        # A test folder beside a training table (or the reverse) is read in its own layout.
        test_frame, test_source, test_cols = _read_any(test, image, label, strict, warnings, {})
        test_frame = test_frame.rename(
            columns=dict(zip(test_cols, (image_col, label_col), strict=True))
        )
        _check_test(frame, test_frame, image_col, label_col, test_source, warnings)
    descriptions: dict[str, str] | None = None
    if label_descriptions is not None:
        if isinstance(label_descriptions, dict):
            descriptions, desc_source = dict(label_descriptions), "label descriptions"
        else:
            descriptions = load_label_descriptions(label_descriptions)
            desc_source = str(label_descriptions)
        check_descriptions(descriptions, set(frame[label_col]), desc_source, warnings)
    spec = TaskSpec(TASK_NAME, (image_col,), label_col, descriptions)
    for w in warnings:
        logger.warning(w)
    # Read again the same way (export): the image column (the label is the spec's target).
    options = {"image": image_col} if image_col != IMAGE or label_col != LABEL else {}
    return Dataset(frame, spec, test_frame, source, test_source, warnings, inferred, options)


def _read_any(
    data: str | Path | pd.DataFrame,
    image: str | None,
    label: str | None,
    strict: bool,
    warnings: list[str],
    inferred: dict[str, str],
) -> tuple[pd.DataFrame, str, tuple[str, str]]:
    """The images of a folder or a table, checked; its name; its (image, label) columns."""
    if isinstance(data, str | Path) and Path(data).is_dir():
        paths, labels = list_images(Path(data), strict, warnings)
        source = str(data)
        root = Path(data)
        image_col, label_col = IMAGE, LABEL
    else:
        if isinstance(data, str | Path) and not Path(data).exists():
            raise DataError(
                f"{data}: no such file or folder; pass a folder with one sub-folder per class, "
                "or a table of image paths and labels"
            )
        frame, source = as_frame(data, warnings)
        root = Path(source).parent if isinstance(data, str | Path) else Path.cwd()
        image_col, label_col = _columns(frame, image, label, source, inferred)
        paths, labels = _table_rows(frame, image_col, label_col, root, source, strict, warnings)
    if not paths:
        raise DataError(
            f"{source}: no images found; use JPEG, PNG or WebP files "
            f"({', '.join(sorted(IMAGE_SUFFIXES))})"
        )
    digests = _check_images(paths)
    frame = pd.DataFrame({image_col: [str(p) for p in paths], label_col: labels, SHA: digests})
    return frame, source, (image_col, label_col)


def list_images(root: Path, strict: bool, warnings: list[str]) -> tuple[list[Path], list[str]]:
    """Images under each class folder of ``root`` (sorted, so the order is the same on every
    machine), and their labels: the folder names."""
    classes = sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
    loose = [p for p in root.iterdir() if p.is_file() and p.name.lower() not in _QUIET]
    if not classes:
        raise DataError(
            f"{root}: no class folders; put each class's images in a sub-folder named after "
            "the class (photos/cat/1.jpg, photos/dog/2.jpg), or pass a table of paths and labels"
        )
    if loose:
        warnings.append(
            f"{root}: skipped {len(loose)} file(s) beside the class folders (first: "
            f"{loose[0].name}); only images inside a class folder are read"
        )
    paths: list[Path] = []
    labels: list[str] = []
    skipped: list[Path] = []
    for folder in classes:
        for path in sorted(_files(folder)):
            if path.suffix.lower() in IMAGE_SUFFIXES:
                paths.append(path.resolve())
                labels.append(folder.name)
            elif path.name.lower() not in _QUIET:
                skipped.append(path)
    if skipped:
        message = (
            f"{root}: {len(skipped)} file(s) are not images by their suffix (first: {skipped[0]})"
        )
        if strict:
            raise DataError(f"{message}; remove them, or drop --strict to skip them")
        warnings.append(f"{message}; skipped")
    return paths, labels


def _files(folder: Path) -> Iterable[Path]:
    for path in folder.rglob("*"):
        if path.is_file() and not any(part.startswith(".") for part in path.parts[-2:]):
            yield path


def _columns(
    frame: pd.DataFrame,
    image: str | None,
    label: str | None,
    source: str,
    inferred: dict[str, str],
) -> tuple[str, str]:
    """The image-path and label columns: as named, else the one column whose values end in an
    image suffix, and the one other column."""
    for column, flag in ((image, "--image"), (label, "--label")):
        if column is not None and column not in frame.columns:
            raise DataError(
                f"{source}: no column {column!r} (given by {flag}); the columns are: "
                f"{', '.join(map(repr, frame.columns))}"
            )
    if image is None:
        candidates = [c for c in frame.columns if c != label and _looks_like_paths(frame[c])]
        if len(candidates) != 1:
            found = "none" if not candidates else ", ".join(map(repr, candidates))
            raise DataError(
                f"{source}: cannot tell which column holds the image paths (candidates: "
                f"{found}); name it with --image"
            )
        image = str(candidates[0])
        inferred["image"] = image
    if label is None:
        others = [c for c in frame.columns if c != image]
        if len(others) != 1:
            raise DataError(
                f"{source}: cannot tell which column holds the labels (columns besides "
                f"{image!r}: {', '.join(map(repr, others)) or 'none'}); name it with --label"
            )
        label = str(others[0])
        inferred["label"] = label
    return image, label


def _looks_like_paths(column: pd.Series) -> bool:
    values = column.dropna().astype(str).head(200)
    if values.empty:
        return False
    suffixes = values.map(lambda v: Path(v).suffix.lower())
    return bool(suffixes.isin(IMAGE_SUFFIXES).mean() >= 0.9)


def _table_rows(
    frame: pd.DataFrame,
    image: str,
    label: str,
    root: Path,
    source: str,
    strict: bool,
    warnings: list[str],
) -> tuple[list[Path], list[str]]:
    paths = frame[image].astype("string").str.strip()
    labels = frame[label].astype("string").str.strip()
    empty = paths.isna() | (paths == "") | labels.isna() | (labels == "")
    if empty.any():
        first = int(empty.to_numpy().nonzero()[0][0]) + 2  # the header, and one-based
        message = (
            f"{source}: {int(empty.sum())} row(s) have no image path in column {image!r} or "
            f"no label in column {label!r} (first at line {first})"
        )
        if strict:
            raise DataError(f"{message}; fill or remove them, or drop --strict")
        warnings.append(f"{message}; dropped")
    out_paths: list[Path] = []
    missing: list[str] = []
    for value in paths[~empty]:
        path = Path(str(value)).expanduser()
        path = path if path.is_absolute() else root / path
        if not path.is_file():
            missing.append(str(path))
        out_paths.append(path.resolve())
    if missing:
        raise DataError(
            f"{source}: {len(missing)} image path(s) in column {image!r} do not exist (first: "
            f"{missing[0]}); paths are relative to the table's folder ({root})"
        )
    return out_paths, [str(v) for v in labels[~empty]]


def _check_images(paths: list[Path]) -> list[str]:
    """Decode every image (a ``DataError`` names the first bad one) and hash its bytes."""

    def check(path: Path) -> str:
        data = image_bytes(path)
        open_image(data, str(path))
        return hashlib.sha256(data).hexdigest()

    with ThreadPoolExecutor(_DECODERS) as pool:
        return list(pool.map(check, paths))


def _check_classes(frame: pd.DataFrame, image: str, label: str, source: str) -> None:
    counts = frame[label].value_counts()
    if len(counts) < 2:
        only = repr(counts.index[0]) if len(counts) else "none"
        raise DataError(
            f"{source}: fewer than two classes (found {only}); a classifier needs images of "
            "at least two labels"
        )
    single = counts[counts < 2]
    if len(single):
        names = ", ".join(repr(c) for c in single.index[:10])
        first = frame.loc[frame[label] == single.index[0], image].iloc[0]
        raise DataError(
            f"{source}: class(es) {names} have a single image ({first}); add at least one "
            "more image of each, or remove them"
        )


def _check_test(
    train: pd.DataFrame,
    test: pd.DataFrame,
    image: str,
    label: str,
    source: str,
    warnings: list[str],
) -> None:
    unseen = sorted(set(test[label]) - set(train[label]))
    if unseen:
        names = ", ".join(map(repr, unseen[:10]))
        raise DataError(
            f"{source}: test label(s) {names} never occur in the training images; add "
            "training images of them or remove those test images"
        )
    seen = dict(zip(train[SHA], train[image], strict=True))
    same = test[test[SHA].isin(seen)]
    if len(same):
        first = same.iloc[0]
        warnings.append(
            f"possible leakage: {len(same)} test image(s) of {len(test)} are byte-for-byte "
            f"copies of training images (first: {first[image]} = {seen[first[SHA]]}); "
            "scores on them are optimistic"
        )
