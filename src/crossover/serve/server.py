"""Running the app under uvicorn: the protocol (TCP_NODELAY, header timeout, connection limit),
JSON-lines logs, workers.

Why a protocol of our own: asyncio turns Nagle's algorithm off (``TCP_NODELAY``) on accepted
connections only when the listening socket reports ``proto == IPPROTO_TCP``. Before 0.55,
uvicorn's ``--workers N`` supervisor bound the socket itself with ``proto`` 0, so every worker's
connections kept Nagle on, and each keep-alive reply after the first waited ~40 ms for the
client's delayed ACK (uvicorn issue #3149): a fast model fell to a few hundred requests a
second. ``NoDelayH11Protocol`` sets the option on each accepted connection itself, whatever
the listener and whatever the installed uvicorn does, so both the single-process and the
workers paths answer without that wait.

``CrossoverH11Protocol`` adds that step to two limits uvicorn lacks or cannot report (see
:mod:`crossover.serve.limits`): a timeout on a request's headers (uvicorn times out an idle
kept-alive connection only until its first byte, and a new connection never), and the
connection limit, checked as uvicorn's ``limit_concurrency`` checks it but answered by the app,
so that the 503 has the project's error shape and is counted in ``/metrics``.
"""

from __future__ import annotations

import asyncio
import json
import logging
import logging.config
import os
import socket
import traceback
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol

from crossover.serve.limits import (
    LIMITS_STATE,
    OVER_MAX_CONNECTIONS,
    ConnectionLimits,
    headers_timeout_response,
)
from crossover.serve.settings import SETTINGS_ENV, ServeSettings

if TYPE_CHECKING:
    from fastapi import FastAPI

    from crossover.serve.app import ServedModel

__all__ = [
    "CrossoverH11Protocol",
    "JsonFormatter",
    "NoDelayH11Protocol",
    "app_from_env",
    "log_config",
    "run",
]

MODEL_DIR_ENV = "CROSSOVER_SERVE_MODEL_DIR"
#: The module attribute :func:`run` reads its protocol class from (``benchmarks/serve.py``
#: swaps it for uvicorn's own to measure what the protocol costs).
PROTOCOL_NAME = "CrossoverH11Protocol"
logger = logging.getLogger("crossover.serve")


def set_nodelay(transport: asyncio.BaseTransport) -> None:
    """Turn Nagle's algorithm off on the TCP connection under ``transport`` (if it is TCP)."""
    sock = transport.get_extra_info("socket")
    if sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


class NoDelayH11Protocol(H11Protocol):
    """uvicorn's h11 protocol, with ``TCP_NODELAY`` set on each accepted connection."""

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        set_nodelay(transport)
        super().connection_made(transport)


class CrossoverH11Protocol(NoDelayH11Protocol):
    """uvicorn's h11 protocol with ``TCP_NODELAY``, a header timeout and a connection limit.

    The limits come from the app's lifespan state (:data:`~crossover.serve.limits.LIMITS_STATE`);
    an app that sets none is served as by :class:`NoDelayH11Protocol`.

    - Headers: a request's headers must be complete within ``request_timeout_s`` of the
      connection's opening, or of the end of the previous answer on a kept-alive connection
      (where uvicorn's shorter keep-alive timeout still closes one that sends nothing). Past
      it, a connection that has sent part of a request is answered 408 and closed; one that
      has sent nothing is closed.
    - The rest of a refused body: after an answer sent before its request's body was read
      (the 413 of a body over the limit), uvicorn reads the rest of the body and drops it, so
      that the client, which reads the answer once it has sent its body, gets it (closing at
      once would reset the connection under it). That rest, and then the next request's
      headers, must arrive within ``request_timeout_s`` of the answer, or the connection is
      closed.
    - Connections: a request arriving while more than ``max_connections`` connections are open
      in this process, or more requests than that are running, is marked
      (:data:`~crossover.serve.limits.OVER_MAX_CONNECTIONS`) for the app to answer 503.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        limits = self.app_state.get(LIMITS_STATE)
        self.limits = limits if isinstance(limits, ConnectionLimits) else None
        self.timer: asyncio.TimerHandle | None = None
        self.headers_bytes = 0
        if self.limits is not None:
            self.app = self._checked_app(self.app, self.limits.max_connections)

    def _checked_app(self, app: Any, most: int) -> Any:
        async def checked(scope: Any, receive: Any, send: Any) -> None:
            # Both sets include this connection and this request's task.
            if len(self.connections) > most or len(self.tasks) > most:
                scope[OVER_MAX_CONNECTIONS] = True
            await app(scope, receive, send)

        return checked

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        if self.limits is not None:
            self.limits.metrics.connections.inc()
            self._arm_timer()

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_timer()
        if self.limits is not None:
            self.limits.metrics.connections.dec()
        super().connection_lost(exc)

    def _waiting(self) -> bool:
        """Whether the connection waits for a request's headers, or drops a refused body."""
        their, ours = self.conn.their_state, self.conn.our_state
        return their is h11.IDLE or (their is h11.SEND_BODY and ours is h11.DONE)

    def data_received(self, data: bytes) -> None:
        if self.conn.their_state is h11.IDLE:
            self.headers_bytes += len(data)
        super().data_received(data)
        if self.timer is not None and not self._waiting():
            self._cancel_timer()  # a request's headers are in

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if self.limits is not None and not self.transport.is_closing() and self._waiting():
            self._arm_timer()

    def _arm_timer(self) -> None:
        assert self.limits is not None
        self._cancel_timer()
        self.headers_bytes = 0
        self.timer = self.loop.call_later(self.limits.request_timeout_s, self._timed_out)

    def _cancel_timer(self) -> None:
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None

    def _timed_out(self) -> None:
        self.timer = None
        if self.limits is None or self.transport.is_closing() or not self._waiting():
            return  # a request is in (its body has its own timeout, in the app)
        if self.conn.their_state is h11.IDLE:  # else the refused body's 413 is counted
            self.limits.metrics.refused.labels("headers_timeout").inc()
            if self.headers_bytes:
                self.transport.write(headers_timeout_response(self.limits.request_timeout_s))
        self.transport.close()


class JsonFormatter(logging.Formatter):
    """One JSON object per line: ts, level, logger, pid, message, and the record's ``fields``.

    An exception is logged by its type and traceback frames only: its message may quote what
    a client sent.
    """

    def format(self, record: logging.LogRecord) -> str:
        payload: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "pid": record.process,
            "message": record.getMessage(),
        }
        fields = getattr(record, "fields", None)
        if isinstance(fields, dict):
            payload.update(fields)
        if record.exc_info and record.exc_info[0] is not None:
            payload["error"] = record.exc_info[0].__name__
            payload["traceback"] = "".join(traceback.format_tb(record.exc_info[2]))
        return json.dumps(payload, default=str)


def log_config(level: str = "info") -> dict[str, Any]:
    """``logging.config.dictConfig`` input: uvicorn's and crossover's logs as JSON lines (the
    server's own, and the library's warnings, such as a model's version differences when each
    ``--workers`` process loads it)."""
    handler = {"handlers": ["json"], "level": level.upper(), "propagate": False}
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"json": {"()": f"{__name__}.JsonFormatter"}},
        "handlers": {
            "json": {
                "class": "logging.StreamHandler",
                "formatter": "json",
                "stream": "ext://sys.stderr",
            }
        },
        "loggers": {
            "uvicorn": handler,
            "uvicorn.error": {"level": level.upper()},
            # uvicorn's access log prints the raw path with its query string; ours does not.
            "uvicorn.access": {"handlers": [], "level": "WARNING", "propagate": False},
            "crossover": handler,
        },
    }


def app_from_env() -> FastAPI:
    """The app factory each ``--workers`` process calls: model dir and settings from env."""
    from crossover.serve.app import create_app

    return create_app(os.environ[MODEL_DIR_ENV], ServeSettings.from_env())


def run(
    model_dir: str | Path,
    settings: ServeSettings,
    *,
    host: str = "127.0.0.1",
    port: int = 8000,
    workers: int = 1,
    model: ServedModel | None = None,
    log_level: str = "info",
) -> None:
    """Serve ``model_dir`` until interrupted.

    With ``workers == 1`` the app runs in this process (with ``model`` if already loaded);
    with more, uvicorn starts that many processes, each building the app from
    :func:`app_from_env` (the settings travel as JSON in the environment; the API key stays in
    its own variable and is read by each worker).
    """
    import uvicorn

    from crossover.serve.app import create_app

    config = log_config(log_level)
    logging.config.dictConfig(config)
    options: dict[str, Any] = {
        "host": host,
        "port": port,
        "http": globals()[PROTOCOL_NAME],
        "log_config": config,
        "log_level": log_level,
        "access_log": False,
        "server_header": False,
        "timeout_graceful_shutdown": 10,
    }
    logger.info(
        "starting",
        extra={
            "fields": {
                "model_dir": str(model_dir),
                "host": host,
                "port": port,
                "workers": workers,
                "settings": settings.model_dump(),
            }
        },
    )
    if workers == 1:
        loader = (lambda _: model) if model is not None else None
        uvicorn.run(create_app(model_dir, settings, loader=loader), **options)
        return
    os.environ[MODEL_DIR_ENV] = str(Path(model_dir).resolve())
    os.environ[SETTINGS_ENV] = settings.to_env()
    uvicorn.run(f"{__name__}:app_from_env", factory=True, workers=workers, **options)
