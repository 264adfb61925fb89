"""Services some tests need, started on loopback by the test session and stopped after it: a
Ray head (``ray start --head``). Each runs in a process group of its own, stopped by signalling that
group: never ``ray stop``, which stops every Ray on the machine."""

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
