"""Text-classification strategies.

Each strategy registers itself when its module is imported: the registry imports every
module of ``MODULES`` when it first lists the strategies, and loading a saved model imports
only the module its manifest names. The names below are imported on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from crossover._lazy import attach

if TYPE_CHECKING:
    from crossover.strategies.text.api_embeddings import ApiEmbeddingHead, ApiZeroShotEmbeddings
    from crossover.strategies.text.embedding_head import EmbeddingHead
    from crossover.strategies.text.ensemble import Ensemble
    from crossover.strategies.text.llm import LlmFewShot, LlmZeroShot
    from crossover.strategies.text.setfit import SetFit
    from crossover.strategies.text.tfidf_linear import TfidfLinear
    from crossover.strategies.text.zero_shot import ZeroShotEmbeddings

#: Each public name and the module that defines it.
_SOURCES = {
    "ApiEmbeddingHead": "crossover.strategies.text.api_embeddings",
    "ApiZeroShotEmbeddings": "crossover.strategies.text.api_embeddings",
    "EmbeddingHead": "crossover.strategies.text.embedding_head",
    "Ensemble": "crossover.strategies.text.ensemble",
    "LlmFewShot": "crossover.strategies.text.llm",
    "LlmZeroShot": "crossover.strategies.text.llm",
    "SetFit": "crossover.strategies.text.setfit",
    "TfidfLinear": "crossover.strategies.text.tfidf_linear",
    "ZeroShotEmbeddings": "crossover.strategies.text.zero_shot",
}
#: Every module of this package that registers strategies.
MODULES = tuple(sorted(set(_SOURCES.values())))

__all__ = [
    "MODULES",
    "ApiEmbeddingHead",
    "ApiZeroShotEmbeddings",
    "EmbeddingHead",
    "Ensemble",
    "LlmFewShot",
    "LlmZeroShot",
    "SetFit",
    "TfidfLinear",
    "ZeroShotEmbeddings",
]

__getattr__ = attach(__name__, _SOURCES)
