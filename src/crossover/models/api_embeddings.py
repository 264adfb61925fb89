"""Sentence embeddings from a model behind a paid API (OpenAI, Azure, Gemini, Cohere, Voyage,
a vLLM or ``crossover serve`` endpoint ...), through ``litellm.embedding``.

``ApiEmbedder`` has the interface the embedding strategies use from ``Embedder``
(``encode(texts, use_cache=..., on_progress=...)``, ``dimension``, ``parameter_count()``) and
the money and safety of ``LlmClient``:

- texts go in **batches** (``batch_size``, 64 by default), ``max_concurrency`` batches in
  flight at once;
- each batch is **retried with exponential backoff** on 429, 5xx, timeouts and dropped
  connections (``crossover.models.llm.call_with_retries``, the policy of ``LlmClient``), under
  the same **circuit breaker** (``crossover.models.breaker``): a dead server stops the run
  in seconds with one line;
- before each paid batch its estimated cost is reserved against the process's **spend cap**
  (``spend_ledger()``); a batch that could cross it is not sent (``SpendLimitReached``), the
  batches not yet started are not sent either, and every vector already paid for is kept;
- vectors go to the **shared embedding cache** (``EmbeddingCache``), one file per model
  identity; the identity is made of the API model id and the base URL, never the key, so a
  rerun (or the other strategy on the same model) never pays twice for a text.

The price of an embedding is its input tokens only: ``usage.prompt_tokens`` of the response,
else ``estimate_tokens``. The tokens billed for each text are kept next to its vector (shared
in proportion to the texts' lengths when a batch reports one total), so a rerun served from the
cache still knows what each prediction costs.

Vectors are L2-normalised float32, as ``Embedder``'s are, so a dot product is the cosine.
"""

from __future__ import annotations

import hashlib
import os
import re
import sqlite3
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from crossover.errors import ConfigError, ModelError
from crossover.models.breaker import CircuitBreaker
from crossover.models.embeddings import EmbeddingCache, default_cache_dir
from crossover.models.llm import (
    SpendCap,
    SpendLimitReached,
    call_with_retries,
    estimate_tokens,
    import_litellm,
    report_progress,
    require_key_env,
)

__all__ = ["DEFAULT_BATCH_SIZE", "ApiEmbedder", "EmbeddingUsage", "api_model_identity"]

#: Texts per API call unless told otherwise.
DEFAULT_BATCH_SIZE = 64

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def api_model_identity(model: str, api_base: str | None) -> str:
    """The cache identity of an API model: readable, file-name safe, and unique per model id and
    base URL (a URL's credentials, query and fragment are left out; never a key)."""
    base = _clean_base(api_base)
    digest = hashlib.sha256(f"{model}\n{base}".encode()).hexdigest()[:16]
    readable = _UNSAFE.sub("-", model).strip("-")[:60] or "model"
    return f"api--{readable}--{digest}"


def _clean_base(api_base: str | None) -> str:
    if not api_base:
        return ""
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(api_base.strip())
    host = parts.hostname or ""
    if parts.port is not None:
        host = f"{host}:{parts.port}"
    return urlunsplit((parts.scheme.lower(), host.lower(), parts.path.rstrip("/"), "", ""))


def _text_key(text: str) -> bytes:
    # The key ``Embedder`` uses, so both caches are laid out alike.
    return hashlib.sha256(text.encode("utf-8")).digest()[:20]


@dataclass
class EmbeddingUsage:
    """What a set of ``encode`` calls asked for and paid (counts, tokens, per-call latency)."""

    texts: int = 0
    cached_texts: int = 0
    paid_calls: int = 0
    paid_texts: int = 0
    paid_tokens: float = 0.0
    tokens: float = 0.0  # tokens billed for every text asked for, cached ones included
    usd: float = 0.0
    latencies_s: list[float] = field(default_factory=list)
    wall_s: float = 0.0

    def add(self, other: EmbeddingUsage) -> None:
        self.texts += other.texts
        self.cached_texts += other.cached_texts
        self.paid_calls += other.paid_calls
        self.paid_texts += other.paid_texts
        self.paid_tokens += other.paid_tokens
        self.tokens += other.tokens
        self.usd += other.usd
        self.latencies_s.extend(other.latencies_s)
        self.wall_s += other.wall_s


class _TokenStore:
    """The tokens billed for each text of one model, beside its vectors (SQLite)."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._conn = sqlite3.connect(path, timeout=60, check_same_thread=False)
        self._lock = threading.Lock()
        with self._lock:
            self._conn.execute("PRAGMA journal_mode=WAL")
            self._conn.execute("CREATE TABLE IF NOT EXISTS tokens (k BLOB PRIMARY KEY, n REAL)")

    def get_many(self, keys: Sequence[bytes]) -> dict[bytes, float]:
        found: dict[bytes, float] = {}
        with self._lock:
            for start in range(0, len(keys), 900):
                chunk = list(keys[start : start + 900])
                marks = ",".join("?" * len(chunk))
                rows = self._conn.execute(f"SELECT k, n FROM tokens WHERE k IN ({marks})", chunk)
                found.update((k, float(n)) for k, n in rows)
        return found

    def put_many(self, items: Sequence[tuple[bytes, float]]) -> None:
        with self._lock, self._conn:
            self._conn.executemany("INSERT OR IGNORE INTO tokens (k, n) VALUES (?, ?)", items)


class ApiEmbedder:
    """Embeds texts with a model behind an API (module docstring).

    Parameters
    ----------
    model : str
        LiteLLM's embedding model id: ``openai/text-embedding-3-small``,
        ``gemini/text-embedding-004``, ``cohere/embed-english-v3.0``; with ``api_base``,
        ``openai/NAME`` for any OpenAI-compatible server.
    api_base, api_key_env, timeout_s, max_retries, backoff_s, max_concurrency :
        As for ``LlmClient``: the server, the environment variable holding the key, the
        per-call timeout, retries after the first try, the first backoff, batches in flight.
    batch_size : int
        Texts per API call.
    cache_dir, use_cache :
        The folder of the shared embedding cache (default: crossover's cache folder);
        ``use_cache=False`` pays for every text every time.
    input_usd_per_mtok : float
        US dollars per million input tokens (what ``spend`` is charged).
    spend : SpendCap or None
        The money bookkeeping; None counts nothing and caps nothing.
    """

    #: Nothing of the model is on this machine.
    size_bytes = 0

    def __init__(
        self,
        model: str,
        *,
        api_base: str | None = None,
        api_key_env: str | None = None,
        timeout_s: float = 30.0,
        max_retries: int = 4,
        backoff_s: float = 0.5,
        max_concurrency: int = 4,
        batch_size: int = DEFAULT_BATCH_SIZE,
        cache_dir: str | Path | None = None,
        use_cache: bool = True,
        input_usd_per_mtok: float = 0.0,
        spend: SpendCap | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if not model:
            raise ConfigError(
                "no API embedding model given; pass api_model (e.g. openai/text-embedding-3-small)"
            )
        if max_concurrency < 1 or max_retries < 0 or timeout_s <= 0 or batch_size < 1:
            raise ConfigError(
                "max_concurrency and batch_size must be 1 or more, max_retries 0 or more and "
                f"timeout_s positive; got {max_concurrency}, {batch_size}, {max_retries}, "
                f"{timeout_s}"
            )
        require_key_env(api_key_env)
        self.model = model
        self.api_base = api_base
        self.api_key_env = api_key_env
        self.timeout_s = timeout_s
        self.max_retries = max_retries
        self.backoff_s = backoff_s
        self.max_concurrency = max_concurrency
        self.batch_size = batch_size
        self.use_cache = use_cache
        self.cache_dir = Path(cache_dir) if cache_dir is not None else default_cache_dir()
        self.input_usd_per_mtok = input_usd_per_mtok
        self.spend = spend
        self._sleep = sleep
        self.identity = api_model_identity(model, api_base)
        self._cache: EmbeddingCache | None = None
        self._tokens: _TokenStore | None = None
        self._dimension: int | None = None
        self._client_ready = False
        self._lock = threading.Lock()
        self.usage = EmbeddingUsage()  # every encode call of this embedder
        #: Shared by every batch: a dead server stops them all (``crossover.models.breaker``).
        self.breaker = CircuitBreaker(
            model, api_base, api_key_env, base_option="--embedding-api-base (or --api-base)"
        )
        self.model_calls = 0  # texts sent to the API, as ``Embedder`` counts them

    # -- what the strategies read -------------------------------------------------------------

    @property
    def cache(self) -> EmbeddingCache:
        if self._cache is None:
            folder = self.cache_dir / "embeddings"
            self._cache = EmbeddingCache(folder / f"{self.identity}.sqlite")
            self._tokens = _TokenStore(folder / f"{self.identity}.tokens.sqlite")
        return self._cache

    @property
    def token_store(self) -> _TokenStore:
        self.cache  # noqa: B018  (opens both stores)
        assert self._tokens is not None
        return self._tokens

    @property
    def dimension(self) -> int:
        """The vector length; asks the API (through the cache) for one short text if no vector
        has been seen yet."""
        if self._dimension is None:
            self.encode(["dimension"])
        assert self._dimension is not None
        return self._dimension

    def parameter_count(self) -> int:
        """0: the model is the provider's, nothing of it is hosted here."""
        return 0

    def cost(self, tokens: float) -> float:
        """US dollars of ``tokens`` input tokens."""
        return tokens * self.input_usd_per_mtok / 1e6

    # -- encoding -----------------------------------------------------------------------------

    def encode(
        self,
        texts: Sequence[str],
        *,
        use_cache: bool | None = None,
        on_progress: Callable[[int, int], None] | None = None,
    ) -> np.ndarray:
        """Embed ``texts`` -> array of shape (len(texts), dimension), cached texts free."""
        vectors, _ = self.encode_with_usage(texts, use_cache=use_cache, on_progress=on_progress)
        return vectors

    def encode_with_usage(
        self,
        texts: Sequence[str],
        *,
        use_cache: bool | None = None,
        on_progress: Callable[[int, int], None] | None = None,
    ) -> tuple[np.ndarray, EmbeddingUsage]:
        """``encode`` and what this call asked for and paid.

        ``on_progress(done, total)`` is called after each paid batch (texts of the missing
        ones). Raises ``SpendLimitReached`` when the cap stopped a batch (the batches paid
        for are cached first), ``ApiCallFailed`` when a batch failed after its retries, and
        ``ConfigError`` when the API refused the key or the request.
        """
        start = time.perf_counter()
        texts = [str(t) for t in texts]
        usage = EmbeddingUsage(texts=len(texts))
        if not texts:
            return np.zeros((0, self._dimension or 0), dtype=np.float32), usage
        cached = self.use_cache if use_cache is None else use_cache
        keys = [_text_key(t) for t in texts]
        found: dict[bytes, np.ndarray] = {}
        tokens: dict[bytes, float] = {}
        if cached:
            unique = list(dict.fromkeys(keys))
            found = self.cache.get_many(unique)
            tokens = self.token_store.get_many([k for k in unique if k in found])
        todo: dict[bytes, str] = {}
        for k, t in zip(keys, texts, strict=True):
            if k not in found:
                todo.setdefault(k, t)
        usage.cached_texts = sum(k in found for k in keys)
        if todo:
            paid = self._embed_missing(list(todo.items()), cached, usage, on_progress)
            for k, (vector, n) in paid.items():
                found[k] = vector
                tokens[k] = n
        usage.tokens = float(
            sum(tokens.get(k, estimate_tokens(t)) for k, t in zip(keys, texts, strict=True))
        )
        usage.wall_s = time.perf_counter() - start
        with self._lock:
            self.usage.add(usage)
        vectors = np.stack([found[k] for k in keys]).astype(np.float32, copy=False)
        if self._dimension is None:
            self._dimension = int(vectors.shape[1])
        return vectors, usage

    def _embed_missing(
        self,
        missing: list[tuple[bytes, str]],
        cached: bool,
        usage: EmbeddingUsage,
        on_progress: Callable[[int, int], None] | None,
    ) -> dict[bytes, tuple[np.ndarray, float]]:
        batches = [
            missing[start : start + self.batch_size]
            for start in range(0, len(missing), self.batch_size)
        ]
        out: dict[bytes, tuple[np.ndarray, float]] = {}
        stopped = threading.Event()
        lock = threading.Lock()
        done = [0]

        def one(batch: list[tuple[bytes, str]]) -> None:
            if stopped.is_set():
                return
            try:
                vectors, per_text, latency = self._paid_batch([t for _, t in batch])
            except BaseException:
                stopped.set()
                raise
            items = [(k, v) for (k, _), v in zip(batch, vectors, strict=True)]
            if cached:
                self.cache.put_many(items)
                self.token_store.put_many(
                    [(k, n) for (k, _), n in zip(batch, per_text, strict=True)]
                )
            with lock:
                for (k, v), n in zip(items, per_text, strict=True):
                    out[k] = (v, n)
                usage.paid_calls += 1
                usage.paid_texts += len(batch)
                usage.paid_tokens += sum(per_text)
                usage.usd += self.cost(sum(per_text))
                usage.latencies_s.append(latency)
                done[0] += len(batch)
                if on_progress is not None:
                    on_progress(done[0], len(missing))
                report_progress("texts", done[0], len(missing))

        errors: list[BaseException] = []
        if not self._client_ready:
            # The first call alone: LiteLLM caches its HTTP client per key and base URL, and
            # threads that race to build it would each open one and leak all but the last.
            try:
                one(batches[0])
                self._client_ready = True
            except BaseException as exc:
                errors.append(exc)
            batches = batches[1:]
        if batches and not errors:
            workers = min(self.max_concurrency, len(batches))
            with ThreadPoolExecutor(max_workers=workers) as pool:
                futures = [pool.submit(one, batch) for batch in batches]
            errors += [e for e in (f.exception() for f in futures) if e is not None]
        spend_stops = [e for e in errors if isinstance(e, SpendLimitReached)]
        others = [e for e in errors if not isinstance(e, SpendLimitReached)]
        if others:
            raise others[0]
        if spend_stops:
            raise spend_stops[0]
        return out

    def _paid_batch(self, texts: list[str]) -> tuple[np.ndarray, list[float], float]:
        """One API call for ``texts``, under the spend cap: vectors, tokens per text, seconds."""
        estimates = [estimate_tokens(t) for t in texts]
        booked = 0.0
        if self.spend is not None:
            booked = self.cost(sum(estimates))
            self.spend.reserve(booked)
        try:
            response, latency, _ = call_with_retries(
                lambda: import_litellm().embedding(**self._request(texts)),
                model=self.model,
                api_key_env=self.api_key_env,
                max_retries=self.max_retries,
                backoff_s=self.backoff_s,
                sleep=self._sleep,
                breaker=self.breaker,
            )
        except BaseException:
            if self.spend is not None:
                self.spend.settle(booked, 0.0)
            raise
        vectors = _vectors(response, len(texts), self.model)
        reported = _prompt_tokens(response)
        total = float(reported) if reported else float(sum(estimates))
        per_text = [total * e / sum(estimates) for e in estimates]
        if self.spend is not None:
            self.spend.settle(booked, self.cost(total))
        with self._lock:
            self.model_calls += len(texts)
        return vectors, per_text, latency

    def _request(self, texts: list[str]) -> dict[str, Any]:
        kwargs: dict[str, Any] = {
            "model": self.model,
            "input": texts,
            "timeout": self.timeout_s,
            "num_retries": 0,
        }
        if self.api_base:
            kwargs["api_base"] = self.api_base
        if self.api_key_env:
            kwargs["api_key"] = os.environ[self.api_key_env]
        return kwargs


def _field(item: Any, name: str) -> Any:
    return item.get(name) if isinstance(item, dict) else getattr(item, name, None)


def _vectors(response: Any, n: int, model: str) -> np.ndarray:
    """The response's vectors in input order, L2-normalised float32."""
    data = list(_field(response, "data") or [])
    if len(data) != n:
        raise ModelError(f"{model}: asked for {n} embeddings, the API returned {len(data)}")
    order = sorted(
        range(n),
        key=lambda i: int(_field(data[i], "index") if _field(data[i], "index") is not None else i),
    )
    rows = []
    for i in order:
        embedding = _field(data[i], "embedding")
        if isinstance(embedding, str):  # base64 little-endian float32
            import base64

            rows.append(np.frombuffer(base64.b64decode(embedding), dtype="<f4"))
        else:
            rows.append(np.asarray(embedding, dtype=np.float32))
    if len({len(r) for r in rows}) != 1 or not len(rows[0]):
        raise ModelError(f"{model}: the API returned embeddings of different or no lengths")
    vectors = np.stack(rows).astype(np.float32)
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return np.asarray(vectors / np.where(norms > 0, norms, 1.0), dtype=np.float32)


def _prompt_tokens(response: Any) -> int:
    usage = _field(response, "usage")
    if usage is None:
        return 0
    return int(_field(usage, "prompt_tokens") or _field(usage, "total_tokens") or 0)
