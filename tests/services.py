"""Services some tests need, started on loopback by the test session and stopped after it: a
Ray head (``ray start --head``) and an MLflow tracking server (``mlflow server``). Each runs in
a process group of its own, stopped by signalling that group: never ``ray stop``, which stops
every Ray on the machine."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

BIN = Path(sys.executable).parent
#: Ray in tests: no usage reports, no token.
QUIET_ENV = {
    "RAY_USAGE_STATS_ENABLED": "0",
    "RAY_USAGE_STATS_REPORT_URL": "http://127.0.0.1:9/",
    # No token: a local Ray would write one to ~/.ray/auth_token, outside the test's folders,
    # and a head and a driver that disagree on it cannot talk.
    "RAY_AUTH_MODE": "disabled",
}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _stop(process: subprocess.Popen[bytes], timeout: float = 5) -> None:
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            return
        try:
            process.wait(timeout=timeout)
            return
        except subprocess.TimeoutExpired:
            continue


def _group_members(pgid: int) -> list[int]:
    import psutil

    members = []
    for proc in psutil.process_iter(["pid"]):
        try:
            if os.getpgid(proc.info["pid"]) == pgid:
                members.append(proc.info["pid"])
        except (ProcessLookupError, PermissionError):
            continue
    return members


def _kill_group(pgid: int) -> None:
    for pid in _group_members(pgid):
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            continue


@contextmanager
def ray_head(num_cpus: int = 2) -> Iterator[str]:
    """A Ray head on 127.0.0.1 (``ray start --head --block``); yields its address."""
    if shutil.which("ray", path=str(BIN)) is None:
        pytest.skip("ray is not installed (pip install 'crossover[ray]')")
    port = free_port()
    temp = tempfile.mkdtemp(prefix="xr-")  # short: Ray's socket paths must fit 107 bytes
    env = {**os.environ, **QUIET_ENV}
    cmd = [
        str(BIN / "ray"),
        "start",
        "--head",
        "--block",
        f"--port={port}",
        f"--num-cpus={num_cpus}",
        "--num-gpus=0",
        "--include-dashboard=false",
        "--disable-usage-stats",
        f"--temp-dir={temp}",
        "--object-store-memory=300000000",
    ]
    log = Path(temp) / "head.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            cmd, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    address = f"127.0.0.1:{port}"
    try:
        _wait_for_ray(address, process, log)
        yield address
    finally:
        _stop(process)
        _kill_group(process.pid)  # workers that outlived the head
        shutil.rmtree(temp, ignore_errors=True)


def _wait_for_ray(address: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 90
    host, port = address.split(":")
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"ray start exited: {log.read_text(errors='replace')[-2000:]}")
        with socket.socket() as s:
            if s.connect_ex((host, int(port))) == 0 and "Ray runtime started" in log.read_text(
                errors="replace"
            ):
                return
        time.sleep(0.5)
    raise RuntimeError(f"ray start did not come up in 90 s: {log.read_text(errors='replace')}")


#: MLflow in tests: nothing fetched from the network (LiteLLM's price map), no job runner.
MLFLOW_ENV = {
    "LITELLM_LOCAL_MODEL_COST_MAP": "True",
    "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false",
    "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "0",
}


@contextmanager
def mlflow_server() -> Iterator[str]:
    """An MLflow tracking server on 127.0.0.1 with a SQLite store (runs and the model registry)
    and a local artifact folder; yields its URI."""
    if shutil.which("mlflow", path=str(BIN)) is None:
        pytest.skip("mlflow is not installed (pip install 'crossover[mlflow]')")
    port = free_port()
    temp = Path(tempfile.mkdtemp(prefix="xm-"))
    cmd = [
        str(BIN / "mlflow"),
        "server",
        "--host=127.0.0.1",
        f"--port={port}",
        f"--backend-store-uri=sqlite:///{temp / 'mlflow.db'}",
        f"--artifacts-destination={temp / 'artifacts'}",
        "--workers=1",
    ]
    log = temp / "server.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            cmd,
            env={**os.environ, **MLFLOW_ENV},
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=temp,
            start_new_session=True,
        )
    uri = f"http://127.0.0.1:{port}"
    try:
        wait_for_http(f"{uri}/health", process, log)
        yield uri
    finally:
        _stop(process)
        _kill_group(process.pid)
        shutil.rmtree(temp, ignore_errors=True)


def wait_for_http(
    url: str, process: subprocess.Popen[bytes], log: Path, timeout: float = 120
) -> None:
    """Until ``url`` answers 200; a ``RuntimeError`` with the log if the process exits first."""
    import urllib.error
    import urllib.request

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{url}: the server exited: {log.read_text(errors='replace')}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.5)
    raise RuntimeError(
        f"{url} did not answer in {timeout:.0f} s: {log.read_text(errors='replace')}"
    )
