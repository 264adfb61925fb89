"""Pretrained ``image.zero-shot``: the ImageNet classifier as it is, its 1,000 classes mapped to
the user's labels.

The network's own ImageNet head reads the pooled features (the same cached features as
``image.embedding-head``) and gives 1,000 class probabilities. Each user label gets a weight
per ImageNet class from the sentence-embedding similarity of the label's text (its
description, else its name) to the class's names (``imagenet_classes.json``: a curated name and
the WordNet synonyms); a label's probability is the sum of the class probabilities times those
weights, renormalised over the labels. No training image is ever read: ``fit`` sees the label
set and the descriptions only, so the mapping is the whole of what it learns, and it is saved
as a matrix (no sentence model is needed to load and predict).
"""

from __future__ import annotations

import json
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any, ClassVar, Literal

import numpy as np

from crossover.data.images import ImageInput
from crossover.errors import ConfigError, ModelError
from crossover.models import get_embedder
from crossover.models._resolve import DEFAULT_MODEL
from crossover.models.images import read_weights, resolve_image_model
from crossover.strategies.image._base import (
    DEFAULT_IMAGE_ENCODER,
    DEFAULT_IMAGE_MODEL,
    DEFAULT_IMAGE_SIZE,
    PretrainedImageStrategy,
)
from crossover.strategies.registry import register
from crossover.strategies.text.zero_shot import label_prompt

__all__ = [
    "MAPPINGS",
    "ImageZeroShot",
    "class_texts",
    "imagenet_classes",
    "imagenet_head",
    "mapping_weights",
]

Mapping = Literal["per-label", "nearest", "split"]
#: How an ImageNet class's probability goes to the labels (see ``mapping_weights``).
MAPPINGS: tuple[Mapping, ...] = ("per-label", "nearest", "split")
_DATA_FILE = "imagenet_classes.json"
_WEIGHTS_FILE = "mapping.npy"
_STATE_FILE = "zero_shot.json"
#: ImageNet classes listed per label in the learned state (and the report).
TOP_CLASSES = 3


@lru_cache(maxsize=1)
def imagenet_classes() -> tuple[dict[str, Any], ...]:
    """The 1,000 ImageNet-1k classes in the order of the network's logits: each a dict with
    ``index``, ``synset``, ``name`` and ``synonyms`` (from the packaged data file; its
    ``source`` and ``licence`` say where they come from)."""
    text = resources.files(__package__).joinpath(_DATA_FILE).read_text(encoding="utf-8")
    return tuple(json.loads(text)["classes"])


def class_texts() -> list[str]:
    """The text embedded for each ImageNet class: its name, then its synonyms not already
    said ("sneaker, running shoe"), so that a label matches any of the names."""
    texts = []
    for entry in imagenet_classes():
        names: dict[str, str] = {}
        for name in (entry["name"], *entry["synonyms"]):
            names.setdefault(name.lower(), name)
        texts.append(", ".join(names.values()))
    return texts


@lru_cache(maxsize=4)
def imagenet_head(network: str) -> tuple[np.ndarray, np.ndarray]:
    """The network's ImageNet classifier: weight (1000, features) and bias (1000,), read from
    its installed weights (the head does not depend on the input size). In eval mode the
    network's dropout is off, so its logits are exactly ``features @ weight.T + bias``."""
    state = read_weights(resolve_image_model(network).weights)
    weight = state["_fc.weight"].detach().numpy().astype(np.float32)
    bias = state["_fc.bias"].detach().numpy().astype(np.float32)
    return weight, bias


def _softmax(z: np.ndarray, axis: int) -> np.ndarray:
    z = z - z.max(axis=axis, keepdims=True)
    e = np.exp(z)
    return np.asarray(e / e.sum(axis=axis, keepdims=True))


def mapping_weights(
    similarity: np.ndarray, *, mapping: Mapping, threshold: float, temperature: float
) -> np.ndarray:
    """Weights (labels, ImageNet classes) from the labels' similarities to the classes.

    ``per-label``: each label reads a softmax over the 1,000 classes of its similarities at
    ``temperature``, so every label has classes and each label's weights sum to 1 (a label
    with several close classes is not favoured over one with a single exact match).
    ``nearest``: each class goes wholly to its most similar label when that similarity is at
    least ``threshold``, and to no label otherwise; a label that is no class's nearest is
    never predicted. ``split``: each class is split over the labels by a softmax of its
    similarities at ``temperature``, classes whose best similarity is under ``threshold``
    dropped.
    """
    classes = similarity.shape[1]
    scaled = similarity.astype(np.float64) / temperature
    if mapping == "per-label":
        return _softmax(scaled, axis=1).astype(np.float32)
    best = similarity.argmax(axis=0)
    kept = similarity[best, np.arange(classes)] >= threshold
    if mapping == "nearest":
        weights = np.zeros(similarity.shape, dtype=np.float32)
        weights[best[kept], np.arange(classes)[kept]] = 1.0
        return weights
    if mapping == "split":
        return np.asarray(_softmax(scaled, axis=0) * kept, dtype=np.float32)
    raise ConfigError(f"mapping {mapping!r} is not one of {', '.join(MAPPINGS)}")


@register
class ImageZeroShot(PretrainedImageStrategy):
    """An ImageNet classifier used as it is, its 1,000 classes mapped to the user's labels.

    Parameters
    ----------
    network : str, default="efficientnet-lite0"
        The pre-trained network and its ImageNet head.
    image_size : int, default=160
        The side in pixels images are resized to (shorter side, then centre crop).
    text_model : str, default="sentence-transformers/all-MiniLM-L6-v2"
        The sentence-embedding model that compares label texts with ImageNet class names.
    mapping : {"per-label", "nearest", "split"}, default="per-label"
        How each ImageNet class's probability goes to the labels (``mapping_weights``).
        ``per-label`` was the best of the three on the bundled Fashion-MNIST example.
    threshold : float, default=0.5
        ``nearest`` and ``split``: the least similarity at which an ImageNet class counts
        for a label at all.
    temperature : float, default=0.01
        ``per-label``: the softmax's temperature over the ImageNet classes (lower: fewer
        classes per label); ``split``: over the labels.
    cache_dir, use_cache
        Where the image features and the text embeddings are cached, and whether.

    Notes
    -----
    With ``nearest`` or ``split``, an image whose probable ImageNet classes all fall outside
    the mapping (no label is similar enough to them) gets uniform probabilities.
    """

    key = "image.zero-shot"
    kind = "pretrained"
    summary = (
        "an ImageNet classifier (EfficientNet-Lite0) as it is, its 1,000 classes mapped to "
        "your labels by name similarity (no training)"
    )
    needs_labels = False
    has_proba = True
    packages: ClassVar[tuple[str, ...]] = ("numpy",)

    def __init__(
        self,
        network: str = DEFAULT_IMAGE_MODEL,
        *,
        image_size: int = DEFAULT_IMAGE_SIZE,
        text_model: str = DEFAULT_MODEL,
        mapping: Mapping = "per-label",
        threshold: float = 0.5,
        temperature: float = 0.01,
        cache_dir: str | None = None,
        use_cache: bool = True,
        encoder: str = DEFAULT_IMAGE_ENCODER,
    ) -> None:
        self.network = network
        self.image_size = image_size
        self.text_model = text_model
        self.mapping = mapping
        self.threshold = threshold
        self.temperature = temperature
        self.cache_dir = cache_dir
        self.use_cache = use_cache
        self.encoder = encoder

    def _check_params(self) -> None:
        if self.mapping not in MAPPINGS:
            raise ConfigError(
                f"image.zero-shot: mapping {self.mapping!r} is not one of {', '.join(MAPPINGS)}"
            )
        if not self.temperature > 0:
            raise ConfigError(
                f"image.zero-shot: temperature must be above 0, not {self.temperature!r}"
            )

    def _embed_texts(self, texts: list[str]) -> np.ndarray:
        directory = Path(self.cache_dir) if self.cache_dir else None
        embedder = get_embedder(self.text_model, cache_dir=directory, use_cache=self.use_cache)
        vectors = embedder.encode(texts)
        # Normalised here too: a static (model2vec) model's vectors need not be unit length.
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        return np.asarray(vectors / np.maximum(norms, 1e-12))

    def _fit(self, X: list[ImageInput] | None, y: list[str] | None) -> None:
        self._check_params()
        self.prompts_ = [label_prompt(str(c), self.label_descriptions_) for c in self.classes_]
        similarity = self._embed_texts(self.prompts_) @ self._embed_texts(class_texts()).T
        self.weights_ = mapping_weights(
            similarity,
            mapping=self.mapping,
            threshold=self.threshold,
            temperature=self.temperature,
        )
        self.top_classes_ = self._top_classes()

    def _top_classes(self) -> dict[str, list[dict[str, Any]]]:
        """Each label's ImageNet classes with the most weight (at most ``TOP_CLASSES``), so
        a user sees what a label was read as and can describe it better."""
        names = [entry["name"] for entry in imagenet_classes()]
        top: dict[str, list[dict[str, Any]]] = {}
        for label, row in zip(self.classes_, self.weights_, strict=True):
            order = np.argsort(-row, kind="stable")[:TOP_CLASSES]
            top[str(label)] = [
                {"index": int(i), "name": names[i], "weight": round(float(row[i]), 4)}
                for i in order
                if row[i] > 0
            ]
        return top

    def imagenet_proba(self, X: Any) -> np.ndarray:
        """The network's own ImageNet probabilities, shape (n, 1000), in the index order of
        ``imagenet_classes()``."""
        weight, bias = imagenet_head(self.network)
        # The last layer's pooled features: the vector's last part (see ImageEncoder).
        pooled = self._features(self._inputs(X))[:, -weight.shape[1] :]
        logits = pooled @ weight.T + bias
        return _softmax(logits.astype(np.float64), axis=1)

    def _predict_proba(self, X: list[ImageInput]) -> np.ndarray:
        scores = self.imagenet_proba(X) @ self.weights_.T.astype(np.float64)
        totals = scores.sum(axis=1, keepdims=True)
        uniform = np.full_like(scores, 1.0 / scores.shape[1])
        # An image whose probable classes map to no label says nothing: uniform, not 0/0.
        return np.where(totals > 0, scores / np.where(totals > 0, totals, 1.0), uniform)

    def _predict(self, X: list[ImageInput]) -> np.ndarray:
        return np.asarray(self.classes_[np.argmax(self._predict_proba(X), axis=1)])

    def _save_state(self, path: Path) -> None:
        np.save(path / _WEIGHTS_FILE, self.weights_, allow_pickle=False)
        state = {"prompts": self.prompts_, "top_classes": self.top_classes_}
        (path / _STATE_FILE).write_text(json.dumps(state, indent=2, ensure_ascii=False))
        self._save_network(path)

    def _load_state(self, path: Path) -> None:
        self._check_network(path)
        weights = np.load(path / _WEIGHTS_FILE, allow_pickle=False)
        if weights.shape != (len(self.classes_), len(imagenet_classes())):
            raise ModelError(
                f"{path / _WEIGHTS_FILE}: shape {weights.shape}, expected "
                f"({len(self.classes_)}, {len(imagenet_classes())}) for its labels and "
                "ImageNet's classes; re-export the model"
            )
        self.weights_ = weights
        state = json.loads((path / _STATE_FILE).read_text(encoding="utf-8"))
        self.prompts_ = list(state["prompts"])
        self.top_classes_ = dict(state["top_classes"])

    def _parameter_count(self) -> int:
        return self._encoder_parameters() + int(self.weights_.size)
