"""``image.cnn``: a network trained from scratch learns simple shapes and digits, decodes every
kind of image input, stops at its time budget, and comes back from disk unchanged."""

from __future__ import annotations

import io
import itertools
import json
import math
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from crossover.errors import ConfigError, DataError
from crossover.strategies import Strategy
from crossover.strategies.image import cnn as cnn_module
from crossover.strategies.image.cnn import ImageCnn, choose_image_size

#: Small and short: the tests check behaviour, not the accuracy of the default network.
FAST = {"width": 8, "epochs": 6}
#: Training steps per epoch on the 60 training shapes (one batch of 60 images a step; an epoch
#: is at least the module's minimum of images).
STEPS_PER_EPOCH = math.ceil(max(60, cnn_module._MIN_EPOCH_IMAGES) / 60)
CLASSES = ("disc", "horizontal", "vertical")


def _shape(kind: str, rng: np.random.Generator, size: int, rgb: bool) -> Image.Image:
    """One noisy image of a class: a disc, or stripes across or down, at a random place."""
    yy, xx = np.mgrid[0:size, 0:size]
    if kind == "disc":
        cy, cx = rng.uniform(size * 0.3, size * 0.7, 2)
        radius = rng.uniform(size * 0.15, size * 0.3)
        picture = ((yy - cy) ** 2 + (xx - cx) ** 2 < radius**2).astype(float)
    else:
        period, phase = rng.uniform(5, 9), rng.uniform(0, 9)
        along = yy if kind == "horizontal" else xx
        picture = (np.sin(2 * np.pi * (along + phase) / period) > 0).astype(float)
    picture = np.clip(picture * 200 + 30 + rng.normal(0, 20, picture.shape), 0, 255)
    if not rgb:
        return Image.fromarray(picture.astype(np.uint8), mode="L")
    tint = rng.uniform(0.4, 1.0, 3)
    return Image.fromarray((picture[..., None] * tint).astype(np.uint8), mode="RGB")


def _shapes(per_class: int, seed: int, *, size: int = 32, rgb: bool = False) -> tuple[list, list]:
    rng = np.random.default_rng(seed)
    images, labels = [], []
    for _ in range(per_class):
        for kind in CLASSES:
            images.append(_shape(kind, rng, size, rgb))
            labels.append(kind)
    return images, labels


def _as_files(images: list[Image.Image], folder: Path) -> list[str]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i, image in enumerate(images):
        path = folder / f"{i:03d}.png"
        image.save(path)
        paths.append(str(path))
    return paths


def _png(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


@pytest.fixture(autouse=True, scope="module")
def _one_torch_thread() -> Iterator[None]:
    """Train with one torch thread, as a study's worker processes do: on a busy machine two
    threads ran these small fits 6-12x slower (each waits for the other at every operation);
    the strategy keeps a thread count it finds set, and the code path is the same."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def shapes(tmp_path_factory: pytest.TempPathFactory) -> dict[str, list]:
    """Grayscale shapes as PNG files: 20 per class to train on, 10 per class to test on."""
    root = tmp_path_factory.mktemp("shapes")
    train, y_train = _shapes(20, seed=0)
    test, y_test = _shapes(10, seed=1)
    return {
        "x_train": _as_files(train, root / "train"),
        "y_train": y_train,
        "x_test": _as_files(test, root / "test"),
        "y_test": y_test,
        "test_images": test,
    }


@pytest.fixture(scope="module")
def fitted(shapes: dict[str, list]) -> ImageCnn:
    return ImageCnn(**FAST).fit(shapes["x_train"], shapes["y_train"])


def _accuracy(model: Strategy, x: list, y: list) -> float:
    return float(np.mean(model.predict(x) == np.asarray(y, dtype=object)))


# -- learning -------------------------------------------------------------------------------------


def test_image_cnn_learns_shapes_well_above_chance(
    fitted: ImageCnn, shapes: dict[str, list]
) -> None:
    assert _accuracy(fitted, shapes["x_test"], shapes["y_test"]) >= 0.9  # chance: 1 in 3
    proba = fitted.predict_proba(shapes["x_test"])
    assert proba.shape == (30, 3)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-9)
    assert list(fitted.classes_[proba.argmax(axis=1)]) == list(fitted.predict(shapes["x_test"]))


def test_image_cnn_records_what_it_chose_and_ran(fitted: ImageCnn) -> None:
    assert fitted.image_size_ == 32  # the images' side, inside 28..64
    assert fitted.grayscale_ is True
    assert fitted.network_[0].in_channels == 1
    # 60 images: too few to hold some out (500 validation images at least), so every planned
    # epoch runs and the last is kept.
    assert fitted.validation_accuracy_ is None
    assert fitted.best_epoch_ == fitted.epochs_run_ == FAST["epochs"]
    assert fitted.stopped_by_time_budget_ is False
    assert fitted.footprint()["parameters"] == sum(p.numel() for p in fitted.network_.parameters())


@pytest.mark.slow
def test_image_cnn_learns_scikit_learn_digits() -> None:
    from sklearn.datasets import load_digits

    digits = load_digits()
    # 8x8 images of 0..16: stretched to 0..255, and read at 28 px (the smallest side chosen).
    images = [Image.fromarray((d * 15).astype(np.uint8), mode="L") for d in digits.images]
    labels = [str(t) for t in digits.target]
    model = ImageCnn(width=16, epochs=10, horizontal_flip=False)
    model.fit(images[:1000], labels[:1000])
    assert model.image_size_ == 28
    assert _accuracy(model, images[1000:1400], labels[1000:1400]) >= 0.85  # chance: 0.1


def test_image_cnn_same_seed_same_probabilities(shapes: dict[str, list]) -> None:
    first, second, other = (
        ImageCnn(width=8, epochs=2, random_state=seed).fit(shapes["x_train"], shapes["y_train"])
        for seed in (3, 3, 4)
    )
    x = shapes["x_test"]
    np.testing.assert_array_equal(first.predict_proba(x), second.predict_proba(x))
    assert not np.array_equal(first.predict_proba(x), other.predict_proba(x))


# -- inputs ----------------------------------------------------------------------------------------


def test_image_cnn_trains_a_three_channel_network_on_colour_images() -> None:
    train, y_train = _shapes(10, seed=0, rgb=True)
    test, _ = _shapes(5, seed=1, rgb=True)
    model = ImageCnn(**FAST, validation_fraction=0).fit(train, y_train)
    assert model.grayscale_ is False and model.network_[0].in_channels == 3
    assert len(model.mean_) == 3
    assert model.predict(test).shape == (15,)
    # A grayscale image given to a colour network is read as RGB, and the other way round.
    gray, _ = _shapes(1, seed=2)
    assert model.predict(gray).shape == (3,)


def test_image_cnn_grayscale_network_reads_colour_images(fitted: ImageCnn) -> None:
    colour, _ = _shapes(2, seed=5, rgb=True)
    assert set(fitted.predict(colour)) <= set(CLASSES)


def test_image_cnn_reads_encoded_bytes_and_pil_images_as_files(
    fitted: ImageCnn, shapes: dict[str, list]
) -> None:
    from_files = fitted.predict_proba(shapes["x_test"])
    from_bytes = fitted.predict_proba([Path(p).read_bytes() for p in shapes["x_test"]])
    from_pil = fitted.predict_proba(shapes["test_images"])
    np.testing.assert_array_equal(from_bytes, from_files)
    np.testing.assert_array_equal(from_pil, from_files)


def test_image_cnn_fits_on_encoded_bytes() -> None:
    train, y_train = _shapes(6, seed=0)
    model = ImageCnn(**FAST).fit([_png(image) for image in train], y_train)
    assert model.predict([_png(train[0])]).shape == (1,)


def test_image_cnn_corrupt_image_is_a_data_error_naming_it(
    fitted: ImageCnn, shapes: dict[str, list], tmp_path: Path
) -> None:
    broken = tmp_path / "broken.png"
    broken.write_bytes(Path(shapes["x_train"][0]).read_bytes()[:60])  # truncated
    with pytest.raises(DataError, match=r"broken\.png"):
        ImageCnn(**FAST).fit([*shapes["x_train"][:5], str(broken)], shapes["y_train"][:6])
    with pytest.raises(DataError, match=r"broken\.png"):
        fitted.predict([shapes["x_test"][0], str(broken)])
    with pytest.raises(DataError, match="image 1"):
        fitted.predict([Path(shapes["x_test"][0]).read_bytes(), b"not an image"])


# -- training schedule and time budget ------------------------------------------------------------


@pytest.fixture
def fake_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every reading of the clock is one second after the last."""
    ticks = iter(range(10**6))
    monkeypatch.setattr(cnn_module, "_clock", lambda: float(next(ticks)))


@pytest.fixture
def rates(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """The learning rate of every training step, in order."""
    seen: list[float] = []
    original = cnn_module._learning_rate

    def learning_rate(peak: float, step: int, warmup: int, total: int, spent: float) -> float:
        seen.append(original(peak, step, warmup, total, spent) / peak)
        return seen[-1] * peak

    monkeypatch.setattr(cnn_module, "_learning_rate", learning_rate)
    return seen


@pytest.mark.usefixtures("fake_clock")
def test_image_cnn_time_budget_cuts_the_epochs(shapes: dict[str, list], rates: list[float]) -> None:
    # One second per step: a budget of half the planned steps holds 3 of the 6 planned epochs.
    model = ImageCnn(**FAST, time_budget_s=FAST["epochs"] * STEPS_PER_EPOCH / 2).fit(
        shapes["x_train"], shapes["y_train"]
    )
    assert model.stopped_by_time_budget_ is True
    assert 1 <= model.epochs_run_ < FAST["epochs"]
    # The decay followed the budget: the last step ran at a small fraction of the peak, where
    # the steps planned would have reached only half-way down their cosine.
    assert max(rates) == pytest.approx(1.0)
    assert rates[-1] < 0.1
    assert model.predict(shapes["x_test"]).shape == (30,)


def test_image_cnn_run_within_half_its_budget_ignores_the_clock(
    shapes: dict[str, list], rates: list[float], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Slow first readings (10 s each, as the first steps on a busy machine), then 1 s each:
    # the pace of the first steps says the budget binds, but the run ends well inside it.
    ticks = itertools.accumulate(itertools.chain([10.0] * 6, itertools.repeat(1.0)))
    monkeypatch.setattr(cnn_module, "_clock", lambda: next(ticks))
    budgeted = ImageCnn(**FAST, time_budget_s=400.0).fit(shapes["x_train"], shapes["y_train"])
    with_budget = list(rates)
    rates.clear()
    unbounded = ImageCnn(**FAST, time_budget_s=None).fit(shapes["x_train"], shapes["y_train"])
    assert budgeted.stopped_by_time_budget_ is False
    assert with_budget == rates
    x = shapes["x_test"]
    np.testing.assert_array_equal(budgeted.predict_proba(x), unbounded.predict_proba(x))


@pytest.mark.usefixtures("fake_clock")
def test_image_cnn_without_budget_decays_over_the_planned_steps(
    shapes: dict[str, list], rates: list[float]
) -> None:
    model = ImageCnn(**FAST, time_budget_s=None).fit(shapes["x_train"], shapes["y_train"])
    assert len(rates) == FAST["epochs"] * STEPS_PER_EPOCH
    assert rates[-1] < 0.01 and rates[len(rates) // 2] > 0.4
    assert model.stopped_by_time_budget_ is False


@pytest.mark.usefixtures("fake_clock")
def test_image_cnn_spent_budget_still_takes_one_step(shapes: dict[str, list]) -> None:
    model = ImageCnn(**FAST, time_budget_s=1.0).fit(shapes["x_train"], shapes["y_train"])
    assert model.stopped_by_time_budget_ is True
    assert model.epochs_run_ == 1  # the one step, judged as an epoch of its own


@pytest.mark.usefixtures("fake_clock")
def test_image_cnn_without_budget_runs_every_epoch(shapes: dict[str, list]) -> None:
    model = ImageCnn(**FAST, time_budget_s=None, validation_fraction=0)
    model.fit(shapes["x_train"], shapes["y_train"])
    assert (model.epochs_run_, model.best_epoch_) == (FAST["epochs"], FAST["epochs"])
    assert model.stopped_by_time_budget_ is False
    assert model.validation_accuracy_ is None


def test_learning_rate_warms_up_then_decays_to_zero_at_the_planned_end() -> None:
    rates = [cnn_module._learning_rate(1.0, step, 10, 100, 0.0) for step in range(101)]
    assert rates[0] == pytest.approx(0.1) and rates[9] == pytest.approx(1.0)
    assert all(a >= b for a, b in itertools.pairwise(rates[9:]))
    assert rates[100] == pytest.approx(0.0, abs=1e-12)


def test_learning_rate_follows_the_budget_in_its_second_half() -> None:
    # Step 35 is a quarter of the way from the warm-up (10) to the end (110). With three
    # quarters of the budget spent, the cosine is half-way: the budget leads.
    assert cnn_module._learning_rate(1.0, 35, 10, 110, 0.75) == pytest.approx(0.5)
    # With less than half of it spent, the steps lead.
    at_a_quarter = 0.5 * (1 + 0.5**0.5)
    assert cnn_module._learning_rate(1.0, 35, 10, 110, 0.1) == pytest.approx(at_a_quarter)
    assert cnn_module._learning_rate(1.0, 35, 10, 110, 0.5) == pytest.approx(at_a_quarter)
    assert cnn_module._learning_rate(1.0, 35, 10, 110, 1.0) == pytest.approx(0.0, abs=1e-12)


@pytest.fixture
def small_validation(monkeypatch: pytest.MonkeyPatch) -> None:
    """Hold out a tenth of the shapes (2 per class), as with 5,000 images or more."""
    monkeypatch.setattr(cnn_module, "_MIN_VALIDATION_IMAGES", 1)


@pytest.mark.usefixtures("small_validation")
def test_image_cnn_keeps_the_epoch_best_on_the_held_out_images(shapes: dict[str, list]) -> None:
    x, y = shapes["x_train"], shapes["y_train"]
    model = ImageCnn(**FAST, patience=FAST["epochs"]).fit(x, y)
    assert model.validation_accuracy_ is not None
    assert 1 <= model.best_epoch_ <= model.epochs_run_ == FAST["epochs"]
    # The held-out rows are the seed's first draw: the kept weights score what was recorded.
    codes = np.searchsorted(model.classes_, np.asarray(y, dtype=object))
    held_out = cnn_module._validation_rows(codes, 0.1, np.random.default_rng(model.seed))
    assert len(held_out) == 6
    assert _accuracy(model, [x[i] for i in held_out], [y[i] for i in held_out]) == pytest.approx(
        model.validation_accuracy_
    )


@pytest.mark.usefixtures("small_validation")
def test_image_cnn_stops_after_patience_epochs_without_progress(
    shapes: dict[str, list], monkeypatch: pytest.MonkeyPatch
) -> None:
    scores = iter([(0.9, -0.1), (0.8, -0.2), (0.8, -0.3), (0.7, -0.4), (0.9, -0.05)])
    monkeypatch.setattr(ImageCnn, "_validate", lambda self, pixels, codes: next(scores))
    model = ImageCnn(**FAST, patience=2).fit(shapes["x_train"], shapes["y_train"])
    assert (model.best_epoch_, model.epochs_run_) == (1, 3)
    assert model.validation_accuracy_ == 0.9


@pytest.mark.usefixtures("small_validation")
def test_image_cnn_small_class_trains_without_validation(shapes: dict[str, list]) -> None:
    x, y = shapes["x_train"], shapes["y_train"]
    keep = [i for i, label in enumerate(y) if label != "disc" or i < 12]  # 4 discs
    model = ImageCnn(**FAST).fit([x[i] for i in keep], [y[i] for i in keep])
    assert model.validation_accuracy_ is None
    assert model.best_epoch_ == model.epochs_run_ == FAST["epochs"]


def test_validation_rows_are_stratified_with_one_per_class_at_least() -> None:
    def rows(counts: list[int], fraction: float = 0.1) -> np.ndarray:
        codes = np.repeat(np.arange(len(counts)), counts)
        chosen = cnn_module._validation_rows(codes, fraction, np.random.default_rng(0))
        assert len(set(chosen.tolist())) == len(chosen)
        return np.bincount(codes[chosen], minlength=len(counts))

    assert rows([4000, 1000, 5]).tolist() == [400, 100, 1]
    assert rows([50, 5, 12]).sum() == 0  # 7 images: too few to judge epochs by
    assert rows([5000, 4]).sum() == 0  # a class of 4 keeps all its images
    assert rows([4000, 1000], fraction=0.0).sum() == 0


def test_channel_stats_match_numpy_and_a_flat_channel_keeps_a_unit_deviation() -> None:
    pixels = np.random.default_rng(0).integers(0, 256, (40, 9, 9, 3), dtype=np.uint8)
    pixels[..., 2] = 7
    means, stds = cnn_module._channel_stats(pixels)
    values = pixels.reshape(-1, 3).astype(np.float64)
    np.testing.assert_allclose(means, values.mean(axis=0))
    np.testing.assert_allclose(stds[:2], values.std(axis=0)[:2])
    assert stds[2] == 1.0


def test_augment_shifts_and_mirrors_without_changing_the_shape() -> None:
    rng = np.random.default_rng(0)
    batch = rng.integers(0, 256, (64, 12, 12, 1), dtype=np.uint8)
    assert np.array_equal(cnn_module._augment(batch, 0, False, rng), batch)
    flipped = cnn_module._augment(batch, 0, True, rng)
    mirrored = [np.array_equal(f, b[:, ::-1]) for f, b in zip(flipped, batch, strict=True)]
    same = [np.array_equal(f, b) for f, b in zip(flipped, batch, strict=True)]
    assert all(m or s for m, s in zip(mirrored, same, strict=True)) and 10 < sum(mirrored) < 54
    shifted = cnn_module._augment(batch, 2, False, rng)
    assert shifted.shape == batch.shape and shifted.dtype == np.uint8
    # Each shifted image is its original moved by at most 2 pixels (the centre survives).
    for s, b in zip(shifted, batch, strict=True):
        assert any(
            np.array_equal(s[2:-2, 2:-2], b[2 + dy : 10 + dy, 2 + dx : 10 + dx])
            for dy in range(-2, 3)
            for dx in range(-2, 3)
        )


def test_threads_follow_a_lower_omp_num_threads(monkeypatch: pytest.MonkeyPatch) -> None:
    import torch

    before = torch.get_num_threads()
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    with cnn_module._torch_threads():
        assert torch.get_num_threads() == 1
    assert torch.get_num_threads() == before


# -- size, parameters, persistence ----------------------------------------------------------------


def test_choose_image_size_is_the_median_shorter_side_within_28_to_64() -> None:
    def blank(width: int, height: int) -> Image.Image:
        return Image.new("RGB", (width, height))

    assert choose_image_size([blank(100, 40), blank(45, 90), blank(200, 50)]) == 45
    assert choose_image_size([blank(8, 8)] * 3) == 28
    assert choose_image_size([blank(640, 480), blank(300, 800)]) == 64


@pytest.mark.parametrize(
    ("param", "value"), [("width", 0), ("epochs", 0), ("dropout", 1.0), ("time_budget_s", 0)]
)
def test_image_cnn_bad_parameter_is_a_config_error(
    shapes: dict[str, list], param: str, value: float
) -> None:
    with pytest.raises(ConfigError, match=f"{param}={value!r}"):
        ImageCnn(**{**FAST, param: value}).fit(shapes["x_train"], shapes["y_train"])


def test_image_cnn_save_load_round_trip_gives_identical_probabilities(
    fitted: ImageCnn, shapes: dict[str, list], tmp_path: Path
) -> None:
    saved = fitted.save(tmp_path / "model")
    assert sorted(p.name for p in saved.iterdir()) == [
        "cnn.json",
        "cnn.safetensors",
        "strategy.json",
    ]
    assert json.loads((saved / "cnn.json").read_text())["image_size"] == 32
    loaded = Strategy.load(saved)
    assert isinstance(loaded, ImageCnn)
    np.testing.assert_array_equal(
        loaded.predict_proba(shapes["x_test"]), fitted.predict_proba(shapes["x_test"])
    )
    assert (loaded.grayscale_, loaded.epochs_run_) == (fitted.grayscale_, fitted.epochs_run_)


def test_image_cnn_load_refuses_missing_weights(fitted: ImageCnn, tmp_path: Path) -> None:
    from crossover.errors import ModelError

    saved = fitted.save(tmp_path / "model")
    (saved / "cnn.safetensors").unlink()
    with pytest.raises(ModelError, match=r"cnn\.safetensors"):
        Strategy.load(saved)
