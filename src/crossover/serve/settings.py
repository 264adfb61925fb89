"""``ServeSettings``: the limits and options of one served model, validated once."""

from __future__ import annotations

import os
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from crossover.errors import ConfigError

__all__ = ["ServeSettings"]

#: Environment variable that carries the settings, as JSON, to uvicorn's worker processes.
SETTINGS_ENV = "CROSSOVER_SERVE_SETTINGS"


class ServeSettings(BaseModel):
    """What a served model accepts and how it groups work.

    Parameters
    ----------
    max_batch : int, default=256
        Most texts (or, for a table model, rows) in one request; a longer batch is answered
        422.
    max_text_chars : int, default=10_000
        Most characters in one text (or in one string value of a table row); a longer one is
        answered 422.
    api_key_env : str or None, default=None
        Name of the environment variable that holds the API key. When set, every ``/v1``
        route needs the key (``Authorization: Bearer KEY`` or ``X-API-Key: KEY``). The key
        itself is never stored here, so these settings can be logged and passed on safely.
    max_wait_ms : float, default=5
        Longest a request to an embedding model or an image model waits for others to share
        its model call (their networks cost much less per input in a batch); other models
        never wait.
    max_size : int, default=64
        Most texts (or table rows) in one model call (a micro-batch); a request larger than
        this runs alone.
    max_body_mb : float, default=4
        Largest request body, in MiB (2**20 bytes), counted while it is read: a
        ``Content-Length`` over it is answered 413 before any of the body is read, a streamed
        body as soon as it passes it; the rest is read and dropped, never kept (so that the
        client gets the answer), for at most ``request_timeout_s``. The default holds a full
        batch at the default limits (256 texts of 10,000 ASCII characters, 2.6 MB as JSON); a
        server with larger ``max_batch`` or ``max_text_chars`` may need more.
    request_timeout_s : float, default=30
        Longest a client may take to send a request's headers (counted from the connection's
        opening, or from the end of the previous answer on a kept-alive connection), and then
        again its body: past it, the request is answered 408 and the connection closed (a
        connection that has sent nothing is closed without an answer).
    max_connections : int, default=512
        Most open connections one server process serves at once: a request on a connection
        beyond it is answered 503 and that connection closed. With ``--workers N``, each
        process has this bound.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    max_batch: int = Field(256, ge=1, le=100_000)
    max_text_chars: int = Field(10_000, ge=1, le=10_000_000)
    api_key_env: str | None = Field(None, min_length=1, pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")
    max_wait_ms: float = Field(5.0, ge=0, le=1_000)
    max_size: int = Field(64, ge=1, le=100_000)
    max_body_mb: float = Field(4.0, gt=0, le=1_024)
    request_timeout_s: float = Field(30.0, gt=0, le=3_600)
    max_connections: int = Field(512, ge=1, le=100_000)

    @classmethod
    def build(cls, **values: Any) -> ServeSettings:
        """Settings from keyword values; a ``ConfigError`` that names the bad value otherwise."""
        try:
            return cls(**{k: v for k, v in values.items() if v is not None})
        except ValidationError as exc:
            first = exc.errors()[0]
            name = ".".join(str(p) for p in first["loc"])
            raise ConfigError(
                f"serve setting {name}={first.get('input')!r}: {first['msg']}"
            ) from None

    @property
    def max_body_bytes(self) -> int:
        """``max_body_mb`` in bytes."""
        return int(self.max_body_mb * 2**20)

    def api_key(self) -> str | None:
        """The key from ``$api_key_env``; ``None`` when no key is configured.

        Raises ``ConfigError`` when the variable is named but unset or empty: serving without
        the key the operator asked for would be an open door.
        """
        if self.api_key_env is None:
            return None
        key = os.environ.get(self.api_key_env, "")
        if not key.strip():
            raise ConfigError(
                f"--api-key-env names ${self.api_key_env}, which is not set or empty; "
                "export the key in that variable first"
            )
        return key

    def to_env(self) -> str:
        return self.model_dump_json()

    @classmethod
    def from_env(cls) -> ServeSettings:
        raw = os.environ.get(SETTINGS_ENV)
        return cls.model_validate_json(raw) if raw else cls()
