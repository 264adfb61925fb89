"""A circuit breaker for the calls to one model behind an API: a dead server stops a run in
seconds, with one line that says where and what to check, instead of failing every row.

``CircuitBreaker`` is shared by the threads of one client (``LlmClient``, ``ApiEmbedder``) and
consulted by ``crossover.models.llm.call_with_retries`` around every try. It keeps two counts:

- **tries in a row that reached nothing**: connection refused, a host name that does not
  resolve, a timeout. ``max_unreachable`` of them (5 by default) trip it: at a dead port,
  where the retries wait at most ``REFUSED_WAIT_S`` each, that is one call's tries, about 4 s;
- **calls in a row that failed after all their retries** (5xx, 429): ``max_failed_calls`` of
  them (5) trip it, since a server that fails every call measures nothing.

Any answer resets both: an answer that cannot be parsed is the model's error on that row (it
counts against the strategy's score), not the server's. An HTTP error response resets the
first count only: something did answer. Once tripped, every later try raises
``ApiUnreachable`` at once and the waits between retries end early. A refused key (401/403)
or an unknown model (404) stops the calls at the first answer, as a ``ConfigError``; the
message is built here too so that all of them name the server and what to check.
"""

from __future__ import annotations

import socket
import threading

from crossover.errors import ConfigError, CrossoverError

__all__ = [
    "MAX_FAILED_CALLS",
    "MAX_UNREACHABLE",
    "REFUSED_WAIT_S",
    "ApiUnreachable",
    "CircuitBreaker",
    "key_variable",
    "unreachable_reason",
]

#: Tries in a row that reached nothing before the breaker trips.
MAX_UNREACHABLE = 5
#: Calls in a row that failed after their retries before the breaker trips.
MAX_FAILED_CALLS = 5
#: The longest wait before retrying a refused connection or an unknown host: the answer is
#: immediate and certain, so only a server that is starting again is worth waiting for.
REFUSED_WAIT_S = 1.0


class ApiUnreachable(CrossoverError):
    """The calls to a model behind an API were stopped: nothing answered, or every call
    failed. Answers already paid for stay in the response cache."""


def unreachable_reason(exc: BaseException) -> str | None:
    """Why a try reached no server ("connection refused", "timed out" ...), from the
    exception and its causes; None when a server answered (an HTTP error response)."""
    import httpx

    seen: BaseException | None = exc
    found: str | None = None
    for _ in range(12):  # the chain LiteLLM -> openai -> httpx -> httpcore -> OSError
        if seen is None:
            break
        if isinstance(seen, ConnectionRefusedError):
            return "connection refused"
        if isinstance(seen, socket.gaierror):
            return "host name not resolved"
        if isinstance(seen, TimeoutError | httpx.TimeoutException):
            return "timed out"
        name = type(seen).__name__
        if "Timeout" in name:
            found = found or "timed out"
        elif name in ("APIConnectionError", "ConnectError", "RemoteProtocolError", "ReadError"):
            found = found or "connection error"
        seen = seen.__cause__ or seen.__context__
    return found


def key_variable(model: str, api_key_env: str | None) -> str:
    """The environment variable the key of ``model`` is read from: ``api_key_env``, else
    the provider's usual one (``openai/...`` -> ``OPENAI_API_KEY``)."""
    if api_key_env:
        return api_key_env
    provider = model.split("/", 1)[0] if "/" in model else "openai"
    return provider.upper().replace("-", "_") + "_API_KEY"


class CircuitBreaker:
    """Trips after ``max_unreachable`` tries in a row reached nothing or ``max_failed_calls``
    calls in a row failed after their retries (module docstring); thread-safe.

    Parameters
    ----------
    model, api_base, api_key_env :
        What the messages name: the model, the server (None: the provider's own), the key's
        variable.
    base_option : str
        The option that sets the server, for the advice (``--api-base``).
    """

    def __init__(
        self,
        model: str,
        api_base: str | None = None,
        api_key_env: str | None = None,
        *,
        base_option: str = "--api-base",
        max_unreachable: int = MAX_UNREACHABLE,
        max_failed_calls: int = MAX_FAILED_CALLS,
    ) -> None:
        self.model = model
        self.api_base = api_base
        self.api_key_env = api_key_env
        self.base_option = base_option
        self.max_unreachable = max_unreachable
        self.max_failed_calls = max_failed_calls
        self.unreachable_in_a_row = 0
        self.failed_calls_in_a_row = 0
        self._lock = threading.Lock()
        self._tripped = threading.Event()
        self._error: ApiUnreachable | None = None

    @property
    def where(self) -> str:
        """The server, for a message: its URL, else the provider's API of the model."""
        if self.api_base:
            return f"{_display_url(self.api_base)} ({self.model})"
        return f"{self.model}'s API"

    @property
    def _at(self) -> str:
        if self.api_base:
            return f"at {_display_url(self.api_base)} for {self.model}"
        return f"for {self.model} at its provider's API"

    @property
    def tripped(self) -> bool:
        return self._tripped.is_set()

    def check(self) -> None:
        """Raise the trip's ``ApiUnreachable`` once the breaker has tripped."""
        if self._error is not None:
            raise ApiUnreachable(str(self._error))

    def wait(self, seconds: float) -> None:
        """Sleep ``seconds`` between retries, woken early (and raising) by a trip."""
        self._tripped.wait(seconds)
        self.check()

    def answered(self) -> None:
        """A try got an answer: both counts start again."""
        with self._lock:
            self.unreachable_in_a_row = 0
            self.failed_calls_in_a_row = 0

    def try_failed(self, exc: BaseException) -> str | None:
        """A try failed with ``exc``: why it reached nothing (None when a server answered);
        raises ``ApiUnreachable`` when that trips the breaker."""
        reason = unreachable_reason(exc)
        with self._lock:
            if reason is None:  # an HTTP error response: the server is there
                self.unreachable_in_a_row = 0
                return None
            self.unreachable_in_a_row += 1
            if self.unreachable_in_a_row < self.max_unreachable or self._error is not None:
                return reason
            if self.api_base:
                advice = f"check {self.base_option} and that the server is running and reachable"
            else:
                advice = "check this machine's network and the provider's status page"
            if reason == "timed out":  # reachable perhaps, but too slow for the timeout
                advice += ", and that it is not overloaded (fewer calls at once: --llm-concurrency)"
            self._trip(
                f"nothing answered {self._at} ({reason}) after "
                f"{self.unreachable_in_a_row} tries in a row: {advice}; answers already paid "
                "for are kept in the response cache"
            )
        self.check()
        return reason

    def call_failed(self, exc: BaseException, message: str) -> None:
        """A call failed after its retries (``message`` says how); raises ``ApiUnreachable``
        when that trips the breaker."""
        with self._lock:
            self.failed_calls_in_a_row += 1
            if self.failed_calls_in_a_row < self.max_failed_calls or self._error is not None:
                return
            advice = "check the server's logs or the provider's status page"
            if "RateLimit" in type(exc).__name__:
                advice = "lower --llm-concurrency, or check the account's rate limits"
            elif "missing credentials" in message.lower():  # the client sent nothing at all
                advice = (
                    "set the provider's API key in its environment variable (OPENAI_API_KEY "
                    "for openai/...), or name another with --api-key-env; a server of your "
                    "own that takes no key still needs one set, to any value"
                )
            self._trip(
                f"{self.where} failed {self.failed_calls_in_a_row} calls in a row after their "
                f"retries ({message}): {advice}; answers already paid for are kept in the "
                "response cache"
            )
        self.check()

    def refused(self, what: str, detail: str) -> ConfigError:
        """The error for a refused key (``what="key"``) or request: the server, the reason,
        what to check. The caller raises it; the breaker trips so other threads stop too."""
        if what == "key":
            text = (
                f"{self.where} refused the key ({detail}); check the key in "
                f"${key_variable(self.model, self.api_key_env)}"
            )
        else:
            text = (
                f"{self.where} refused the request ({detail}); check the model name (--llm / "
                f"--embedding-api) and {self.base_option}"
            )
        with self._lock:
            if self._error is None:
                self._trip(text)
        return ConfigError(text)

    def _trip(self, text: str) -> None:
        self._error = ApiUnreachable(" ".join(text.split()))  # one line
        self._tripped.set()


def _display_url(url: str) -> str:
    """``url`` without credentials, query or fragment: what a message may show."""
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(url.strip())
    host = parts.hostname or ""
    if parts.port is not None:
        host = f"{host}:{parts.port}"
    return urlunsplit((parts.scheme, host, parts.path, "", "")) or url
