"""uvicorn integration: TCP_NODELAY on the path ``--workers`` takes, and JSON-lines logs."""

from __future__ import annotations

import asyncio
import json
import logging
import socket
from typing import Any

import pytest
import uvicorn
from uvicorn.protocols.http.h11_impl import H11Protocol
from uvicorn.server import ServerState

from crossover.serve.server import JsonFormatter, NoDelayH11Protocol, log_config


async def _nodelay_of_accepted_connection(protocol: type[H11Protocol]) -> int:
    """TCP_NODELAY of a connection accepted on a listener bound the way ``--workers`` binds it."""

    async def app(scope: Any, receive: Any, send: Any) -> None:  # never called
        raise AssertionError

    config = uvicorn.Config(app, host="127.0.0.1", port=0, log_config=None)
    config.load()
    listener = config.bind_socket()  # proto 0, as the multiprocess supervisor's socket
    seen: asyncio.Future[int] = asyncio.get_running_loop().create_future()
    accepted: list[asyncio.Transport] = []

    class Probe(protocol):  # type: ignore[valid-type,misc]
        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            super().connection_made(transport)
            accepted.append(transport)
            sock = transport.get_extra_info("socket")
            if not seen.done():
                seen.set_result(sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))

    server = await asyncio.get_running_loop().create_server(
        lambda: Probe(config=config, server_state=ServerState(), app_state={}), sock=listener
    )
    try:
        _, writer = await asyncio.open_connection(*listener.getsockname()[:2])
        try:
            return await asyncio.wait_for(seen, 10)
        finally:
            writer.close()
            await writer.wait_closed()
    finally:
        for transport in accepted:
            transport.close()
        server.close()
        await server.wait_closed()
        await asyncio.sleep(0)  # let the closed transports release their sockets


def test_nodelay_protocol_turns_nagle_off_for_a_prebound_socket() -> None:
    # crossover's promise, whatever the installed uvicorn does itself (before 0.55 it left
    # Nagle on for a socket bound the way --workers binds it: uvicorn issue #3149).
    assert asyncio.run(_nodelay_of_accepted_connection(NoDelayH11Protocol)) != 0


def test_json_formatter_writes_fields_and_hides_exception_messages() -> None:
    record = logging.LogRecord("crossover.serve", logging.ERROR, __file__, 1, "failed", (), None)
    record.fields = {"route": "/v1/predict", "status": 500}
    secret = "the private " + "text"
    try:
        raise ValueError(secret)
    except ValueError:
        import sys

        record.exc_info = sys.exc_info()
    line = JsonFormatter().format(record)
    payload = json.loads(line)
    assert payload["message"] == "failed"
    assert payload["route"] == "/v1/predict" and payload["status"] == 500
    assert payload["error"] == "ValueError"
    assert "private" not in line


def test_log_config_is_accepted_by_dictconfig(capsys: pytest.CaptureFixture[str]) -> None:
    import logging.config

    logging.config.dictConfig(log_config("info"))
    try:
        logging.getLogger("crossover.serve").info("hello", extra={"fields": {"n": 1}})
        line = capsys.readouterr().err.strip().splitlines()[-1]
    finally:
        for name in ("crossover", "uvicorn"):
            logger = logging.getLogger(name)
            logger.handlers.clear()
            logger.propagate = True
    assert json.loads(line)["n"] == 1
