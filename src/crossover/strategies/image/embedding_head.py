"""Hybrid ``image.embedding-head``: a frozen pre-trained network's pooled features + a
logistic-regression head.

The features are EfficientNet-Lite0's 1,280 pooled penultimate activations and, by default,
the pooled outputs of four earlier blocks (5, 10, 13 and 15: 80, 112, 192 and 320 channels),
all computed in one pass once per image per network and input size and cached on disk. Each
part is L2-normalised on its own (as the text head's sentence embeddings are), so that each
level weighs alike, and the head's ``C`` is chosen by stratified cross-validation on the
training images (``crossover.strategies._head``).

Why the earlier blocks: the last layer's features are ImageNet's classes in the making; for
images far from ImageNet (grayscale product shots, scans) lower-level features transfer
better. On Fashion-MNIST with 10 training images per class (three draws, 2,500 test images),
the last layer alone reached 0.797 / 0.764 / 0.770 and the five levels together 0.814 / 0.793
/ 0.797 (benchmarks/RESULTS.md); ``intermediate=False`` reads the last layer only.
"""

from __future__ import annotations

import itertools
import json
from pathlib import Path
from typing import ClassVar

import numpy as np

from crossover.data.images import ImageInput
from crossover.models.sklearn_io import load_sklearn, save_sklearn
from crossover.strategies._head import choose_C, new_head, one_blas_thread
from crossover.strategies.image._base import (
    DEFAULT_IMAGE_ENCODER,
    DEFAULT_IMAGE_MODEL,
    DEFAULT_IMAGE_SIZE,
    PretrainedImageStrategy,
)
from crossover.strategies.registry import register

__all__ = ["ImageEmbeddingHead"]

_STATE = "head.json"


def _normalised(vectors: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return np.asarray(vectors / np.maximum(norms, 1e-12))


def _levels(vectors: np.ndarray, parts: tuple[int, ...], intermediate: bool) -> np.ndarray:
    """Each part of the pooled vectors L2-normalised on its own (only the last part, the
    penultimate layer, without ``intermediate``), side by side."""
    if vectors.shape[1] != sum(parts):
        raise ValueError(f"pooled vectors of width {vectors.shape[1]}, not {sum(parts)} {parts}")
    if not intermediate:
        return _normalised(vectors[:, -parts[-1] :])
    bounds = np.cumsum((0, *parts))
    pieces = [_normalised(vectors[:, a:b]) for a, b in itertools.pairwise(bounds)]
    return np.hstack(pieces)


@register
class ImageEmbeddingHead(PretrainedImageStrategy):
    """A pre-trained image network, frozen, with a logistic regression on its pooled features.

    Parameters
    ----------
    network : str, default="efficientnet-lite0"
        The pre-trained network (see ``crossover.models.images.IMAGE_MODELS``).
    image_size : int, default=160
        The side in pixels images are resized to (shorter side, then centre crop).
    intermediate : bool, default=True
        Read the pooled outputs of four earlier blocks beside the last layer's (module
        docstring); False: the last layer's only.
    C : float or None, default=None
        The head's inverse regularisation; None chooses it by cross-validation.
    cv_folds, max_iter, random_state
        As for ``text.embedding-head``.
    cache_dir, use_cache
        Where the features are cached, and whether.
    """

    packages: ClassVar[tuple[str, ...]] = ("scikit-learn", "skops")

    key = "image.embedding-head"
    kind = "hybrid"
    summary = "frozen pre-trained image features (EfficientNet-Lite0) + logistic-regression head"
    has_proba = True

    def __init__(
        self,
        network: str = DEFAULT_IMAGE_MODEL,
        *,
        image_size: int = DEFAULT_IMAGE_SIZE,
        intermediate: bool = True,
        C: float | None = None,
        cv_folds: int = 3,
        max_iter: int = 2000,
        random_state: int = 0,
        cache_dir: str | None = None,
        use_cache: bool = True,
        encoder: str = DEFAULT_IMAGE_ENCODER,
    ) -> None:
        self.network = network
        self.image_size = image_size
        self.intermediate = intermediate
        self.C = C
        self.cv_folds = cv_folds
        self.max_iter = max_iter
        self.random_state = random_state
        self.cache_dir = cache_dir
        self.use_cache = use_cache
        self.encoder = encoder

    def _fit(self, X: list[ImageInput] | None, y: list[str] | None) -> None:
        assert X is not None and y is not None
        vectors = self._vectors(X)
        labels = np.asarray(y, dtype=object)
        if self.C is None:
            self.C_, self.cv_accuracy_ = choose_C(
                vectors,
                labels,
                cv_folds=self.cv_folds,
                max_iter=self.max_iter,
                random_state=self.random_state,
            )
        else:
            self.C_, self.cv_accuracy_ = float(self.C), {}
        with one_blas_thread():
            self.head_ = new_head(self.C_, self.max_iter, self.random_state).fit(vectors, labels)

    def _vectors(self, X: list[ImageInput]) -> np.ndarray:
        return _levels(self._features(X), self._encoder().network.parts, self.intermediate)

    def _predict(self, X: list[ImageInput]) -> np.ndarray:
        return np.asarray(self.head_.predict(self._vectors(X)), dtype=object)

    def _predict_proba(self, X: list[ImageInput]) -> np.ndarray:
        proba = self.head_.predict_proba(self._vectors(X))
        order = [list(self.head_.classes_).index(c) for c in self.classes_]
        return np.asarray(proba[:, order])

    def _save_state(self, path: Path) -> None:
        save_sklearn(self.head_, path / "head.skops")
        state = {"C": self.C_, "cv_accuracy": self.cv_accuracy_}
        (path / _STATE).write_text(json.dumps(state, indent=2, sort_keys=True))
        self._save_network(path)

    def _load_state(self, path: Path) -> None:
        self._check_network(path)
        self.head_ = load_sklearn(path / "head.skops")
        state = json.loads((path / _STATE).read_text())
        self.C_ = float(state["C"])
        self.cv_accuracy_ = dict(state.get("cv_accuracy") or {})

    def _parameter_count(self) -> int:
        return self._encoder_parameters() + int(self.head_.coef_.size + self.head_.intercept_.size)
