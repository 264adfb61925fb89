"""Models behind a paid API, through LiteLLM: chat completions, with money and safety built in.

One ``LlmClient`` per model. It calls ``litellm.completion`` (OpenAI, Anthropic, Gemini, Azure,
Ollama, vLLM, any OpenAI-compatible ``api_base``) with:

- **bounded concurrency** (``max_concurrency`` calls in flight, a thread pool);
- **retries with exponential backoff** on 429, 5xx, timeouts and dropped connections
  (``max_retries``; a ``Retry-After`` header is honoured up to 60 s; a refused connection is
  retried after 1 s at most); a 401/403, a 400 or a 404 is not retried and becomes a
  ``ConfigError`` that names the server and says what to check;
- **a timeout** per call (``timeout_s``);
- **a circuit breaker** (``crossover.models.breaker``): 5 tries in a row that reach nothing
  (connection refused, timed out), or 5 calls in a row that fail after their retries, stop
  every call with one ``ApiUnreachable`` line that names the server and what to check;
- **progress** while calls run, to the hook of ``report_calls`` (a study's runner prints it);
- **a response cache on disk** (SQLite, keyed by the model, the base URL and the exact request),
  so a rerun never pays twice for the same prompt; cached answers keep the tokens and latency
  of the call that paid for them;
- **a hard spend cap** (``SpendCap``): before each paid call its worst case (the prompt's
  estimated tokens plus ``max_tokens``) is reserved against the cap; a call that would cross
  it is not made (``SpendLimitReached``), and everything already answered stays in the cache.

Keys come only from environment variables: LiteLLM's own (``OPENAI_API_KEY``,
``ANTHROPIC_API_KEY``, ...) or the one named by ``api_key_env``. The client never stores a key
in a field that is saved, and error messages are scrubbed of anything that looks like one.

LiteLLM is imported through ``import_litellm``, which tells it to use its bundled price map
instead of downloading one (``LITELLM_LOCAL_MODEL_COST_MAP``) and to keep quiet.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from crossover.errors import ConfigError, CrossoverError
from crossover.models.breaker import REFUSED_WAIT_S, ApiUnreachable, CircuitBreaker

__all__ = [
    "ApiCall",
    "ApiCallFailed",
    "ApiUnreachable",
    "CallProgress",
    "LlmClient",
    "SpendCap",
    "SpendLimitReached",
    "backoff_wait",
    "call_with_retries",
    "estimate_tokens",
    "import_litellm",
    "limit_spend",
    "report_calls",
    "report_progress",
    "require_key_env",
    "scrub_secrets",
    "spend_ledger",
]

_KEY_PATTERN = re.compile(r"(sk-[A-Za-z0-9_\-]{4,}|Bearer\s+\S+|key=[^&\s]+)", re.IGNORECASE)
_MAX_RETRY_AFTER_S = 60.0


def import_litellm() -> Any:
    """``litellm``, told to use its bundled price map (no download) and to keep quiet."""
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    os.environ.setdefault("LITELLM_LOG", "ERROR")
    try:
        import litellm
    except ImportError as exc:  # pragma: no cover - litellm is a dependency
        raise ConfigError("models behind an API need litellm: pip install litellm") from exc
    litellm.suppress_debug_info = True
    litellm.telemetry = False
    return litellm


def require_key_env(name: str | None) -> None:
    """A ``ConfigError`` when ``--api-key-env NAME`` names a variable that is not set."""
    if name is not None and not os.environ.get(name):
        raise ConfigError(
            f"the environment variable {name} (--api-key-env) is not set; export the key "
            "there (keys are read from the environment only)"
        )


def scrub_secrets(text: str) -> str:
    """``text`` with anything that looks like an API key or a bearer token replaced."""
    return _KEY_PATTERN.sub("[redacted]", text)


def estimate_tokens(text: str) -> int:
    """A rough token count for an estimate before spending: about 4 characters a token."""
    return max(1, (len(text) + 3) // 4)


class SpendLimitReached(CrossoverError):
    """A paid call was not made: it could have crossed ``--max-spend-usd``."""


class ApiCallFailed(CrossoverError):
    """A call failed after its retries (rate limits, server errors, timeouts)."""


@dataclass(frozen=True)
class ApiCall:
    """One answer: its text, the tokens billed, the seconds the call took, whether cached."""

    text: str
    input_tokens: int
    output_tokens: int
    latency_s: float
    cached: bool = False
    attempts: int = 1


class SpendCap:
    """The money spent so far against an optional hard cap, shared by threads and clients.

    ``reserve(usd)`` books a call's worst case before it is made (raising
    ``SpendLimitReached`` when spent + booked + ``usd`` would exceed the cap); ``settle``
    replaces the booking by what the call cost.
    """

    def __init__(self, max_usd: float | None = None) -> None:
        if max_usd is not None and max_usd < 0:
            raise ConfigError(f"--max-spend-usd {max_usd}: give a non-negative amount")
        self.max_usd = max_usd
        self.spent_usd = 0.0
        self._booked = 0.0
        self._lock = threading.Lock()

    def reserve(self, usd: float) -> None:
        with self._lock:
            if self.max_usd is not None and self.spent_usd + self._booked + usd > self.max_usd:
                raise SpendLimitReached(
                    f"stopped before a call that could cross --max-spend-usd {self.max_usd:g} "
                    f"(spent ${self.spent_usd:.4f} so far); answers already paid for are kept "
                    "in the response cache, so a rerun with a higher cap pays only for the rest"
                )
            self._booked += usd

    def settle(self, booked: float, actual: float) -> None:
        with self._lock:
            self._booked -= booked
            self.spent_usd += actual


class _ResponseCache:
    """Answers by request hash, in SQLite (one writer at a time; readers any thread)."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(path, check_same_thread=False, timeout=30)
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS responses (key TEXT PRIMARY KEY, payload TEXT NOT NULL)"
        )
        self._db.commit()
        self._lock = threading.Lock()

    def get(self, key: str) -> dict[str, Any] | None:
        with self._lock:
            row = self._db.execute("SELECT payload FROM responses WHERE key = ?", (key,)).fetchone()
        return None if row is None else dict(json.loads(row[0]))

    def put(self, key: str, payload: dict[str, Any]) -> None:
        with self._lock:
            self._db.execute(
                "INSERT OR REPLACE INTO responses (key, payload) VALUES (?, ?)",
                (key, json.dumps(payload)),
            )
            self._db.commit()


_LEDGER = SpendCap(None)


def spend_ledger() -> SpendCap:
    """The process's spend cap, shared by every API strategy of a study."""
    return _LEDGER


def limit_spend(max_usd: float | None) -> SpendCap:
    """Start a new process-wide ledger with this cap (``crossover compare`` does, once)."""
    global _LEDGER
    _LEDGER = SpendCap(max_usd)
    return _LEDGER


#: ``(unit, done, total, failed)``: of ``total`` calls (or texts), ``done`` are back so far,
#: ``failed`` of them without an answer.
CallProgress = Callable[[str, int, int, int], None]
_PROGRESS: list[CallProgress] = []


@contextmanager
def report_calls(hook: CallProgress) -> Iterator[None]:
    """While inside, the API calls of this process report their progress to ``hook`` (from
    the calling threads): ``LlmClient.complete_many`` per answer, ``ApiEmbedder`` per batch.
    A study's runner passes one that prints a line now and then."""
    _PROGRESS.append(hook)
    try:
        yield
    finally:
        _PROGRESS.remove(hook)


def report_progress(unit: str, done: int, total: int, failed: int = 0) -> None:
    """Tell the innermost ``report_calls`` hook, if any, how far the calls are."""
    if _PROGRESS:
        _PROGRESS[-1](unit, done, total, failed)


def _default_cache_dir() -> Path:
    from crossover.models.embeddings import default_cache_dir

    return Path(default_cache_dir())


class LlmClient:
    """Chat completions from one model through LiteLLM (module docstring).

    Parameters
    ----------
    model : str
        LiteLLM's model id: ``openai/gpt-4o-mini``, ``anthropic/claude-3-5-haiku-20241022``,
        ``ollama/llama3.1``, ``hosted_vllm/...``; with ``api_base``, ``openai/NAME`` for any
        OpenAI-compatible server.
    api_base : str or None
        The server's base URL (Ollama, vLLM, a proxy); None for the provider's own.
    api_key_env : str or None
        The environment variable that holds the key; None lets LiteLLM read the provider's
        usual one (``OPENAI_API_KEY`` ...).
    timeout_s, max_retries, backoff_s, max_concurrency :
        Per-call timeout; retries after the first try; the first backoff (doubled each retry);
        calls in flight at once.
    cache_dir : path or None
        Folder of the response cache (default: crossover's cache folder); ``use_cache=False``
        turns it off.
    price : (float, float)
        US dollars per million input and output tokens (what ``spend`` is charged).
    spend : SpendCap or None
        The money bookkeeping; None counts nothing and caps nothing.
    """

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
        cache_dir: str | Path | None = None,
        use_cache: bool = True,
        price: tuple[float, float] = (0.0, 0.0),
        spend: SpendCap | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if not model:
            raise ConfigError("no LLM model given; pass --llm MODEL (e.g. openai/gpt-4o-mini)")
        if max_concurrency < 1 or max_retries < 0 or timeout_s <= 0:
            raise ConfigError(
                "max_concurrency must be 1 or more, max_retries 0 or more and timeout_s "
                f"positive; got {max_concurrency}, {max_retries}, {timeout_s}"
            )
        require_key_env(api_key_env)
        self.model = model
        self.api_base = api_base
        self.api_key_env = api_key_env
        self.timeout_s = timeout_s
        self.max_retries = max_retries
        self.backoff_s = backoff_s
        self.max_concurrency = max_concurrency
        self.price = price
        self.spend = spend
        self._sleep = sleep
        folder = Path(cache_dir) if cache_dir is not None else _default_cache_dir()
        self._cache = _ResponseCache(folder / "api_responses.sqlite") if use_cache else None
        self.calls_made = 0
        #: Shared by every call of this client: a dead server stops them all.
        self.breaker = CircuitBreaker(model, api_base, api_key_env)

    # -- one call -----------------------------------------------------------------------------

    def cost(self, input_tokens: int, output_tokens: int) -> float:
        """US dollars of a call with these token counts."""
        return (input_tokens * self.price[0] + output_tokens * self.price[1]) / 1e6

    def _key(self, request: dict[str, Any]) -> str:
        payload = json.dumps(
            {"model": self.model, "api_base": self.api_base, **request}, sort_keys=True
        )
        return hashlib.sha256(payload.encode()).hexdigest()

    def complete(
        self,
        messages: list[dict[str, str]],
        *,
        max_tokens: int = 64,
        response_format: dict[str, Any] | None = None,
        use_cache: bool = True,
    ) -> ApiCall:
        """One chat completion (temperature 0), from the cache when it holds the request."""
        request = {
            "messages": messages,
            "max_tokens": max_tokens,
            "response_format": response_format,
            "temperature": 0,
        }
        key = self._key(request)
        if self._cache is not None and use_cache:
            hit = self._cache.get(key)
            if hit is not None:
                return ApiCall(
                    text=str(hit["text"]),
                    input_tokens=int(hit["input_tokens"]),
                    output_tokens=int(hit["output_tokens"]),
                    latency_s=float(hit["latency_s"]),
                    cached=True,
                )
        booked = 0.0
        if self.spend is not None:
            prompt = sum(estimate_tokens(m.get("content", "")) for m in messages)
            booked = self.cost(prompt, max_tokens)
            self.spend.reserve(booked)
        try:
            call = self._call_with_retries(request)
        except BaseException:
            if self.spend is not None:
                self.spend.settle(booked, 0.0)
            raise
        if self.spend is not None:
            self.spend.settle(booked, self.cost(call.input_tokens, call.output_tokens))
        if self._cache is not None:
            self._cache.put(
                key,
                {
                    "text": call.text,
                    "input_tokens": call.input_tokens,
                    "output_tokens": call.output_tokens,
                    "latency_s": call.latency_s,
                },
            )
        return call

    def _call_with_retries(self, request: dict[str, Any]) -> ApiCall:
        litellm = import_litellm()
        kwargs: dict[str, Any] = {
            "model": self.model,
            "messages": request["messages"],
            "max_tokens": request["max_tokens"],
            "temperature": request["temperature"],
            "timeout": self.timeout_s,
            "num_retries": 0,
        }
        if request["response_format"] is not None:
            kwargs["response_format"] = request["response_format"]
        if self.api_base:
            kwargs["api_base"] = self.api_base
        if self.api_key_env:
            kwargs["api_key"] = os.environ[self.api_key_env]
        response, latency, attempts = call_with_retries(
            lambda: litellm.completion(**kwargs),
            model=self.model,
            api_key_env=self.api_key_env,
            max_retries=self.max_retries,
            backoff_s=self.backoff_s,
            sleep=self._sleep,
            breaker=self.breaker,
        )
        self.calls_made += 1
        usage = getattr(response, "usage", None)
        text = response.choices[0].message.content or ""
        return ApiCall(
            text=str(text),
            input_tokens=int(getattr(usage, "prompt_tokens", 0) or 0),
            output_tokens=int(getattr(usage, "completion_tokens", 0) or 0),
            latency_s=latency,
            attempts=attempts,
        )

    def _backoff(self, attempt: int, exc: Exception) -> float:
        return backoff_wait(self.backoff_s, attempt, exc)

    # -- many calls ---------------------------------------------------------------------------

    def complete_many(
        self,
        requests: Sequence[list[dict[str, str]]],
        *,
        max_tokens: int = 64,
        response_format: dict[str, Any] | None = None,
        on_progress: Callable[[int], None] | None = None,
    ) -> list[ApiCall | Exception]:
        """Every request, ``max_concurrency`` at a time, in order; a failed one is its
        exception. Once the spend cap stops one call, the calls not yet started are not made
        either (their results are ``SpendLimitReached``). A refused key or request
        (``ConfigError``) or a tripped breaker (``ApiUnreachable``) stops every call and is
        raised. Progress goes to ``on_progress(done)`` and to ``report_calls``' hook."""
        results: list[ApiCall | Exception] = [SpendLimitReached("not started")] * len(requests)
        stopped = threading.Event()
        done = [0, 0]  # calls back, of them failed
        lock = threading.Lock()

        def one(i: int) -> None:
            if stopped.is_set():
                results[i] = SpendLimitReached("not started: the spend cap was reached")
                return
            try:
                results[i] = self.complete(
                    requests[i], max_tokens=max_tokens, response_format=response_format
                )
            except SpendLimitReached as exc:
                stopped.set()
                results[i] = exc
            except (ConfigError, ApiUnreachable):
                stopped.set()
                raise
            except ApiCallFailed as exc:
                results[i] = exc
            with lock:
                done[0] += 1
                done[1] += isinstance(results[i], ApiCallFailed)
                if on_progress is not None:
                    on_progress(done[0])
                report_progress("calls", done[0], len(requests), done[1])

        if requests:
            # The first call alone: LiteLLM builds and caches its HTTP client on the first call
            # to a base URL, and threads racing to build it leak connections.
            one(0)
        with ThreadPoolExecutor(max_workers=self.max_concurrency) as pool:
            for future in [pool.submit(one, i) for i in range(1, len(requests))]:
                future.result()
        return results


def backoff_wait(backoff_s: float, attempt: int, exc: Exception) -> float:
    """Seconds to wait before retry ``attempt + 1``: ``backoff_s`` doubled per attempt, at
    least the ``Retry-After`` the server sent (up to 60 s)."""
    wait = float(backoff_s) * 2.0**attempt
    retry_after = _retry_after(exc)
    if retry_after is not None:
        wait = max(wait, min(retry_after, _MAX_RETRY_AFTER_S))
    return wait


def call_with_retries(
    call: Callable[[], Any],
    *,
    model: str,
    api_key_env: str | None,
    max_retries: int,
    backoff_s: float,
    sleep: Callable[[float], None] = time.sleep,
    breaker: CircuitBreaker | None = None,
) -> tuple[Any, float, int]:
    """``call()`` (one LiteLLM request) with the retry policy of every API model here.

    Retries 429, 5xx, timeouts and dropped connections ``max_retries`` times with exponential
    backoff (``backoff_wait``); a refused key (401, 403), a bad request or an unknown model is
    a ``ConfigError`` at once; ``ApiCallFailed`` when every try failed. ``breaker`` (shared by
    a client's calls; default: one for this call alone) sees every try and raises
    ``ApiUnreachable`` once the server looks down (``crossover.models.breaker``). Returns the
    response, the seconds the successful try took, and the number of tries.
    """
    litellm = import_litellm()
    if breaker is None:
        breaker = CircuitBreaker(model, None, api_key_env)
    retryable = (
        litellm.RateLimitError,
        litellm.InternalServerError,
        litellm.ServiceUnavailableError,
        litellm.APIConnectionError,
        litellm.Timeout,
    )
    last: Exception | None = None
    for attempt in range(max_retries + 1):
        breaker.check()
        start = time.perf_counter()
        try:
            response = call()
        except (litellm.AuthenticationError, litellm.PermissionDeniedError) as exc:
            raise breaker.refused("key", _message(exc)) from None
        except (litellm.BadRequestError, litellm.NotFoundError) as exc:
            raise breaker.refused("request", _message(exc)) from None
        except retryable as exc:
            last = exc
            reason = breaker.try_failed(exc)
            if attempt == max_retries:
                break
            wait = backoff_wait(backoff_s, attempt, exc)
            if reason in ("connection refused", "host name not resolved"):
                wait = min(wait, REFUSED_WAIT_S)
            if sleep is time.sleep:
                breaker.wait(wait)  # a trip elsewhere ends the wait
            else:
                sleep(wait)
            continue
        breaker.answered()
        return response, time.perf_counter() - start, attempt + 1
    message = f"{type(last).__name__}: {_message(last)}"
    breaker.call_failed(last or Exception(), message)
    raise ApiCallFailed(f"{model}: no answer after {max_retries + 1} tries ({message})")


def _message(exc: BaseException | None) -> str:
    if exc is None:
        return "no error"
    return scrub_secrets(str(getattr(exc, "message", None) or exc))[:300]


def _retry_after(exc: Exception) -> float | None:
    response = getattr(exc, "response", None)
    headers = getattr(response, "headers", None)
    if not headers:
        return None
    value = headers.get("retry-after")
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None
