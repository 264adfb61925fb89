"""``crossover serve`` as a real process on a free loopback port: started, answered, stopped."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from crossover.cli import app

CROSSOVER = str(Path(sys.executable).parent / "crossover")


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def served(
    model_dir: Path, *args: str, env: dict[str, str] | None = None
) -> Iterator[tuple[str, subprocess.Popen[str]]]:
    """A running ``crossover serve`` and its base URL; stopped with SIGTERM on exit."""
    port = _free_port()
    process = subprocess.Popen(
        [CROSSOVER, "serve", str(model_dir), "--port", str(port), *args],
        env={**os.environ, **(env or {})},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            if process.poll() is not None:
                raise AssertionError(f"the server exited early: {process.communicate()[1]}")
            try:
                if httpx.get(f"{base}/readyz", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise AssertionError("the server did not become ready in 120 s")
            time.sleep(0.2)
        yield base, process
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def test_serve_process_answers_over_http_and_stops(tfidf_dir: Path) -> None:
    env = {"PROCESS_TEST_KEY": "k-process-secret"}
    with (
        served(tfidf_dir, "--api-key-env", "PROCESS_TEST_KEY", env=env) as (base, process),
        httpx.Client(base_url=base, timeout=10) as client,
    ):
        refused = client.post("/v1/predict", json={"inputs": "my parcel is late"})
        answered = client.post(
            "/v1/predict",
            json={"inputs": ["my parcel 77 is late", "refund my kettle"]},
            headers={"Authorization": "Bearer k-process-secret"},
        )
        metrics = client.get("/metrics")
    _, stderr = process.communicate()
    assert process.returncode is not None  # it stopped
    assert process.returncode in (0, -signal.SIGTERM)
    assert refused.status_code == 401
    assert answered.status_code == 200
    labels = [p["label"] for p in answered.json()["predictions"]]
    assert labels == ["delivery_status", "refund_request"]
    assert 'route="/v1/predict",status="200"' in metrics.text
    lines = [json.loads(line) for line in stderr.splitlines() if line.strip()]  # all JSON
    assert any(line.get("route") == "/v1/predict" and line.get("status") == 200 for line in lines)
    assert "k-process-secret" not in stderr
    assert "parcel 77" not in stderr and "kettle" not in stderr


@pytest.mark.slow
def test_serve_process_with_two_workers_answers(tfidf_dir: Path) -> None:
    with (
        served(tfidf_dir, "--workers", "2") as (base, process),
        httpx.Client(base_url=base, timeout=10) as client,
    ):
        answers = [client.post("/v1/predict", json={"inputs": "cannot log in"}) for _ in range(6)]
    process.communicate()
    assert process.returncode is not None
    assert {a.status_code for a in answers} == {200}
    assert {a.json()["predictions"][0]["label"] for a in answers} == {"login_access"}


def test_serve_refuses_a_missing_model_dir_in_one_line(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["serve", str(tmp_path / "nowhere")])
    assert result.exit_code == 2
    assert result.stderr.strip().splitlines() == [
        f"error: {tmp_path / 'nowhere'}: no such model folder"
    ]


def test_serve_refuses_a_tampered_model_dir_before_listening(
    tfidf_dir: Path, tmp_path: Path
) -> None:
    copy = Path(shutil.copytree(tfidf_dir, tmp_path / "copy"))
    changed = next(p for p in sorted((copy / "strategy").iterdir()) if p.is_file())
    changed.write_bytes(changed.read_bytes() + b" ")
    result = CliRunner().invoke(app, ["serve", str(copy), "--port", str(_free_port())])
    assert result.exit_code == 2
    assert "does not match its SHA-256" in result.stderr
    assert "Traceback" not in result.output


def test_serve_refuses_an_unset_key_variable(
    tfidf_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("PROCESS_TEST_UNSET", raising=False)
    args = ["serve", str(tfidf_dir), "--api-key-env", "PROCESS_TEST_UNSET"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 2
    assert "$PROCESS_TEST_UNSET, which is not set or empty" in result.stderr


def test_serve_refuses_a_bad_limit(tfidf_dir: Path) -> None:
    result = CliRunner().invoke(app, ["serve", str(tfidf_dir), "--max-batch", "0"])
    assert result.exit_code == 2
    assert "max_batch=0" in result.stderr
