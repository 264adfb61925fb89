"""Shared model backends: sentence-embedding models (offline resolution, on-disk cache)."""

from crossover.models._resolve import ResolvedModel, resolve_model
from crossover.models.embeddings import EmbeddingCache, Embedder, get_embedder

__all__ = ["EmbeddingCache", "Embedder", "ResolvedModel", "get_embedder", "resolve_model"]
