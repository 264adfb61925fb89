"""The server's limits on what a client may send and how slowly: body size, time, connections.

Two layers enforce them, each where it can see what it bounds:

- :class:`RequestLimitsMiddleware` (ASGI, in the app): the body's size, checked against the
  ``Content-Length`` before any of the body is read and counted while it streams, and the
  time its body takes to arrive. It answers 413 or 408 in the project's error shape, and the
  503 for a request the protocol found over the connection limit. The app never reads the
  rest of a body it refused; the protocol drops it as it comes, for a bounded time.
- ``CrossoverH11Protocol`` (:mod:`crossover.serve.server`, the uvicorn protocol): the time a
  request's headers take, and the connection limit. uvicorn starts no timer on a new
  connection, and a kept-alive connection's timer stops at its first byte, so a client that
  trickles headers is otherwise never timed out; headers never reach the app, so this check
  cannot live there. It also bounds how long the rest of a refused body may take.

The protocol finds the limits and the app's metrics in the lifespan state
(:data:`LIMITS_STATE`), which the app fills at startup in each worker process.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from crossover.serve.errors import error_response
from crossover.serve.metrics import ServeMetrics

__all__ = [
    "LIMITS_STATE",
    "OVER_MAX_CONNECTIONS",
    "ConnectionLimits",
    "RequestLimitsMiddleware",
    "headers_timeout_response",
]

#: Key of the lifespan state entry that carries :class:`ConnectionLimits` to the protocol.
LIMITS_STATE = "crossover.connection_limits"
#: Scope key the protocol sets on a request that arrived over the connection limit.
OVER_MAX_CONNECTIONS = "crossover.over_max_connections"


@dataclass(frozen=True)
class ConnectionLimits:
    """What the protocol enforces, and where it counts what it refuses."""

    request_timeout_s: float
    max_connections: int
    metrics: ServeMetrics


def headers_timeout_response(timeout_s: float) -> bytes:
    """The raw HTTP/1.1 408 sent when a request's headers did not arrive in time.

    Written by the protocol, not by h11 (which has no request to answer yet).
    """
    body = json.dumps(
        {
            "error": {
                "type": "request_timeout",
                "message": f"the request's headers did not arrive within {timeout_s:g} s; "
                "send the whole request at once (see --request-timeout-s)",
            }
        }
    ).encode()
    head = (
        "HTTP/1.1 408 Request Timeout\r\n"
        "content-type: application/json\r\n"
        f"content-length: {len(body)}\r\n"
        "connection: close\r\n\r\n"
    )
    return head.encode("ascii") + body


def _content_length(scope: Scope) -> int | None:
    for name, value in scope["headers"]:
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None  # the server refuses it before the app sees it
    return None


_CLOSE = {"connection": "close"}
_DISCONNECT: Message = {"type": "http.disconnect"}


class RequestLimitsMiddleware:
    """Refuse a body over ``max_body_bytes`` (413) or slower than ``body_timeout_s`` (408).

    The body is never buffered here: a request whose ``Content-Length`` is over the limit is
    answered before the app runs; otherwise each chunk the app reads is counted, and once the
    total passes the limit, or the body has not ended within ``body_timeout_s`` of the app
    first being called, the app is told the client disconnected and whatever it answers is
    dropped for the 413 or 408.

    The 408 and the 503 close the connection. The 413 does not: the server reads what is left
    of the body and drops it (never keeping it) for up to the request timeout, because a
    client reads an answer only once it has sent its body, and closing a connection with
    unread data resets it, which many clients report instead of the 413.
    """

    def __init__(
        self, app: ASGIApp, max_body_bytes: int, body_timeout_s: float, metrics: ServeMetrics
    ) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.body_timeout_s = body_timeout_s
        self.metrics = metrics

    def _too_large(self, what: str) -> tuple[int, str, str]:
        self.metrics.refused.labels("body_too_large").inc()
        mb = self.max_body_bytes / 2**20
        return (
            413,
            "body_too_large",
            f"the request body {what} this server's limit of {mb:g} MiB "
            f"({self.max_body_bytes} bytes); send smaller batches (see --max-body-mb)",
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if scope.get(OVER_MAX_CONNECTIONS):
            self.metrics.refused.labels("max_connections").inc()
            message = "the server has as many connections as it serves at once; retry later"
            await error_response(503, "overloaded", message, headers=_CLOSE)(scope, receive, send)
            return
        length = _content_length(scope)
        if length is not None and length > self.max_body_bytes:
            status, kind, message = self._too_large(f"is {length} bytes, over")
            await error_response(status, kind, message)(scope, receive, send)
            return

        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.body_timeout_s
        received = 0
        body_done = False
        refusal: tuple[int, str, str] | None = None
        started = False

        async def limited_receive() -> Message:
            nonlocal received, body_done, refusal
            if refusal is not None:
                return _DISCONNECT
            if body_done:  # waiting for a disconnect: no deadline
                return await receive()
            try:
                message = await asyncio.wait_for(receive(), max(0.0, deadline - loop.time()))
            except TimeoutError:
                self.metrics.refused.labels("body_timeout").inc()
                refusal = (
                    408,
                    "request_timeout",
                    f"the request body did not arrive within {self.body_timeout_s:g} s; "
                    "send the whole request at once (see --request-timeout-s)",
                )
                return _DISCONNECT
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                body_done = not message.get("more_body", False)
                if received > self.max_body_bytes:
                    refusal = self._too_large("passed")
                    return _DISCONNECT
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal started
            if refusal is not None and not started:
                return  # the app's answer to the "disconnect": ours replaces it
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, guarded_send)
        except Exception:
            if refusal is None or started:
                raise
        if refusal is not None and not started:
            status, kind, message = refusal
            headers = _CLOSE if status == 408 else None
            await error_response(status, kind, message, headers=headers)(scope, receive, send)
