"""Running the app under uvicorn: TCP_NODELAY on every connection, JSON-lines logs, workers.

Why a protocol of our own: asyncio turns Nagle's algorithm off (``TCP_NODELAY``) on accepted
connections only when the listening socket reports ``proto == IPPROTO_TCP``. Before 0.55,
uvicorn's ``--workers N`` supervisor bound the socket itself with ``proto`` 0, so every worker's
connections kept Nagle on, and each keep-alive reply after the first waited ~40 ms for the
client's delayed ACK (uvicorn issue #3149): a fast model fell to a few hundred requests a
second. ``NoDelayH11Protocol`` sets the option on each accepted connection itself, whatever
the listener and whatever the installed uvicorn does, so both the single-process and the
workers paths answer without that wait.
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

from uvicorn.protocols.http.h11_impl import H11Protocol

from crossover.serve.settings import SETTINGS_ENV, ServeSettings

if TYPE_CHECKING:
    from fastapi import FastAPI

    from crossover.serve.app import ServedModel

__all__ = ["JsonFormatter", "NoDelayH11Protocol", "app_from_env", "log_config", "run"]

MODEL_DIR_ENV = "CROSSOVER_SERVE_MODEL_DIR"
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
        "http": NoDelayH11Protocol,
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
