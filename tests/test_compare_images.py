"""Image studies end to end: the bundled example, bad images at the command line, and a
Fashion-MNIST study from Debian's package (skipped where it is not installed)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

import crossover
from crossover.cli import app
from crossover.data import example_path


def _folder(root: Path, classes: int = 2, per_class: int = 3) -> Path:
    rng = np.random.default_rng(0)
    for c in range(classes):
        for i in range(per_class):
            path = root / f"class{c}" / f"{i}.png"
            path.parent.mkdir(parents=True, exist_ok=True)
            Image.fromarray(rng.integers(0, 255, (16, 16, 3), dtype=np.uint8)).save(path)
    return root


@pytest.mark.parametrize(
    ("damage", "says"),
    [
        (lambda p: p.write_bytes(b""), "empty file (0 bytes)"),
        (lambda p: p.write_bytes(p.read_bytes()[:40]), "a PNG file that is damaged or cut short"),
        (lambda p: p.write_text("<html>not a picture</html>"), "not an image Pillow can read"),
    ],
)
def test_compare_refuses_a_bad_image_naming_the_file(
    tmp_path: Path, damage: object, says: str
) -> None:
    root = _folder(tmp_path / "photos")
    bad = root / "class1" / "2.png"
    damage(bad)  # type: ignore[operator]
    result = CliRunner().invoke(
        app, ["compare", str(root), "--task", "image-classification", "--out", str(tmp_path / "o")]
    )
    assert result.exit_code == 2, result.output
    assert str(bad) in result.output
    assert says in " ".join(result.output.split())
    assert "Traceback" not in result.output
    assert not (tmp_path / "o" / "study.json").exists()


@pytest.mark.slow
def test_a_study_of_the_bundled_images(tmp_path: Path) -> None:
    root = example_path("fashion")
    study = crossover.compare(
        root / "train",
        task="image-classification",
        test=root / "test",
        strategies="image.embedding-head",
        budgets="4,full",
        seeds=1,
        progress=False,
        measure_speed=False,
    )
    assert study.dataset["rows"] == 1000 and study.split["test_rows"] == 300
    assert study.dataset["classes"] == 10
    assert len(study.x_test) == 300 and all(Path(p).is_file() for p in study.x_test)
    scores = dict(zip(study.leaderboard.strategy, study.leaderboard.score, strict=True))
    # 10 classes: chance is 0.1; the frozen ImageNet features with 100 images per class do far
    # better (0.72 measured), and 4 per class does worse than all of them.
    assert scores["image.embedding-head"] > 0.5
    board = study.learning_curve
    curve = dict(zip(board.budget_per_class.astype(str), board.score_mean, strict=True))
    assert curve["4"] < curve["full"]


@pytest.mark.slow
def test_a_fashion_mnist_study_from_the_debian_package(tmp_path: Path) -> None:
    import importlib.util
    import sys

    benchmarks = Path(__file__).resolve().parents[1] / "benchmarks"
    spec = importlib.util.spec_from_file_location(
        "_fashion_mnist", benchmarks / "_fashion_mnist.py"
    )
    assert spec is not None and spec.loader is not None
    fashion = importlib.util.module_from_spec(spec)
    sys.modules["_fashion_mnist"] = fashion
    spec.loader.exec_module(fashion)
    if not fashion.available():
        pytest.skip("Debian's dataset-fashion-mnist is not installed")
    train, test = fashion.write_folder(tmp_path / "fashion", 30, 20, seed=1)
    study = crossover.compare(
        train,
        task="image-classification",
        test=test,
        strategies="image.embedding-head",
        budgets="full",
        progress=False,
        measure_speed=False,
    )
    assert study.split["test_rows"] == 200
    assert study.leaderboard.score.iloc[0] > 0.5
