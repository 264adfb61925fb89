"""Open a report in headless Chromium (the system's browser; nothing is downloaded): the DOM
after the scripts ran, what the page reported about its charts, and a PNG screenshot.

Used by the report's browser test and by ``benchmarks/report.py``. Network access is cut off
(an unreachable proxy), so a report that needed the network would fail to draw.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

__all__ = ["PageCheck", "find_chromium", "open_report"]

_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
_FLAGS = (
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--no-first-run",
    "--hide-scrollbars",
    "--proxy-server=127.0.0.1:9",  # nothing answers there: the page must need no network
    "--proxy-bypass-list=<-loopback>",
    "--enable-logging=stderr",
    "--v=0",
)


def find_chromium() -> str | None:
    """The path of a Chromium (or Chrome) binary on PATH, or None."""
    for name in _NAMES:
        found = shutil.which(name)
        if found:
            return found
    return None


@dataclass
class PageCheck:
    """What headless Chromium saw: the DOM, console lines, and the page's own counters."""

    dom: str
    console: list[str]
    charts_drawn: int | None
    errors: int | None
    drawn_ms: float | None
    wall_s: float
    screenshot: Path | None

    def chart_divs(self) -> dict[str, bool]:
        """Every chart container and whether it holds a drawn SVG."""
        out = {}
        for match in re.finditer(r'<div class="chart[^"]*" id="chart-([\w-]+)"', self.dom):
            rest = self.dom[match.end() : match.end() + 20_000]
            out[match.group(1)] = "<svg" in rest.split('id="chart-', 1)[0]
        return out


def _body_attr(dom: str, name: str) -> str | None:
    bodies = re.findall(r"<body\b[^>]*>", dom)
    if not bodies:
        return None
    found = re.search(rf'data-{name}="([^"]*)"', bodies[-1])
    return found.group(1) if found else None


def _number(value: str | None) -> float | None:
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None


def open_report(
    path: Path,
    *,
    screenshot: Path | None = None,
    width: int = 1280,
    height: int = 5000,
    timeout_s: float = 120,
    binary: str | None = None,
) -> PageCheck:
    """Load ``path`` headless; dump the DOM once the page settled; optionally screenshot it."""
    chromium = binary or find_chromium()
    if chromium is None:
        raise FileNotFoundError("no chromium binary on PATH (Debian: apt-get install chromium)")
    url = Path(path).resolve().as_uri()
    with tempfile.TemporaryDirectory() as profile:
        base = [chromium, *_FLAGS, f"--user-data-dir={profile}", f"--window-size={width},{height}"]
        start = time.perf_counter()
        done = subprocess.run(
            [*base, "--virtual-time-budget=10000", "--dump-dom", url],
            capture_output=True,
            text=True,
            timeout=timeout_s,
            check=False,
        )
        wall = time.perf_counter() - start
        if screenshot is not None:
            subprocess.run(
                [*base, "--virtual-time-budget=10000", f"--screenshot={screenshot}", url],
                capture_output=True,
                text=True,
                timeout=timeout_s,
                check=False,
            )
    console = [line for line in done.stderr.splitlines() if "CONSOLE" in line]
    charts = _number(_body_attr(done.stdout, "charts"))
    errors = _number(_body_attr(done.stdout, "errors"))
    return PageCheck(
        dom=done.stdout,
        console=console,
        charts_drawn=int(charts) if charts is not None else None,
        errors=int(errors) if errors is not None else None,
        drawn_ms=_number(_body_attr(done.stdout, "drawn-ms")),
        wall_s=wall,
        screenshot=screenshot if screenshot is not None and screenshot.exists() else None,
    )
