"""The base of strategies that work on sentence embeddings from ``crossover.models``."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Self

import numpy as np

from crossover.models import Embedder, get_embedder
from crossover.models._resolve import DEFAULT_MODEL
from crossover.models.embeddings import default_cache_dir
from crossover.models.runtimes import (
    DEFAULT_ENCODER,
    calibration_sample,
    converted_bytes,
    save_calibration,
)
from crossover.strategies.base import Strategy

__all__ = ["DEFAULT_ENCODER", "DEFAULT_MODEL", "EmbeddingStrategy"]

#: What loads a sentence-transformers model from its folder and runs it.
_ENCODER_PACKAGES = ("safetensors", "sentence-transformers", "tokenizers", "torch", "transformers")


class EmbeddingStrategy(Strategy):
    """Holds the ``model`` id, the encoder setting and the cache settings; embeds through the
    shared cache.

    ``encoder`` is how the pre-trained encoder runs (``torch-fp32``, ``onnx-int8``,
    ``openvino-int8`` ...: ``crossover.models.runtimes``); ``encoder_calibration`` names the
    texts a static int8 encoder is calibrated on: a study sets it from its training texts, and
    ``fit`` sets it from the texts it is given when it is None. A subclass that does not take
    them runs torch-fp32.
    """

    model: str
    cache_dir: str | None
    use_cache: bool
    encoder: str = "torch-fp32"
    encoder_calibration: str | None = None
    _bypass_cache: bool = False

    def _embedder(self) -> Embedder:
        directory = Path(self.cache_dir) if self.cache_dir else None
        return get_embedder(
            self.model,
            cache_dir=directory,
            use_cache=self.use_cache,
            encoder=self.encoder,
            calibration=self.encoder_calibration,
        )

    def fit(self, X: Any, y: Sequence[str], **kwargs: Any) -> Self:
        """``Strategy.fit``, a static int8 encoder first calibrated on the texts given (when
        no calibration is named)."""
        named = self.encoder_calibration is not None or not self.embedding_model()
        texts = (
            [] if named or not self._embedder().setting.calibrated else self._calibration_texts(X)
        )
        if texts:
            directory = Path(self.cache_dir) if self.cache_dir else default_cache_dir()
            self.encoder_calibration = save_calibration(directory, calibration_sample(texts))
        return super().fit(X, y, **kwargs)

    def _calibration_texts(self, X: Any) -> list[str]:
        """The texts of ``X`` an int8 encoder may be calibrated on ([]: none here; the encoder
        then calibrates on the first texts it encodes)."""
        inputs = self._inputs(X)
        if isinstance(inputs, list) and all(isinstance(t, str) for t in inputs):
            return inputs
        return []

    def _embed(self, texts: list[str]) -> np.ndarray:
        use_cache = False if self._bypass_cache else None
        return self._embedder().encode(texts, use_cache=use_cache)

    @contextmanager
    def uncached(self) -> Iterator[None]:
        self._bypass_cache = True
        try:
            yield
        finally:
            self._bypass_cache = False

    def embedding_model(self) -> str | None:
        return self.model

    def feature_encoder(self) -> Embedder | None:
        return self._embedder() if self.embedding_model() else None

    def requirements(self) -> list[str]:
        """Those of the class, and what loads and runs a local encoder (a model2vec static
        model goes through ``model2vec``)."""
        names = set(super().requirements())
        if self.embedding_model():
            names.update(_ENCODER_PACKAGES)
            if self._embedder().resolved.format == "model2vec":
                names.add("model2vec")
        return sorted(names)

    def _external_bytes(self) -> int:
        """The encoder's folder, and the converted copy it runs (both ship in an exported
        model: the folder gives the tokenizer and the pooling)."""
        embedder = self._embedder()
        return embedder.resolved.size_bytes + converted_bytes(embedder.converted_folder())

    def _encoder_parameters(self) -> int:
        counted = self._embedder().resolved.parameter_count()
        return counted if counted is not None else self._embedder().parameter_count()
