"""Shared model backends: sentence-embedding models (offline resolution, on-disk cache)."""

from crossover.models._resolve import ResolvedModel, resolve_model
from crossover.models.embeddings import Embedder, EmbeddingCache, get_embedder, load_model_copy

__all__ = [
    "Embedder",
    "EmbeddingCache",
    "ResolvedModel",
    "get_embedder",
    "load_model_copy",
    "resolve_model",
]
