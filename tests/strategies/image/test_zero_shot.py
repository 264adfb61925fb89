"""``image.zero-shot``: the packaged ImageNet class names in the network's order, the mapping of
ImageNet classes to the user's labels, and predictions that never need a training image."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from crossover.data import example_path
from crossover.errors import ConfigError, ModelError
from crossover.models.images import get_image_encoder
from crossover.strategies import Strategy
from crossover.strategies.image.zero_shot import (
    MAPPINGS,
    ImageZeroShot,
    class_texts,
    imagenet_classes,
    mapping_weights,
)
from tests.conftest import FAST_MODEL

FASHION = example_path("fashion")
_SHOE_WORDS = ("shoe", "sandal", "sneaker", "boot", "clog", "loafer", "slipper")


def _images(split: str, per_class: int | None = None) -> tuple[list[str], list[str]]:
    paths = []
    for folder in sorted((FASHION / split).iterdir()):
        paths += sorted(folder.glob("*.png"))[:per_class]
    return [str(p) for p in paths], [p.parent.name for p in paths]


def _fit(labels: list[str], **params: object) -> ImageZeroShot:
    """Fitted on the label set alone: the 'images' are paths that do not exist."""
    model = ImageZeroShot(**params)  # type: ignore[arg-type]
    return model.fit([f"/nowhere/{i}.png" for i in range(len(labels))], labels)


# -- the data file ----------------------------------------------------------------------------


def test_imagenet_classes_file_has_1000_classes_in_index_order_with_source_and_licence() -> None:
    path = Path(__file__).parents[3] / "src/crossover/strategies/image/imagenet_classes.json"
    data = json.loads(path.read_text(encoding="utf-8"))
    assert "imagenet-classes 0.2.1" in data["source"]
    assert data["licence"].startswith("MIT License")
    assert "Illia Volkov, Nikita Kisel" in data["licence"]
    classes = imagenet_classes()
    assert [c["index"] for c in classes] == list(range(1000))
    # ImageNet's order is that of its WordNet synset ids.
    synsets = [c["synset"] for c in classes]
    assert synsets == sorted(synsets) and len(set(synsets)) == 1000
    assert all(c["name"] and c["synonyms"] for c in classes)
    assert (classes[0]["name"], classes[770]["name"], classes[774]["name"]) == (
        "tench",
        "sneaker",
        "sandal",
    )
    assert classes[770]["synonyms"] == ["running shoe"]


def test_class_texts_join_the_name_and_new_synonyms() -> None:
    texts = class_texts()
    assert len(texts) == 1000
    assert texts[770] == "sneaker, running shoe"
    assert texts[774] == "sandal"  # the synonym that repeats the name is said once


@pytest.mark.slow
def test_imagenet_classes_follow_the_networks_logits() -> None:
    """A photo of a Chinese palace (scikit-learn's sample) is a building to the network, read
    through the packaged names: the names are in the order of its logits."""
    from sklearn.datasets import load_sample_image

    from crossover.data.images import image_bytes

    photo = load_sample_image("china.jpg")
    from PIL import Image

    encoded = image_bytes(Image.fromarray(photo), "china.jpg")
    proba = ImageZeroShot().imagenet_proba([encoded])
    assert proba.shape == (1, 1000)
    np.testing.assert_allclose(proba.sum(), 1.0, rtol=1e-6)
    top = [imagenet_classes()[i]["name"] for i in np.argsort(-proba[0])[:3]]
    buildings = {"palace", "bell tower", "monastery", "castle", "boathouse", "stupa"}
    assert set(top) & buildings, top


# -- the mapping ------------------------------------------------------------------------------


def test_mapping_weights_per_label_is_a_distribution_over_classes() -> None:
    similarity = np.array([[0.9, 0.8, 0.1, 0.0], [0.0, 0.2, 0.3, 0.7]])
    weights = mapping_weights(similarity, mapping="per-label", threshold=0.5, temperature=0.1)
    np.testing.assert_allclose(weights.sum(axis=1), 1.0, rtol=1e-6)
    assert weights[0].argmax() == 0 and weights[1].argmax() == 3
    # A lower temperature puts more of each label's weight on its nearest class.
    sharp = mapping_weights(similarity, mapping="per-label", threshold=0.5, temperature=0.01)
    assert sharp[0, 0] > weights[0, 0]


def test_mapping_weights_nearest_sends_each_class_to_one_label_or_none() -> None:
    similarity = np.array([[0.9, 0.6, 0.1, 0.0], [0.0, 0.55, 0.3, 0.7]])
    weights = mapping_weights(similarity, mapping="nearest", threshold=0.5, temperature=0.01)
    np.testing.assert_array_equal(weights, [[1, 1, 0, 0], [0, 0, 0, 1]])


def test_mapping_weights_split_shares_each_kept_class_over_the_labels() -> None:
    similarity = np.array([[0.9, 0.6, 0.1], [0.0, 0.55, 0.3]])
    weights = mapping_weights(similarity, mapping="split", threshold=0.5, temperature=0.1)
    np.testing.assert_allclose(weights.sum(axis=0), [1.0, 1.0, 0.0], rtol=1e-6)
    assert weights[0, 1] > weights[1, 1] > 0


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"mapping": "closest"}, "mapping 'closest' is not one of per-label, nearest, split"),
        ({"temperature": 0.0}, "temperature must be above 0"),
    ],
)
def test_zero_shot_bad_parameters_are_config_errors(
    params: dict[str, object], message: str
) -> None:
    with pytest.raises(ConfigError, match=message):
        _fit(["bag", "sandal"], text_model=FAST_MODEL, **params)


@pytest.mark.slow
def test_zero_shot_sends_sneaker_and_sandal_to_shoe_classes() -> None:
    model = _fit(["bag", "dress", "sandal", "sneaker", "trouser"])
    for label in ("sneaker", "sandal"):
        names = [c["name"] for c in model.top_classes_[label]]
        assert len(names) == 3
        assert any(word in names[0].lower() for word in _SHOE_WORDS), (label, names)
    assert model.top_classes_["sneaker"][0]["name"] == "sneaker"
    assert model.top_classes_["sandal"][0]["name"] == "sandal"
    # The weights each label gives its classes form a distribution (per-label mapping).
    np.testing.assert_allclose(model.weights_.sum(axis=1), 1.0, rtol=1e-5)


@pytest.mark.slow
def test_zero_shot_label_descriptions_change_the_mapping() -> None:
    """'pullover' alone reads as something else to the sentence model; a description sends
    it to the sweaters."""
    labels = ["bag", "pullover", "sneaker"]
    plain = _fit(labels)
    described = ImageZeroShot().fit(
        ["/nowhere.png"] * 3,
        labels,
        label_descriptions={"pullover": "a knitted wool sweater or cardigan"},
    )
    assert described.prompts_[1] == "a knitted wool sweater or cardigan"
    before = [c["name"] for c in plain.top_classes_["pullover"]]
    after = [c["name"] for c in described.top_classes_["pullover"]]
    assert before != after
    assert {"cardigan", "sweatshirt"} & set(after), after
    # The labels without a description keep their mapping.
    np.testing.assert_array_equal(plain.weights_[[0, 2]], described.weights_[[0, 2]])


# -- predictions ------------------------------------------------------------------------------


@pytest.mark.slow
def test_zero_shot_fit_reads_no_image() -> None:
    """Fitting reads the label set only: paths that do not exist are never opened, and the
    network runs on nothing."""
    encoder = get_image_encoder(image_size=160)
    calls = encoder.model_calls
    model = _fit(["bag", "sandal", "sneaker"], text_model=FAST_MODEL)
    assert list(model.classes_) == ["bag", "sandal", "sneaker"]
    assert model.weights_.shape == (3, 1000)
    assert encoder.model_calls == calls


@pytest.mark.slow
def test_zero_shot_on_the_bundled_fashion_test_images_beats_chance() -> None:
    """300 test images of 10 classes, chance 10 %: the ImageNet head and the default mapping
    get 36 % (grayscale 28-pixel clothes are far from ImageNet's photos)."""
    images, truth = _images("test")
    assert len(images) == 300
    model = _fit(sorted(set(truth)))
    proba = model.predict_proba(images)
    assert proba.shape == (300, 10)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-6)
    accuracy = float(np.mean(model.predict(images) == np.asarray(truth)))
    assert accuracy > 0.25, accuracy


@pytest.mark.slow
@pytest.mark.parametrize("mapping", MAPPINGS)
def test_zero_shot_save_load_round_trip_gives_equal_probabilities(
    mapping: str, tmp_path: Path
) -> None:
    images, truth = _images("test", per_class=2)
    model = _fit(sorted(set(truth)), text_model=FAST_MODEL, mapping=mapping)
    loaded = Strategy.load(model.save(tmp_path / "m"))
    assert isinstance(loaded, ImageZeroShot)
    np.testing.assert_array_equal(loaded.weights_, model.weights_)
    assert loaded.top_classes_ == model.top_classes_
    np.testing.assert_allclose(loaded.predict_proba(images), model.predict_proba(images))
    np.testing.assert_array_equal(loaded.predict(images), model.predict(images))
    # The mapping is a plain array: it loads with pickling refused.
    assert np.load(tmp_path / "m" / "mapping.npy", allow_pickle=False).shape == (10, 1000)


@pytest.mark.slow
def test_zero_shot_load_refuses_other_network_weights(tmp_path: Path) -> None:
    model = _fit(["bag", "sandal"], text_model=FAST_MODEL)
    saved = model.save(tmp_path / "m")
    (saved / "network.json").write_text(json.dumps({"identity": "efficientnet-lite0-other"}))
    with pytest.raises(ModelError, match="efficientnet-lite0-other"):
        Strategy.load(saved)


@pytest.mark.slow
def test_zero_shot_load_refuses_a_mapping_of_another_shape(tmp_path: Path) -> None:
    model = _fit(["bag", "sandal"], text_model=FAST_MODEL)
    saved = model.save(tmp_path / "m")
    np.save(saved / "mapping.npy", np.zeros((3, 1000), dtype=np.float32))
    with pytest.raises(ModelError, match=r"mapping\.npy: shape \(3, 1000\)"):
        Strategy.load(saved)


@pytest.mark.slow
def test_zero_shot_an_image_no_label_claims_gets_uniform_probabilities() -> None:
    """With ``nearest`` and a threshold no label reaches, no ImageNet class maps to a label:
    every image says nothing, and its probabilities are uniform rather than 0/0."""
    model = _fit(["bag", "sandal"], text_model=FAST_MODEL, mapping="nearest", threshold=1.01)
    assert not model.weights_.any()
    assert model.top_classes_ == {"bag": [], "sandal": []}
    images, _ = _images("test", per_class=1)
    np.testing.assert_allclose(model.predict_proba(images[:2]), 0.5)
