"""Sentence embeddings, computed once per text per model per machine.

``Embedder.encode`` looks every text up in an ``EmbeddingCache`` (SQLite, one file per model
identity, keyed by the SHA-256 of the text) and runs the model only on the texts it has not
seen. Loaded models are shared by every strategy in the process.
"""

from __future__ import annotations

import copy
import hashlib
import os
import sqlite3
import threading
from collections.abc import Callable, Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from crossover.models._resolve import ResolvedModel, resolve_model

__all__ = [
    "Embedder",
    "EmbeddingCache",
    "default_cache_dir",
    "get_embedder",
    "load_model_copy",
]

_CHUNK = 512  # texts per model call between cache writes and progress updates


def default_cache_dir() -> Path:
    """``$CROSSOVER_CACHE_DIR``, else ``~/.cache/crossover``."""
    env = os.environ.get("CROSSOVER_CACHE_DIR")
    return Path(env).expanduser() if env else Path.home() / ".cache" / "crossover"


def _key(text: str) -> bytes:
    return hashlib.sha256(text.encode("utf-8")).digest()[:20]


class EmbeddingCache:
    """A content-addressed store of float32 vectors in one SQLite file.

    Safe to share between processes: SQLite serialises the writers, and a write is a plain
    ``INSERT OR IGNORE`` of a vector that is the same whoever computes it.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self._conn = sqlite3.connect(path, timeout=60, check_same_thread=False)
        self._lock = threading.Lock()
        with self._lock:
            self._conn.execute("PRAGMA journal_mode=WAL")
            self._conn.execute("CREATE TABLE IF NOT EXISTS emb (k BLOB PRIMARY KEY, v BLOB)")

    def get_many(self, keys: Sequence[bytes]) -> dict[bytes, np.ndarray]:
        found: dict[bytes, np.ndarray] = {}
        with self._lock:
            for start in range(0, len(keys), 900):  # SQLite's bound-parameter limit
                chunk = list(keys[start : start + 900])
                marks = ",".join("?" * len(chunk))
                rows = self._conn.execute(f"SELECT k, v FROM emb WHERE k IN ({marks})", chunk)
                for k, v in rows:
                    found[k] = np.frombuffer(v, dtype=np.float32)
        return found

    def put_many(self, items: Sequence[tuple[bytes, np.ndarray]]) -> None:
        rows = [(k, np.ascontiguousarray(v, dtype=np.float32).tobytes()) for k, v in items]
        with self._lock, self._conn:
            self._conn.executemany("INSERT OR IGNORE INTO emb (k, v) VALUES (?, ?)", rows)

    def __len__(self) -> int:
        with self._lock:
            return int(self._conn.execute("SELECT COUNT(*) FROM emb").fetchone()[0])

    def close(self) -> None:
        self._conn.close()


def _read_model(path: str, fmt: str) -> Any:
    """Read a model from its files, a new instance per call; imports sentence-transformers."""
    from sentence_transformers import SentenceTransformer
    from transformers.utils import logging as hf_logging

    # The study shows its own progress; the weight-loading bar would break its output.
    was_enabled = hf_logging.is_progress_bar_enabled()
    hf_logging.disable_progress_bar()  # type: ignore[no-untyped-call]
    try:
        if fmt == "model2vec":
            from sentence_transformers.sentence_transformer.modules import StaticEmbedding

            static = StaticEmbedding.from_model2vec(path)
            return SentenceTransformer(modules=[static], device="cpu")
        return SentenceTransformer(path, device="cpu", local_files_only=True)
    finally:
        if was_enabled:
            hf_logging.enable_progress_bar()  # type: ignore[no-untyped-call]


@lru_cache(maxsize=4)
def _load_model(path: str, fmt: str) -> Any:
    """Load once per process, shared by every ``Embedder``: never train this instance."""
    return _read_model(path, fmt)


def load_model_copy(model_id: str, *, shared: bool = True) -> Any:
    """A ``SentenceTransformer`` of the caller's own, which it may train.

    The instance ``Embedder`` uses is shared by the whole process and its vectors fill the
    embedding cache under the base model's identity, so a strategy that trains an encoder
    must train a separate copy.

    Parameters
    ----------
    model_id : str
        A model id or folder, resolved by ``resolve_model``.
    shared : bool
        True: a deep copy of the process-wide instance, which is loaded first if needed and
        stays loaded (a study has usually loaded it for other strategies already, and a
        model2vec model takes seconds to convert). False: read from the files, leaving the
        process-wide instances alone (for a model only the caller uses, such as a saved
        fine-tuned encoder).
    """
    resolved = resolve_model(model_id)
    if shared:
        return copy.deepcopy(_load_model(str(resolved.path), resolved.format))
    return _read_model(str(resolved.path), resolved.format)


class Embedder:
    """Encodes texts with one model, through the on-disk cache unless ``use_cache`` is off.

    Vectors are L2-normalised float32, so a dot product is the cosine similarity.
    """

    def __init__(
        self, model_id: str, *, cache_dir: Path | None = None, use_cache: bool = True
    ) -> None:
        self.model_id = model_id
        self.resolved: ResolvedModel = resolve_model(model_id)
        self.use_cache = use_cache
        self.cache_dir = cache_dir or default_cache_dir()
        self._cache: EmbeddingCache | None = None
        self.model_calls = 0  # texts sent to the model, for tests and progress

    @property
    def model(self) -> Any:
        return _load_model(str(self.resolved.path), self.resolved.format)

    @property
    def cache(self) -> EmbeddingCache:
        if self._cache is None:
            path = self.cache_dir / "embeddings" / f"{self.resolved.identity}.sqlite"
            self._cache = EmbeddingCache(path)
        return self._cache

    @property
    def dimension(self) -> int:
        return int(self.model.get_sentence_embedding_dimension())

    def parameter_count(self) -> int:
        return int(sum(p.numel() for p in self.model.parameters()))

    def _run_model(self, texts: Sequence[str]) -> np.ndarray:
        self.model_calls += len(texts)
        vectors = self.model.encode(
            list(texts),
            batch_size=64,
            convert_to_numpy=True,
            normalize_embeddings=True,
            show_progress_bar=False,
        )
        return np.asarray(vectors, dtype=np.float32)

    def encode(
        self,
        texts: Sequence[str],
        *,
        use_cache: bool | None = None,
        on_progress: Callable[[int, int], None] | None = None,
    ) -> np.ndarray:
        """Embed ``texts`` -> array of shape (len(texts), dimension).

        ``on_progress(done, total)`` is called after each chunk the model encodes.
        ``use_cache=False`` runs the model on every text (used to time real inference).
        """
        texts = [str(t) for t in texts]
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        cached = self.use_cache if use_cache is None else use_cache
        if not cached:
            return self._run_model(texts)
        keys = [_key(t) for t in texts]
        found = self.cache.get_many(list(dict.fromkeys(keys)))
        todo: dict[bytes, str] = {}
        for k, t in zip(keys, texts, strict=True):
            if k not in found:
                todo.setdefault(k, t)
        missing = list(todo.items())
        for start in range(0, len(missing), _CHUNK):
            chunk = missing[start : start + _CHUNK]
            vectors = self._run_model([t for _, t in chunk])
            new = [(k, v) for (k, _), v in zip(chunk, vectors, strict=True)]
            self.cache.put_many(new)
            found.update(new)
            if on_progress is not None:
                on_progress(min(start + _CHUNK, len(missing)), len(missing))
        return np.stack([found[k] for k in keys]).astype(np.float32, copy=False)


_EMBEDDERS: dict[tuple[str, str, bool], Embedder] = {}
_EMBEDDERS_LOCK = threading.Lock()


def get_embedder(
    model_id: str, *, cache_dir: Path | None = None, use_cache: bool = True
) -> Embedder:
    """The process-wide ``Embedder`` for a model and cache setting (created on first use)."""
    directory = cache_dir or default_cache_dir()
    key = (model_id, str(directory), use_cache)
    with _EMBEDDERS_LOCK:
        if key not in _EMBEDDERS:
            _EMBEDDERS[key] = Embedder(model_id, cache_dir=directory, use_cache=use_cache)
        return _EMBEDDERS[key]
