"""``text.api-embeddings`` (pretrained) and ``text.api-embedding-head`` (hybrid): sentence
embeddings from a model behind a paid API.

They are ``text.zero-shot-embeddings`` (nearest label name or description) and
``text.embedding-head`` (a logistic-regression head on frozen embeddings) with the local
sentence-transformers model replaced by ``crossover.models.api_embeddings.ApiEmbedder``:
batched ``litellm.embedding`` calls with retries, bounded concurrency, the process's spend cap,
and the shared embedding cache (keyed by the API model id and base URL), so both strategies, a
rerun, and every trial of a study pay once per text.

An embedding's price is its input tokens (``input_usd_per_mtok``, else LiteLLM's price map or
the catalog); ``api_usage()`` records the predictions' tokens per prediction (output tokens
are 0), paid calls, texts served from the cache, and latency per call. What ``fit`` paid (the
label prompts; the head's training texts) is recorded apart, as ``fit_*``: it is not a
per-prediction cost.

The head's learning curve stays on (``learning_curve = True``): the study runs the full-budget
trial first, in its own process, which embeds every training and test text of the split into
the shared cache; the learning-curve trials (spawned workers, the same cache folder) train on
subsets of those training texts and predict the same test texts, so they read every vector
from the cache and pay nothing. Only with ``use_cache=False`` would each of them pay again.

Saved state holds the parameters (the *name* of the key's variable, never a key), the label
prompts, and the head's weights (skops); loading re-embeds the label prompts (from the cache),
the head needs no call until it predicts.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from crossover.errors import ConfigError
from crossover.models.api_embeddings import DEFAULT_BATCH_SIZE, ApiEmbedder, EmbeddingUsage
from crossover.models.llm import estimate_tokens, spend_ledger
from crossover.strategies.registry import register
from crossover.strategies.text._embedding import EmbeddingStrategy
from crossover.strategies.text.embedding_head import EmbeddingHead
from crossover.strategies.text.zero_shot import ZeroShotEmbeddings

__all__ = ["ApiEmbeddingHead", "ApiZeroShotEmbeddings"]


class _ApiEmbeddings(EmbeddingStrategy):
    """What both API embedding strategies share: the embedder, price, estimate, usage."""

    packages: ClassVar[tuple[str, ...]] = ("litellm",)

    is_api: ClassVar[bool] = True
    default = False  # runs when asked for: it spends money
    api_model: str
    api_base: str | None
    api_key_env: str | None
    input_usd_per_mtok: float | None
    max_concurrency: int
    timeout_s: float
    max_retries: int
    _predicting: bool = False

    def _set_api_params(
        self,
        api_model: str,
        api_base: str | None,
        api_key_env: str | None,
        input_usd_per_mtok: float | None,
        max_concurrency: int,
        timeout_s: float,
        max_retries: int,
        cache_dir: str | None,
        use_cache: bool,
    ) -> None:
        self.api_model = api_model
        self.api_base = api_base
        self.api_key_env = api_key_env
        self.input_usd_per_mtok = input_usd_per_mtok
        self.max_concurrency = max_concurrency
        self.timeout_s = timeout_s
        self.max_retries = max_retries
        self.cache_dir = cache_dir
        self.use_cache = use_cache

    # -- price and embedder -------------------------------------------------------------------

    def price(self) -> tuple[float, float, str]:
        """US dollars per million input and output (always 0) tokens, and their source."""
        if self.input_usd_per_mtok is not None:
            return float(self.input_usd_per_mtok), 0.0, "given (--llm-price)"
        if not self.api_model:
            raise ConfigError(
                f"{self.key} needs api_model, an embedding model behind an API (e.g. "
                "openai/text-embedding-3-small)"
            )
        from crossover.costs.catalog import load_catalog

        try:
            found = load_catalog().api_price(self.api_model)
        except ConfigError:
            raise ConfigError(
                f"no token price known for {self.api_model!r}; pass --llm-price IN,0 (US "
                "dollars per million input tokens; 0,0 for a server of your own)"
            ) from None
        return found.input_usd_per_mtok, 0.0, found.source

    def _embedder(self) -> ApiEmbedder:  # type: ignore[override]
        settings = (
            self.api_model,
            self.api_base,
            self.api_key_env,
            self.max_concurrency,
            self.timeout_s,
            self.max_retries,
            self.cache_dir,
            self.use_cache,
            self.input_usd_per_mtok,
        )
        held = self.__dict__.get("_api_embedder")
        if held is None or held[0] != settings:
            embedder = ApiEmbedder(
                self.api_model,
                api_base=self.api_base,
                api_key_env=self.api_key_env,
                timeout_s=self.timeout_s,
                max_retries=self.max_retries,
                max_concurrency=self.max_concurrency,
                cache_dir=self.cache_dir,
                use_cache=self.use_cache,
                input_usd_per_mtok=self.price()[0],
            )
            held = (settings, embedder)
            self.__dict__["_api_embedder"] = held
        embedder = held[1]
        embedder.spend = spend_ledger()  # the study's cap, set after this strategy was built
        return embedder

    def _embed(self, texts: list[str]) -> np.ndarray:
        use_cache = False if self._bypass_cache else None
        vectors, used = self._embedder().encode_with_usage(texts, use_cache=use_cache)
        usage = self.__dict__.setdefault("usage_", _empty_usage())
        usage["predict" if self._predicting else "fit"].add(used)
        return vectors

    def embedding_model(self) -> str | None:
        # None: the study's pre-embedding and encode-rate timing load local models by this id.
        return None

    def _external_bytes(self) -> int:
        return 0  # nothing of the provider's model is on this machine

    def _encoder_parameters(self) -> int:
        return 0

    # -- fit, predict, estimate ---------------------------------------------------------------

    def _fit(self, X: list[str] | None, y: list[str] | None) -> None:
        self.price()  # an unknown price fails here, before any call
        self.usage_ = _empty_usage()
        # The concrete classes put ZeroShotEmbeddings / EmbeddingHead next in the MRO.
        super()._fit(X, y)  # type: ignore[safe-super]

    def _predict(self, X: list[str]) -> np.ndarray:
        self._predicting = True
        try:
            out = np.asarray(super()._predict(X))  # type: ignore[safe-super]
        finally:
            self._predicting = False
        self.usage_["predictions"] += len(X)
        return out

    def _predict_proba(self, X: list[str]) -> np.ndarray:
        self._predicting = True
        try:
            out = np.asarray(super()._predict_proba(X))
        finally:
            self._predicting = False
        self.usage_["predictions"] += len(X)
        return out

    def _load_state(self, path: Path) -> None:
        self.usage_ = _empty_usage()
        super()._load_state(path)

    def estimate(self, texts: list[str]) -> dict[str, float]:
        """Calls, tokens and US dollars to embed ``texts`` (before any call; texts already in
        the cache make it cheaper)."""
        input_tokens = sum(estimate_tokens(str(t)) for t in texts)
        calls = -(-len(texts) // DEFAULT_BATCH_SIZE)
        usd = input_tokens * self.price()[0] / 1e6
        return {"calls": calls, "input_tokens": input_tokens, "usd": usd}

    def api_usage(self) -> dict[str, Any] | None:
        """What the predictions so far cost: tokens per prediction (input only), calls, texts
        from the cache, latency per call; what ``fit`` paid apart; None before any
        prediction. No key."""
        usage = self.__dict__.get("usage_")
        if not usage or not usage["predictions"]:
            return None
        n = usage["predictions"]
        predict: EmbeddingUsage = usage["predict"]
        fit: EmbeddingUsage = usage["fit"]
        latencies = np.asarray(predict.latencies_s, dtype=np.float64) * 1000.0
        price_in, price_out, source = self.price()
        return {
            "model": self.api_model,
            "api_base": self.api_base,
            "predictions": n,
            "paid_calls": predict.paid_calls,
            "cached_answers": predict.cached_texts,
            "unparseable": 0,
            "failed": 0,
            "input_tokens_per_prediction": predict.tokens / n,
            "output_tokens_per_prediction": 0.0,
            "latency_p50_ms_per_call": _percentile(latencies, 50),
            "latency_p95_ms_per_call": _percentile(latencies, 95),
            "rows_per_s": n / predict.wall_s if predict.wall_s > 0 else None,
            "input_usd_per_mtok": price_in,
            "output_usd_per_mtok": price_out,
            "price_source": source,
            "max_concurrency": self.max_concurrency,
            "paid_usd": predict.usd,
            "fit_texts": fit.texts,
            "fit_paid_calls": fit.paid_calls,
            "fit_cached_texts": fit.cached_texts,
            "fit_input_tokens": fit.tokens,
            "fit_paid_usd": fit.usd,
        }


def _percentile(values: np.ndarray, q: float) -> float | None:
    return float(np.percentile(values, q)) if len(values) else None


def _empty_usage() -> dict[str, Any]:
    return {"predictions": 0, "predict": EmbeddingUsage(), "fit": EmbeddingUsage()}


@register
class ApiZeroShotEmbeddings(_ApiEmbeddings, ZeroShotEmbeddings):
    """Embed each text and each label (name or description) through the API; predict the most
    similar label. Never reads training rows."""

    key = "text.api-embeddings"
    kind = "pretrained"
    summary = "sentence embeddings from a model behind an API, nearest label name or description"
    learning_curve: ClassVar[bool] = False  # pretrained: one trial anyway

    def __init__(
        self,
        api_model: str = "",
        *,
        api_base: str | None = None,
        api_key_env: str | None = None,
        input_usd_per_mtok: float | None = None,
        max_concurrency: int = 4,
        timeout_s: float = 30.0,
        max_retries: int = 4,
        cache_dir: str | None = None,
        use_cache: bool = True,
    ) -> None:
        self._set_api_params(
            api_model,
            api_base,
            api_key_env,
            input_usd_per_mtok,
            max_concurrency,
            timeout_s,
            max_retries,
            cache_dir,
            use_cache,
        )


@register
class ApiEmbeddingHead(_ApiEmbeddings, EmbeddingHead):
    """Embeddings from a model behind an API, frozen, with a multinomial logistic regression
    trained on top (the weights are local; predicting embeds the texts through the API)."""

    key = "text.api-embedding-head"
    kind = "hybrid"
    summary = "sentence embeddings from a model behind an API + logistic-regression head"
    #: On: every learning-curve trial reads its vectors from the cache the full trial filled
    #: (module docstring).
    learning_curve: ClassVar[bool] = True

    def __init__(
        self,
        api_model: str = "",
        *,
        api_base: str | None = None,
        api_key_env: str | None = None,
        input_usd_per_mtok: float | None = None,
        max_concurrency: int = 4,
        timeout_s: float = 30.0,
        max_retries: int = 4,
        cache_dir: str | None = None,
        use_cache: bool = True,
        C: float = 20.0,
        max_iter: int = 2000,
        random_state: int = 0,
    ) -> None:
        self._set_api_params(
            api_model,
            api_base,
            api_key_env,
            input_usd_per_mtok,
            max_concurrency,
            timeout_s,
            max_retries,
            cache_dir,
            use_cache,
        )
        self.C = C
        self.max_iter = max_iter
        self.random_state = random_state
