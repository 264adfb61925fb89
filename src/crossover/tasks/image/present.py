"""How an image study is shown in the report and the CLI (see ``crossover.tasks._present``):
the data section, and the grid of misclassified test images.

The grid is what a reader of an image study wants to see: which photos the model got wrong,
and what it took them for. It is drawn from what the study keeps (the test images' paths in
``Study.x_test``, each leaderboard result's predictions in the same order, and their
probabilities when the task recorded them), reading the image files again when the report is
made: a study whose images were moved since still renders, with the missing ones counted.
"""

from __future__ import annotations

import base64
import io
from collections import Counter
from pathlib import PurePath
from typing import TYPE_CHECKING, Any

from crossover._format import scrub
from crossover.errors import DataError

if TYPE_CHECKING:
    from PIL import Image

    from crossover.evaluation.trials import TrialResult
    from crossover.study import Study

__all__ = ["GALLERY_LIMIT", "THUMBNAIL_PX", "data_summary", "gallery"]

#: The most misclassified images the grid shows (the most telling ones first).
GALLERY_LIMIT = 48
#: The side of a thumbnail, in pixels: a 28-pixel image is enlarged to it, a photo reduced.
THUMBNAIL_PX = 96
#: JPEG quality of a thumbnail: as data URIs, 48 of them add about 90 KB to the page for
#: 28-pixel Fashion-MNIST images and 160 KB for photos (measured: 1.9 and 3.2 KB each).
_JPEG_QUALITY = 80


def data_summary(study: Study) -> list[tuple[str, str]]:
    """The report's data section: where the images came from, how many, how many classes;
    folders reduced to their names, as the rest of the report (it is meant to be shared)."""
    data = study.dataset
    rows = [
        ("Images", scrub(str(data.get("source", "")))),
        (
            "Training images",
            f"{data.get('rows', 0):,} in {data.get('classes', 0)} classes "
            f"({data.get('rows_per_class_min', 0):,} to {data.get('rows_per_class_max', 0):,} "
            "per class)",
        ),
    ]
    if data.get("test_source"):
        rows.append(
            ("Test images", f"{data.get('test_rows', 0):,} from {scrub(str(data['test_source']))}")
        )
    rows.append(("Split", scrub(str(study.split.get("description", "")))))
    return rows


def gallery(study: Study, strategy: str, limit: int = GALLERY_LIMIT) -> dict[str, Any] | None:
    """The misclassified test images of ``strategy``, as thumbnails the report embeds.

    Most confidently wrong first when the study recorded class probabilities; otherwise the
    most frequent confusions first (the order of the confusions table), then in test order.
    Up to ``limit`` are shown; an image whose file cannot be read any more is skipped and
    counted, never an error. None when ``strategy`` is not on the leaderboard.

    Returns
    -------
    dict
        ``strategy``; ``test_images`` and ``misclassified`` (counts); ``order`` (how the grid
        is sorted, in words); ``skipped`` (unreadable files met while filling the grid);
        ``kept_paths`` (False for a study that kept no test image paths: nothing to show);
        ``images``: one dict per thumbnail with ``uri`` (a ``data:image/jpeg;base64`` URI),
        ``true``, ``predicted``, ``confidence`` ("93 %", or "" without probabilities) and
        ``name`` (the file name and its folder, never the machine's path).
    """
    result = next((r for r in study.leaderboard_results if r.trial.strategy == strategy), None)
    if result is None or not study.y_true:
        return None
    truth, guess = study.y_true, result.predictions
    wrong = [i for i, (t, p) in enumerate(zip(truth, guess, strict=True)) if t != p]
    confidence = _confidence(result)
    if confidence is not None:
        wrong.sort(key=lambda i: -confidence[i])
        order = "the most confidently wrong first"
    else:
        # Each confusion's images together, in the confusions table's order.
        rank = {
            pair: k
            for k, (pair, _) in enumerate(
                Counter((truth[i], guess[i]) for i in wrong).most_common()
            )
        }
        wrong.sort(key=lambda i: rank[(truth[i], guess[i])])
        order = "the most frequent confusions first (this study recorded no probabilities)"
    paths = study.x_test if len(study.x_test) == len(truth) else []
    images: list[dict[str, str]] = []
    skipped = 0
    for i in wrong if paths else []:
        if len(images) == limit:
            break
        uri = _thumbnail_uri(paths[i])
        if uri is None:
            skipped += 1
            continue
        images.append(
            {
                "uri": uri,
                "true": truth[i],
                "predicted": guess[i],
                "confidence": "" if confidence is None else f"{100 * confidence[i]:.0f} %",
                "name": _short_name(paths[i]),
            }
        )
    return {
        "strategy": strategy,
        "test_images": len(truth),
        "misclassified": len(wrong),
        "order": order,
        "skipped": skipped,
        "kept_paths": bool(paths),
        "images": images,
    }


def _confidence(result: TrialResult) -> list[float] | None:
    """Each test image's probability of the class it was given; None without probabilities."""
    if result.proba is None or not result.classes:
        return None
    column = {c: j for j, c in enumerate(result.classes)}
    if any(p not in column for p in result.predictions):
        return None
    return [float(row[column[p]]) for row, p in zip(result.proba, result.predictions, strict=True)]


def _thumbnail_uri(path: str) -> str | None:
    """``path`` as a JPEG thumbnail in a data URI; None when it cannot be read or decoded
    (moved, deleted, or replaced by something that is no longer an image)."""
    from crossover.data.images import open_image

    try:
        image = open_image(path, path)
    except (DataError, OSError, ValueError):
        return None
    buffer = io.BytesIO()
    _fit(image).save(buffer, format="JPEG", quality=_JPEG_QUALITY, optimize=True)
    return "data:image/jpeg;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def _fit(image: Image.Image) -> Image.Image:
    """``image`` scaled so that its longer side is ``THUMBNAIL_PX``: enlarged too, so that a
    grid of 28-pixel images is as legible as one of photos."""
    from PIL import Image as PILImage

    scale = THUMBNAIL_PX / max(image.size)
    size = (max(1, round(image.width * scale)), max(1, round(image.height * scale)))
    method = PILImage.Resampling.LANCZOS if scale < 1 else PILImage.Resampling.BICUBIC
    return image.resize(size, method)


def _short_name(path: str) -> str:
    """The file name with its folder (the class folder, in the ImageFolder layout), without
    the rest of the machine's path: enough to find the image, safe to share."""
    file = PurePath(path.replace("\\", "/"))
    return f"{file.parent.name}/{file.name}" if file.parent.name else file.name
