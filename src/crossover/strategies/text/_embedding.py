"""The base of strategies that work on sentence embeddings from ``crossover.models``."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from crossover.models import Embedder, get_embedder
from crossover.models._resolve import DEFAULT_MODEL
from crossover.strategies.base import Strategy

__all__ = ["DEFAULT_MODEL", "EmbeddingStrategy"]

#: What loads a sentence-transformers model from its folder and runs it.
_ENCODER_PACKAGES = ("safetensors", "sentence-transformers", "tokenizers", "torch", "transformers")


class EmbeddingStrategy(Strategy):
    """Holds the ``model`` id and the cache settings; embeds through the shared cache."""

    model: str
    cache_dir: str | None
    use_cache: bool
    _bypass_cache: bool = False

    def _embedder(self) -> Embedder:
        directory = Path(self.cache_dir) if self.cache_dir else None
        return get_embedder(self.model, cache_dir=directory, use_cache=self.use_cache)

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
        return self._embedder().resolved.size_bytes

    def _encoder_parameters(self) -> int:
        counted = self._embedder().resolved.parameter_count()
        return counted if counted is not None else self._embedder().parameter_count()
