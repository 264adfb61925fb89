"""The report of an image study: the grid of misclassified test images (thumbnails embedded as
data URIs, captioned true -> predicted with the model's confidence, most confidently wrong
first), the images whose files are gone skipped and counted, and a text study's report without
any of it."""

from __future__ import annotations

import base64
import io
import re
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import crossover
from crossover.evaluation.trials import Trial, TrialResult
from crossover.report import ReportData, render, render_html
from crossover.report.browser import find_chromium, open_report
from crossover.study import Study, load_study
from crossover.tasks.image.present import THUMBNAIL_PX, gallery

IMAGE_TASK = "image-classification"
COLOURS = {"red": (200, 40, 40), "green": (40, 180, 60), "blue": (40, 60, 200)}
# The test images: 4 per class; their truth, and two strategies' answers and confidences.
TRUTH = ["red"] * 4 + ["green"] * 4 + ["blue"] * 4
# image.good misclassifies rows 1, 5, 9 and 10, with these probabilities of its wrong answer.
GOOD = [
    "red",
    "blue",
    "red",
    "red",
    "green",
    "red",
    "green",
    "green",
    "blue",
    "green",
    "red",
    "blue",
]
WRONG_CONFIDENCE = {1: 0.55, 5: 0.91, 9: 0.40, 10: 0.75}
BAD = ["red"] * 12  # right on the red images only
DATA_URI = re.compile(r'<img src="data:image/jpeg;base64,([A-Za-z0-9+/=]+)"')


def _png(path: Path, colour: tuple[int, int, int], seed: int, size: tuple[int, int]) -> str:
    rng = np.random.default_rng(seed)
    pixels = np.clip(np.array(colour) + rng.normal(0, 20, (size[1], size[0], 3)), 0, 255)
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(pixels.astype(np.uint8)).save(path)
    return str(path)


def _proba(answers: list[str], confidence: dict[int, float]) -> list[list[float]]:
    """Probabilities over ``COLOURS`` whose largest is each answer: ``confidence`` where
    given, else 0.8."""
    classes = list(COLOURS)
    rows = []
    for i, answer in enumerate(answers):
        top = confidence.get(i, 0.8)
        rest = (1.0 - top) / 2
        rows.append([top if c == answer else rest for c in classes])
    return rows


def _result(strategy: str, answers: list[str], proba: list[list[float]] | None) -> TrialResult:
    accuracy = float(np.mean([a == t for a, t in zip(answers, TRUTH, strict=True)]))
    return TrialResult(
        trial=Trial(strategy=strategy, budget="full", seed=0, split_id="s0"),
        kind="hybrid",
        metrics={"accuracy": accuracy, "macro_f1": accuracy},
        predictions=list(answers),
        n_train=30,
        fit_s=1.0,
        fit_wall_s=1.0,
        encode_train_s=0.5,
        predict_s=0.1,
        latency_p50_ms=20.0,
        latency_p95_ms=25.0,
        throughput_rows_s=50.0,
        size_mb=19.0,
        parameters=3843,
        peak_mem_mb=100.0,
        n_classes=3,
        proba=proba,
        classes=None if proba is None else list(COLOURS),
    )


def _study(x_test: list[str], *, with_proba: bool = True, task: str = IMAGE_TASK) -> Study:
    """A study of two strategies on the 12 test images ``x_test``, made by hand (no model)."""
    good_proba = _proba(GOOD, WRONG_CONFIDENCE) if with_proba else None
    bad_proba = _proba(BAD, {}) if with_proba else None
    return Study(
        results=[_result("image.good", GOOD, good_proba), _result("image.bad", BAD, bad_proba)],
        y_true=list(TRUTH),
        task=task,
        headline="accuracy",
        spec={"task": task, "target": "label", "inputs": ["image"]},
        dataset={"source": "/home/alice/photos", "rows": 30, "classes": 3},
        split={"split_id": "s0", "split_ids": ["s0"], "train_rows": 30, "test_rows": 12},
        environment={"cpu_count": 2},
        settings={"n_resamples": 200, "seed": 0},
        x_test=x_test,
    )


@pytest.fixture
def test_images(tmp_path: Path) -> list[str]:
    """The 12 test images as files in class folders (sizes vary: one wide, one tiny)."""
    paths = []
    for i, label in enumerate(TRUTH):
        size = (300, 120) if i == 5 else (12, 12) if i == 9 else (40, 40)
        paths.append(_png(tmp_path / "test" / label / f"{i:03d}.png", COLOURS[label], i, size))
    return paths


def _words(html: str) -> str:
    """The page with its runs of white space as one space (the template wraps its lines)."""
    return " ".join(html.split())


def _thumbnails(html: str) -> list[Image.Image]:
    return [Image.open(io.BytesIO(base64.b64decode(m))) for m in DATA_URI.findall(html)]


def test_gallery_shows_the_misclassified_images_only_most_confidently_wrong_first(
    test_images: list[str], tmp_path: Path
) -> None:
    study = _study(test_images)
    assert study.best == "image.good"
    data = ReportData.from_study(study)
    html = render_html(data)
    assert 'id="misclassified"' in html
    assert "image.good misclassified 4 of the 12 test images" in _words(html)
    assert "the most confidently wrong first" in html
    # One JPEG thumbnail per misclassified image, its longer side THUMBNAIL_PX.
    thumbnails = _thumbnails(html)
    assert len(thumbnails) == 4
    assert all(t.format == "JPEG" and max(t.size) == THUMBNAIL_PX for t in thumbnails)
    # Ordered by the confidence in the wrong answer, each captioned and named by its file.
    order = sorted(WRONG_CONFIDENCE, key=lambda i: -WRONG_CONFIDENCE[i])
    titles = re.findall(r'<figure title="([^"]+)">', html)
    assert titles == [f"{TRUTH[i]}/{i:03d}.png" for i in order]
    captions = re.findall(r"<figcaption>(.*?)</figcaption>", html, flags=re.S)
    assert [re.sub(r"<[^>]+>", "", c) for c in captions] == [
        f"{TRUTH[i]} → {GOOD[i]} ({100 * WRONG_CONFIDENCE[i]:.0f} %)" for i in order
    ]
    # The wide image keeps its shape; a correctly classified image is nowhere in the page.
    assert thumbnails[0].size == (THUMBNAIL_PX, round(THUMBNAIL_PX * 120 / 300))
    assert "red/000.png" not in html and "green/004.png" not in html
    # No machine path: the confusions table quotes no test path, the captions name files.
    assert str(tmp_path) not in html and "/home/alice" not in html
    assert "<blockquote>" not in html


def test_gallery_without_probabilities_groups_the_most_frequent_confusions_first(
    test_images: list[str],
) -> None:
    g = gallery(_study(test_images, with_proba=False), "image.bad")
    assert g is not None
    assert g["misclassified"] == 8 and g["test_images"] == 12
    assert "most frequent confusions first" in g["order"]
    # image.bad calls every green and blue image red: two confusions of 4, each kept together.
    pairs = [(im["true"], im["predicted"]) for im in g["images"]]
    assert pairs == [("green", "red")] * 4 + [("blue", "red")] * 4
    assert all(im["confidence"] == "" for im in g["images"])


def test_gallery_shows_at_most_its_limit_and_counts_every_misclassified_image(
    test_images: list[str],
) -> None:
    g = gallery(_study(test_images), "image.bad", limit=3)
    assert g is not None
    assert (g["misclassified"], len(g["images"]), g["skipped"]) == (8, 3, 0)
    html = render_html(ReportData.from_study(_study(test_images)))
    assert "misclassified 4 of the 12 test images; all are shown" in _words(html)


def test_a_study_whose_images_are_gone_still_renders_with_the_skipped_count(
    test_images: list[str], tmp_path: Path
) -> None:
    study = _study(test_images)
    Path(test_images[5]).unlink()  # the most confidently wrong one
    Path(test_images[10]).write_bytes(b"")  # replaced by an empty file
    html = render_html(ReportData.from_study(study))
    assert len(_thumbnails(html)) == 2
    assert re.findall(r'<figure title="([^"]+)">', html) == ["red/001.png", "blue/009.png"]
    assert "2 misclassified images were skipped" in _words(html)
    # Every file gone (the study's folder moved): the report still renders, and says so.
    for path in test_images:
        Path(path).unlink(missing_ok=True)
    out = tmp_path / "report"
    paths = render(study, out)
    html = paths["report"].read_text()
    assert not _thumbnails(html)
    assert "none of them could be shown" in _words(html)
    assert "4 misclassified images were skipped" in _words(html)


def test_a_study_that_kept_no_test_paths_says_so(test_images: list[str]) -> None:
    study = _study(test_images)
    study.x_test = []
    html = render_html(ReportData.from_study(study))
    assert 'id="misclassified"' in html
    assert "kept no test image paths" in _words(html)
    assert not _thumbnails(html)


def test_gallery_follows_the_recommended_strategy(test_images: list[str]) -> None:
    study = _study(test_images)
    pricing, recommendation = crossover.decide(study)
    recommendation.choice = "image.bad"  # as if a constraint had set image.good aside
    data = ReportData.from_study(study, pricing, recommendation)
    assert data.gallery is not None and data.gallery["strategy"] == "image.bad"
    assert data.gallery["misclassified"] == 8


def test_gallery_survives_the_study_json_round_trip(test_images: list[str], tmp_path: Path) -> None:
    _study(test_images).to_json(tmp_path / "study.json")
    html = render_html(ReportData.from_study(load_study(tmp_path / "study.json")))
    assert len(_thumbnails(html)) == 4


def test_a_text_study_report_has_no_gallery_and_still_quotes_texts() -> None:
    texts = [f"a text about {label} number {i}" for i, label in enumerate(TRUTH)]
    study = _study(texts, task="text-classification")
    data = ReportData.from_study(study)
    assert data.gallery is None
    assert data.confusion is not None and data.confusion["quoted"]
    html = render_html(data)
    assert 'id="misclassified"' not in html and not _thumbnails(html) and "<figure" not in html
    assert "<th>examples</th>" in html and "<blockquote>“a text about" in html


@pytest.mark.slow
@pytest.mark.skipif(find_chromium() is None, reason="no chromium (make test installs it)")
def test_image_report_shows_every_thumbnail_in_headless_chromium(
    test_images: list[str], tmp_path: Path
) -> None:
    study = _study(test_images)
    pricing, recommendation = crossover.decide(study)
    report = render(study, tmp_path / "out", pricing=pricing, recommendation=recommendation)
    page = open_report(report["report"], screenshot=tmp_path / "report.png")
    assert page.errors == 0 and page.charts_drawn == len(page.chart_divs())
    # Every thumbnail decoded by the browser itself: the data URIs are valid images.
    assert re.search(r'<body[^>]* data-images="4/4"', page.dom), page.dom[-2000:]
    assert page.screenshot is not None


@pytest.mark.slow
def test_compare_on_image_folders_reports_the_misclassified_test_images(tmp_path: Path) -> None:
    """A real study (image.embedding-head on coloured squares) whose test folder holds two
    images filed under the wrong class: they are misclassified, so they are in the grid."""
    for label, colour in COLOURS.items():
        for i in range(8):
            _png(tmp_path / "train" / label / f"{i}.png", colour, 100 * i + len(label), (24, 24))
        for i in range(3):
            _png(tmp_path / "test" / label / f"{i}.png", colour, 7000 + i + len(label), (24, 24))
    _png(tmp_path / "test" / "blue" / "red-as-blue.png", COLOURS["red"], 1, (24, 24))
    _png(tmp_path / "test" / "green" / "red-as-green.png", COLOURS["red"], 2, (24, 24))
    study = crossover.compare(
        tmp_path / "train",
        test=tmp_path / "test",
        task=IMAGE_TASK,
        strategies="image.embedding-head",
        budgets="full",
        seeds=1,
        jobs=1,
        n_resamples=1000,
        measure_speed=False,
        progress=False,
    )
    predictions = study.leaderboard_results[0].predictions
    wrong = {
        f"{Path(x).parent.name}/{Path(x).name}"
        for x, t, p in zip(study.x_test, study.y_true, predictions, strict=True)
        if t != p
    }
    assert {"blue/red-as-blue.png", "green/red-as-green.png"} <= wrong
    html = render(study, tmp_path / "out")["report"].read_text()
    assert set(re.findall(r'<figure title="([^"]+)">', html)) == wrong
    assert len(_thumbnails(html)) == len(wrong)
    assert str(tmp_path) not in html
