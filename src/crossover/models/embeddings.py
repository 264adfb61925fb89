"""Sentence embeddings, computed once per text per model per machine.

``Embedder.encode`` looks every text up in an ``EmbeddingCache`` (SQLite, one file per model
identity and encoder setting, keyed by the SHA-256 of the text) and runs the model only on the
texts it has not seen. Loaded models are shared by every strategy in the process.

An ``Embedder`` runs its model on torch in fp32 (sentence-transformers as it is), or on ONNX
Runtime or OpenVINO in fp32, bf16 or int8 (``crossover.models.runtimes``): the converted copy
is built once per machine under the cache folder's ``encoders/``, beside the embeddings, or
read from ``runtimes/`` in the model's own folder (where an exported model keeps it).
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
from crossover.models.runtimes import (
    TORCH_FP32,
    EncoderSetting,
    RuntimeEncoder,
    build_converted,
    calibration_sample,
    encoder_threads,
    load_calibration,
    save_calibration,
)

__all__ = [
    "Embedder",
    "EmbeddingCache",
    "default_cache_dir",
    "get_embedder",
    "load_model_copy",
    "seed_cache",
]

_CHUNK = 512  # texts per model call between cache writes and progress updates


def default_cache_dir() -> Path:
    """``$CROSSOVER_CACHE_DIR``, else ``~/.cache/crossover``."""
    env = os.environ.get("CROSSOVER_CACHE_DIR")
    return Path(env).expanduser() if env else Path.home() / ".cache" / "crossover"


def _key(text: str) -> bytes:
    return hashlib.sha256(text.encode("utf-8")).digest()[:20]


#: Vectors handed to this process (``seed_cache``), by cache file, read before the file.
_SEEDED: dict[str, dict[bytes, np.ndarray]] = {}


def _seed_key(cache_file: str | Path) -> str:
    """A cache file by its folder and name (``embeddings/<model>-<setting>.sqlite``), which
    name what it holds: the cache folder itself differs from one machine to the next."""
    return "/".join(Path(cache_file).parts[-2:])


def seed_cache(cache_file: str | Path, keys: Sequence[bytes], vectors: np.ndarray) -> None:
    """Serve ``vectors`` (one row per key) to every lookup of a cache file of that folder and
    name in this process, before the file is read: how a worker on another machine (a Ray
    task) gets the features a study computed once, without its own cache holding them."""
    seeded = _SEEDED.setdefault(_seed_key(cache_file), {})
    seeded.update(zip(keys, vectors, strict=True))


class EmbeddingCache:
    """A content-addressed store of float32 vectors in one SQLite file.

    Safe to share between processes: SQLite serialises the writers, and a write is a plain
    ``INSERT OR IGNORE`` of a vector that is the same whoever computes it. Vectors given to
    ``seed_cache`` for its file are served first.
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
        seeded = _SEEDED.get(_seed_key(self.path))
        if seeded:
            found = {k: seeded[k] for k in keys if k in seeded}
            keys = [k for k in keys if k not in found]
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


@lru_cache(maxsize=4)
def _load_runtime(
    path: str, fmt: str, folder: str, setting: EncoderSetting, threads: int
) -> RuntimeEncoder:
    """A converted copy loaded once per process, shared by every ``Embedder`` of it: from its
    folder alone when it holds its tokenizer, else with the model."""
    light = RuntimeEncoder.from_folder(Path(folder), setting, threads)
    return light or RuntimeEncoder(_load_model(path, fmt), Path(folder), setting, threads)


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

    ``encoder`` is the setting it runs with (``torch-fp32``, ``onnx-int8``, ``openvino-int8``
    ...; see ``crossover.models.runtimes``). A static int8 model is calibrated on the texts
    ``calibration`` names (a digest from ``save_calibration``), else on the first texts it is
    asked to encode. A model2vec static model is a lookup table: it has nothing to convert and
    always runs as it is (``setting`` says torch-fp32 then).
    """

    def __init__(
        self,
        model_id: str,
        *,
        cache_dir: Path | None = None,
        use_cache: bool = True,
        encoder: str | EncoderSetting = TORCH_FP32,
        calibration: str | None = None,
    ) -> None:
        self.model_id = model_id
        self.resolved: ResolvedModel = resolve_model(model_id)
        self.use_cache = use_cache
        self.cache_dir = cache_dir or default_cache_dir()
        setting = encoder if isinstance(encoder, EncoderSetting) else EncoderSetting.parse(encoder)
        self.setting = TORCH_FP32 if self.resolved.format == "model2vec" else setting
        self.calibration = calibration if self.setting.calibrated else None
        self._cache: EmbeddingCache | None = None
        self.model_calls = 0  # texts sent to the model, for tests and progress

    @property
    def model(self) -> Any:
        """The ``SentenceTransformer`` (on torch; a converted setting encodes through
        ``runtime_encoder`` but takes its tokenizer and pooling from this)."""
        return _load_model(str(self.resolved.path), self.resolved.format)

    @property
    def cache(self) -> EmbeddingCache:
        if self._cache is None:
            path = self.cache_dir / "embeddings" / f"{self._cache_name()}.sqlite"
            self._cache = EmbeddingCache(path)
        return self._cache

    def _cache_name(self) -> str:
        """The model's identity, and for another setting than torch-fp32 its tag (and the
        calibration's digest): a setting's vectors never mix with another's."""
        if not self.setting.converted:
            return self.resolved.identity
        return "-".join(filter(None, [self.resolved.identity, self.converted_name()]))

    def converted_name(self) -> str:
        """The converted copy's name: the setting, and the calibration's digest for a
        static int8 model."""
        if self.setting.calibrated:
            if self.calibration is None:
                raise RuntimeError("calibrate() first")  # encode() does
            return f"{self.setting.tag}-{self.calibration}"
        return self.setting.tag

    def calibrate(self, texts: Sequence[str]) -> str | None:
        """Name the texts a static int8 model is calibrated on (a sample of ``texts``; kept in
        the cache folder) unless they are named already; return their digest (None for a
        setting that needs none)."""
        if self.setting.calibrated and self.calibration is None:
            self.calibration = save_calibration(self.cache_dir, calibration_sample(texts))
        return self.calibration

    def converted_folder(self) -> Path | None:
        """The folder of the converted copy this setting runs (built if missing; None for
        torch-fp32): ``runtimes/<setting>`` in the model's own folder when there, else under
        the cache folder's ``encoders/``."""
        if not self.setting.converted:
            return None
        name = self.converted_name()
        shipped = self.resolved.path / "runtimes" / name
        if shipped.is_dir():
            return shipped
        folder = self.cache_dir / "encoders" / f"{self.resolved.identity}-{name}"
        if not folder.is_dir():
            texts = None
            if self.setting.calibrated:
                assert self.calibration is not None
                texts = load_calibration(self.cache_dir, self.calibration)
            build_converted(
                self.model,
                self.setting,
                folder,
                model_id=self.model_id,
                identity=self.resolved.identity,
                calibration=texts,
                calibration_id=self.calibration,
            )
        return folder

    def runtime_encoder(self) -> RuntimeEncoder | None:
        """What encodes with the converted copy (None for torch-fp32); loaded once per process."""
        folder = self.converted_folder()
        if folder is None:
            return None
        return _load_runtime(
            str(self.resolved.path),
            self.resolved.format,
            str(folder),
            self.setting,
            encoder_threads(),
        )

    @property
    def dimension(self) -> int:
        return int(self.model.get_sentence_embedding_dimension())

    def parameter_count(self) -> int:
        return int(sum(p.numel() for p in self.model.parameters()))

    def cache_keys(self, texts: Sequence[str]) -> list[bytes]:
        """The keys ``cache`` files the vectors of ``texts`` under."""
        return [_key(str(t)) for t in texts]

    def _run_model(self, texts: Sequence[str]) -> np.ndarray:
        self.model_calls += len(texts)
        self.calibrate(texts)
        runtime = self.runtime_encoder()
        if runtime is not None:
            return runtime.encode(texts)
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
        self.calibrate(texts)
        keys = self.cache_keys(texts)
        found = self.cache.get_many(list(dict.fromkeys(keys)))
        todo: dict[bytes, str] = {}
        for k, t in zip(keys, texts, strict=True):
            if k not in found:
                todo.setdefault(k, t)
        # Longest first across all of them, not within each chunk: a chunk of like lengths is
        # what lets the model's batches pad little (banking77's CSV is ordered by intent:
        # chunks in file order made the int8 encoder's sorted batches 1.7x slower).
        missing = sorted(todo.items(), key=lambda item: len(item[1]), reverse=True)
        for start in range(0, len(missing), _CHUNK):
            chunk = missing[start : start + _CHUNK]
            vectors = self._run_model([t for _, t in chunk])
            new = [(k, v) for (k, _), v in zip(chunk, vectors, strict=True)]
            self.cache.put_many(new)
            found.update(new)
            if on_progress is not None:
                on_progress(min(start + _CHUNK, len(missing)), len(missing))
        return np.stack([found[k] for k in keys]).astype(np.float32, copy=False)


_EMBEDDERS: dict[tuple[str, str, bool, str, str | None], Embedder] = {}
_EMBEDDERS_LOCK = threading.Lock()


def get_embedder(
    model_id: str,
    *,
    cache_dir: Path | None = None,
    use_cache: bool = True,
    encoder: str | EncoderSetting = TORCH_FP32,
    calibration: str | None = None,
) -> Embedder:
    """The process-wide ``Embedder`` for a model, cache setting and encoder setting (created on
    first use)."""
    directory = cache_dir or default_cache_dir()
    setting = encoder if isinstance(encoder, EncoderSetting) else EncoderSetting.parse(encoder)
    key = (model_id, str(directory), use_cache, setting.tag, calibration)
    with _EMBEDDERS_LOCK:
        if key not in _EMBEDDERS:
            _EMBEDDERS[key] = Embedder(
                model_id,
                cache_dir=directory,
                use_cache=use_cache,
                encoder=setting,
                calibration=calibration,
            )
        return _EMBEDDERS[key]
