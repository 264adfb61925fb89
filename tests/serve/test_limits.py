"""The server's limits (body size, request timeout, connections) against a real
``crossover serve`` process on 127.0.0.1, and the body limit in-process."""

from __future__ import annotations

import json
import socket
import subprocess
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import psutil
import pytest
from prometheus_client.parser import text_string_to_metric_families
from typer.testing import CliRunner

from crossover.cli import app
from crossover.serve import ServeSettings
from tests.serve.conftest import fake_client
from tests.serve.test_process import served

#: The limits of the module's server: small, so that each test is quick.
MAX_BODY_MB = 1
TIMEOUT_S = 2.0
MAX_CONNECTIONS = 4
LIMIT_ARGS = (
    "--max-body-mb", str(MAX_BODY_MB),
    "--request-timeout-s", str(TIMEOUT_S),
    "--max-connections", str(MAX_CONNECTIONS),
)  # fmt: skip


@pytest.fixture(scope="module")
def server(tfidf_dir: Path) -> Iterator[tuple[str, subprocess.Popen[str]]]:
    with served(tfidf_dir, *LIMIT_ARGS) as (base, process):
        yield base, process
    process.communicate()  # its logs, and the pipes closed


def _address(base: str) -> tuple[str, int]:
    host, port = base.removeprefix("http://").split(":")
    return host, int(port)


def _read_answer(sock: socket.socket, within_s: float) -> tuple[bytes, float]:
    """Everything the server sends until it closes the connection, and when it closed."""
    start = time.monotonic()
    sock.settimeout(within_s)
    chunks = []
    try:
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    except ConnectionResetError:
        pass
    return b"".join(chunks), time.monotonic() - start


def _read_response(sock: socket.socket, within_s: float) -> bytes:
    """One response, read up to the end its ``content-length`` gives."""
    sock.settimeout(within_s)
    raw = b""
    while b"\r\n\r\n" not in raw:
        raw += sock.recv(65536)
    head, _, body = raw.partition(b"\r\n\r\n")
    length = int(next(h for h in head.lower().split(b"\r\n") if h.startswith(b"content-length"))
                 .split(b":")[1])  # fmt: skip
    while len(body) < length:
        body += sock.recv(65536)
    return head + b"\r\n\r\n" + body


def _status_and_error(raw: bytes, closes: bool = True) -> tuple[int, dict[str, Any]]:
    head, _, body = raw.partition(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    assert (b"connection: close" in head.lower()) == closes, head
    return status, json.loads(body)["error"]


def _refused(base: str) -> dict[str, float]:
    text = httpx.get(f"{base}/metrics", timeout=5).text
    out = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == "crossover_http_refused_total":
                out[sample.labels["reason"]] = sample.value
            elif family.name.startswith("crossover_http_max") or "timeout" in family.name:
                out[sample.name] = sample.value
    return out


def test_limits_refuse_a_content_length_over_the_limit_before_its_body(
    server: tuple[str, subprocess.Popen[str]],
) -> None:
    base, _ = server
    with socket.create_connection(_address(base), timeout=5) as sock:
        start = time.monotonic()
        sock.sendall(
            b"POST /v1/predict HTTP/1.1\r\nhost: test\r\ncontent-type: application/json\r\n"
            b"content-length: 50000000\r\n\r\n"
        )  # and not one byte of the body
        raw = _read_response(sock, 5)
        answered_s = time.monotonic() - start
        rest, _ = _read_answer(sock, TIMEOUT_S + 3)
        closed_s = time.monotonic() - start
    status, error = _status_and_error(raw, closes=False)
    assert status == 413 and error["type"] == "body_too_large"
    assert "50000000 bytes" in error["message"] and "--max-body-mb" in error["message"]
    assert answered_s < TIMEOUT_S / 2  # at once, before any of the body
    # The server waits for the rest of the body (to drop it) for the request timeout at most.
    assert rest == b"" and TIMEOUT_S - 0.5 < closed_s < TIMEOUT_S + 2


@pytest.mark.parametrize("streamed", [False, True], ids=["content-length", "chunked"])
def test_limits_refuse_four_50_mb_bodies_at_once_without_keeping_them(
    server: tuple[str, subprocess.Popen[str]], streamed: bool
) -> None:
    base, process = server
    rss_before = psutil.Process(process.pid).memory_info().rss
    body = b'{"inputs": "' + b"x" * 50_000_000 + b'"}'

    def post(_: int) -> httpx.Response:
        content: Any = body
        if streamed:  # no Content-Length: sent chunked, refused once the count passes the limit
            content = (body[i : i + (1 << 20)] for i in range(0, len(body), 1 << 20))
        with httpx.Client(timeout=10) as client:
            return client.post(
                f"{base}/v1/predict", content=content, headers={"content-type": "application/json"}
            )

    start = time.monotonic()
    with ThreadPoolExecutor(4) as pool:
        responses = list(pool.map(post, range(4)))
    elapsed_s = time.monotonic() - start
    rss_growth = psutil.Process(process.pid).memory_info().rss - rss_before
    assert [r.status_code for r in responses] == [413] * 4, responses[0].text
    assert {r.json()["error"]["type"] for r in responses} == {"body_too_large"}
    assert elapsed_s < 5  # about 0.3 s on an idle machine: the rest is read and dropped
    assert rss_growth < 10 * 2**20  # far from the 50 MB one whole body would take


def test_limits_time_out_headers_sent_a_byte_at_a_time(
    server: tuple[str, subprocess.Popen[str]],
) -> None:
    base, _ = server
    request = b"POST /v1/predict HTTP/1.1\r\nhost: test\r\nx-slow: " + b"a" * 100
    with socket.create_connection(_address(base), timeout=5) as sock:
        start = time.monotonic()
        sock.settimeout(0.4)
        raw = b""
        for byte in request:  # one byte every 0.4 s, never the end of the headers
            try:
                sock.sendall(bytes([byte]))
                raw = sock.recv(65536)
            except TimeoutError:
                continue
            except (BrokenPipeError, ConnectionResetError):
                break
            break  # the server answered (or closed)
        rest, _ = _read_answer(sock, 5)
        elapsed_s = time.monotonic() - start
    status, error = _status_and_error(raw + rest)
    assert status == 408 and error["type"] == "request_timeout"
    assert "headers" in error["message"]
    assert TIMEOUT_S - 0.5 < elapsed_s < TIMEOUT_S + 2


def test_limits_time_out_the_next_request_on_a_kept_alive_connection(
    server: tuple[str, subprocess.Popen[str]],
) -> None:
    # uvicorn's keep-alive timer stops at the next request's first byte; crossover's does not.
    base, _ = server
    with socket.create_connection(_address(base), timeout=5) as sock:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nhost: test\r\n\r\n")
        first = _read_response(sock, 5)
        start = time.monotonic()
        sock.sendall(b"GET /healthz HTTP/1.1\r\nhost: te")  # and no more
        raw, _ = _read_answer(sock, TIMEOUT_S + 3)
        elapsed_s = time.monotonic() - start
    assert first.startswith(b"HTTP/1.1 200")
    status, error = _status_and_error(raw)
    assert status == 408 and error["type"] == "request_timeout"
    assert TIMEOUT_S - 0.5 < elapsed_s < TIMEOUT_S + 2


def test_limits_time_out_a_body_sent_a_byte_at_a_time(
    server: tuple[str, subprocess.Popen[str]],
) -> None:
    base, _ = server
    with socket.create_connection(_address(base), timeout=5) as sock:
        sock.sendall(
            b"POST /v1/predict HTTP/1.1\r\nhost: test\r\ncontent-type: application/json\r\n"
            b"content-length: 100\r\n\r\n"
        )
        start = time.monotonic()
        sock.settimeout(0.4)
        raw = b""
        for byte in b'{"inputs": "' + b"a" * 80:
            try:
                sock.sendall(bytes([byte]))
                raw = sock.recv(65536)
            except TimeoutError:
                continue
            except (BrokenPipeError, ConnectionResetError):
                break
            break
        rest, _ = _read_answer(sock, 5)
        elapsed_s = time.monotonic() - start
    status, error = _status_and_error(raw + rest)
    assert status == 408 and error["type"] == "request_timeout"
    assert "body" in error["message"]
    assert TIMEOUT_S - 0.5 < elapsed_s < TIMEOUT_S + 2


def test_limits_close_a_connection_that_sends_nothing(
    server: tuple[str, subprocess.Popen[str]],
) -> None:
    base, _ = server
    with socket.create_connection(_address(base), timeout=5) as sock:
        raw, elapsed_s = _read_answer(sock, TIMEOUT_S + 3)
    assert raw == b""  # closed, without an answer to a request never made
    assert TIMEOUT_S - 0.5 < elapsed_s < TIMEOUT_S + 2


def test_limits_answer_503_beyond_max_connections_and_count_it(
    server: tuple[str, subprocess.Popen[str]],
) -> None:
    base, _ = server
    before = _refused(base)
    idle = [socket.create_connection(_address(base), timeout=5) for _ in range(MAX_CONNECTIONS)]
    try:
        time.sleep(0.5)  # let the server accept them all (they time out after TIMEOUT_S)
        with httpx.Client(base_url=base, timeout=5) as client:
            over = client.post("/v1/predict", json={"inputs": "refund my kettle"})
    finally:
        for sock in idle:
            sock.close()
    time.sleep(0.2)
    with httpx.Client(base_url=base, timeout=5) as client:
        after_closing = client.post("/v1/predict", json={"inputs": "refund my kettle"})
    after = _refused(base)
    assert over.status_code == 503, over.text
    assert over.json()["error"]["type"] == "overloaded"
    assert over.headers["connection"] == "close"
    assert after_closing.status_code == 200
    assert after["max_connections"] == before["max_connections"] + 1


def test_limits_show_in_metrics(server: tuple[str, subprocess.Popen[str]]) -> None:
    base, _ = server
    before = _refused(base)
    too_large = httpx.post(f"{base}/v1/predict", content=b"x" * (2 << 20), timeout=10)
    after = _refused(base)
    assert too_large.status_code == 413
    assert after["body_too_large"] == before["body_too_large"] + 1
    assert set(after) >= {"headers_timeout", "body_timeout", "max_connections"}
    assert after["crossover_http_max_body_bytes"] == MAX_BODY_MB * 2**20
    assert after["crossover_http_request_timeout_seconds"] == TIMEOUT_S
    assert after["crossover_http_max_connections"] == MAX_CONNECTIONS


@pytest.mark.slow
def test_limits_reach_every_worker(tfidf_dir: Path) -> None:
    with served(tfidf_dir, "--workers", "2", *LIMIT_ARGS) as (base, process):
        limits = [_refused(base) for _ in range(4)]  # answered by either worker
        too_large = httpx.post(f"{base}/v1/predict", content=b"x" * (2 << 20), timeout=10)
    process.communicate()
    assert too_large.status_code == 413
    assert {m["crossover_http_max_body_bytes"] for m in limits} == {MAX_BODY_MB * 2**20}
    assert {m["crossover_http_request_timeout_seconds"] for m in limits} == {TIMEOUT_S}


# -- in-process: the middleware alone ---------------------------------------------------------


@pytest.mark.parametrize(
    ("option", "value", "named"),
    [
        ("--max-body-mb", "0", "max_body_mb=0.0"),
        ("--request-timeout-s", "-1", "request_timeout_s=-1.0"),
        ("--max-connections", "0", "max_connections=0"),
    ],
)
def test_limits_refuse_a_bad_value_in_one_line(
    tfidf_dir: Path, option: str, value: str, named: str
) -> None:
    result = CliRunner().invoke(app, ["serve", str(tfidf_dir), option, value])
    assert result.exit_code == 2
    assert named in result.stderr and "Traceback" not in result.output


def test_limits_middleware_refuses_a_streamed_body_over_the_limit() -> None:
    settings = ServeSettings(max_body_mb=0.001)  # 1,048 bytes
    chunks = [b'{"inputs": "', b"a" * 800, b"a" * 800, b'"}']
    with fake_client(settings=settings) as client:
        streamed = client.post(
            "/v1/predict", content=iter(chunks), headers={"content-type": "application/json"}
        )
        small = client.post("/v1/predict", json={"inputs": "a" * 500})
        metrics = client.get("/metrics").text
    assert streamed.status_code == 413
    assert streamed.json()["error"]["type"] == "body_too_large"
    assert "passed this server's limit" in streamed.json()["error"]["message"]
    assert small.status_code == 200
    assert 'crossover_http_refused_total{reason="body_too_large"} 1.0' in metrics
    assert 'route="/v1/predict",status="413"' in metrics  # counted with the other answers
