"""Pretrained ``text.zero-shot-embeddings``: the nearest label name in embedding space."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from crossover.strategies.registry import register
from crossover.strategies.text._embedding import DEFAULT_ENCODER, DEFAULT_MODEL, EmbeddingStrategy

__all__ = ["ZeroShotEmbeddings", "label_prompt"]


def label_prompt(label: str, descriptions: dict[str, str]) -> str:
    """The text that stands for a label: its description, else its name read as words."""
    if label in descriptions:
        return descriptions[label]
    return " ".join(label.replace("_", " ").replace("-", " ").split())


@register
class ZeroShotEmbeddings(EmbeddingStrategy):
    """Embed each text and each label (name or description); predict the most similar label.

    Never reads training rows: ``fit`` gives it the label set and descriptions only.
    """

    key = "text.zero-shot-embeddings"
    kind = "pretrained"
    task = "text-classification"
    summary = "pre-trained sentence embeddings, nearest label name or description (no training)"
    needs_labels = False

    def __init__(
        self,
        model: str = DEFAULT_MODEL,
        *,
        cache_dir: str | None = None,
        use_cache: bool = True,
        encoder: str = DEFAULT_ENCODER,
        encoder_calibration: str | None = None,
    ) -> None:
        self.model = model
        self.cache_dir = cache_dir
        self.use_cache = use_cache
        self.encoder = encoder
        self.encoder_calibration = encoder_calibration

    def _fit(self, X: list[str] | None, y: list[str] | None) -> None:
        prompts = [label_prompt(str(c), self.label_descriptions_) for c in self.classes_]
        self.prompts_ = prompts
        self.label_vectors_ = self._embed(prompts)

    def _scores(self, X: list[str]) -> np.ndarray:
        return np.asarray(self._embed(X) @ self.label_vectors_.T)

    def _predict(self, X: list[str]) -> np.ndarray:
        return np.asarray(self.classes_[np.argmax(self._scores(X), axis=1)])

    def _save_state(self, path: Path) -> None:
        (path / "prompts.json").write_text(json.dumps(self.prompts_, indent=2))

    def _load_state(self, path: Path) -> None:
        self.prompts_ = json.loads((path / "prompts.json").read_text())
        self.label_vectors_ = self._embed(self.prompts_)

    def _parameter_count(self) -> int:
        return self._encoder_parameters()
