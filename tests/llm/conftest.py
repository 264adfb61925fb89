"""The ``fake_openai`` fixture: a real local OpenAI-compatible server in a subprocess."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
STARTUP_TIMEOUT_S = 20.0

# Before anything imports litellm: never fetch the remote price map.
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class FakeOpenAI:
    """Handle on the running fake server."""

    def __init__(self, port: int, process: subprocess.Popen[bytes], log_path: Path) -> None:
        self.port = port
        self.root_url = f"http://127.0.0.1:{port}"
        self.base_url = f"{self.root_url}/v1"
        self.process = process
        self.log_path = log_path

    def stats(self) -> dict[str, Any]:
        response = httpx.get(f"{self.root_url}/stats", timeout=5)
        response.raise_for_status()
        result: dict[str, Any] = response.json()
        return result

    def reset(self) -> None:
        httpx.post(f"{self.root_url}/reset", timeout=5).raise_for_status()

    def log(self) -> str:
        """What the server process has written to stdout and stderr so far."""
        return self.log_path.read_text(errors="replace")


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture(scope="session")
def fake_openai(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FakeOpenAI]:
    """A fake OpenAI server on a free loopback port, for the whole session."""
    port = _free_port()
    log_path = tmp_path_factory.mktemp("fake-openai") / "server.log"
    with log_path.open("wb") as log_file:
        process = subprocess.Popen(
            [sys.executable, "-m", "tests.llm.fake_openai", "--port", str(port)],
            cwd=REPO_ROOT,
            stdin=subprocess.DEVNULL,
            stdout=log_file,
            stderr=subprocess.STDOUT,
        )
    server = FakeOpenAI(port, process, log_path)
    try:
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        while True:
            if process.poll() is not None:
                pytest.fail(
                    f"the fake OpenAI server exited early (code {process.returncode}):\n"
                    f"{server.log()}"
                )
            try:
                if httpx.get(f"{server.root_url}/health", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(
                    f"the fake OpenAI server did not answer /health within "
                    f"{STARTUP_TIMEOUT_S:.0f} s:\n{server.log()}"
                )
            time.sleep(0.1)
        yield server
    finally:
        _stop(process)


class ServedEmbeddings:
    """Handle on a running ``crossover serve`` of a model built on ``FAST_MODEL``."""

    #: What LiteLLM is told: any name; the server answers with its own embedding model.
    api_model = "openai/fast-model"

    def __init__(self, port: int, process: subprocess.Popen[bytes], log_path: Path) -> None:
        self.port = port
        self.root_url = f"http://127.0.0.1:{port}"
        self.base_url = f"{self.root_url}/v1"
        self.process = process
        self.log_path = log_path

    def embedding_requests(self) -> int:
        """``POST /v1/embeddings`` answered with 200 so far (from ``/metrics``)."""
        from tests.serve.conftest import metric_value

        text = httpx.get(f"{self.root_url}/metrics", timeout=5).text
        answered = metric_value(
            text, "crossover_http_requests_total", route="/v1/embeddings", status=200
        )
        return int(answered or 0)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


@pytest.fixture(scope="session")
def served_embeddings(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServedEmbeddings]:
    """``crossover serve`` of an exported ``text.embedding-head`` on ``FAST_MODEL``: a real
    process on a free loopback port answering ``POST /v1/embeddings``, for the session."""
    from crossover.artifacts import export_strategy
    from crossover.strategies.text import EmbeddingHead
    from tests.conftest import FAST_MODEL, make_tickets

    folder = tmp_path_factory.mktemp("served-embeddings")
    tickets = make_tickets(6)
    fitted = EmbeddingHead(model=FAST_MODEL).fit(tickets.text.tolist(), tickets.label.tolist())
    model_dir = export_strategy(fitted, folder / "model")
    port = _free_port()
    log_path = folder / "server.log"
    crossover = str(Path(sys.executable).parent / "crossover")
    with log_path.open("wb") as log_file:
        process = subprocess.Popen(
            [crossover, "serve", str(model_dir), "--host", "127.0.0.1", "--port", str(port)],
            cwd=REPO_ROOT,
            stdin=subprocess.DEVNULL,
            stdout=log_file,
            stderr=subprocess.STDOUT,
        )
    server = ServedEmbeddings(port, process, log_path)
    try:
        deadline = time.monotonic() + 120
        while True:
            if process.poll() is not None:
                pytest.fail(f"crossover serve exited early ({process.returncode}):\n{server.log()}")
            try:
                if httpx.get(f"{server.root_url}/readyz", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"crossover serve was not ready within 120 s:\n{server.log()}")
            time.sleep(0.2)
        yield server
    finally:
        _stop(process)
