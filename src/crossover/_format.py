"""Number and text formats shared by the CLI, the recommendation, the report and the tasks'
own sections of it."""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from pathlib import PurePath
from typing import Any

__all__ = ["iso_times", "latency", "number", "scrub", "significance", "usd"]

_SEGMENT = r"[^\s'\"/\\]"
_ABSOLUTE_PATH = re.compile(
    # /home/a/x.csv, C:\a\x; not the middle of a relative path (demo/data/x.csv)
    rf"(?<![\w.-])(?:[A-Za-z]:\\|~/|/)(?:{_SEGMENT}+[/\\])+{_SEGMENT}*"
    rf"|(?<![\w.])(?:\.\.?/)+(?:{_SEGMENT}+/)*{_SEGMENT}+"  # ../shared/x.csv, ./x.csv
)


def usd(value: float, *, missing: str = "unknown") -> str:
    """US dollars: whole dollars from $10 (and for $0), cents below; ``missing`` if not finite."""
    if not math.isfinite(value):
        return missing
    return f"${value:,.0f}" if abs(value) >= 10 or value == 0 else f"${value:,.2f}"


def number(value: Any, digits: int) -> str:
    """``value`` with ``digits`` decimals and thousands separators; "-" if missing or not
    finite."""
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "-"
    return f"{value:,.{digits}f}"


def scrub(text: str) -> str:
    """``text`` with every absolute path reduced to its last part (the file name), so that
    what is shown can be shared without the paths of the machine that ran the study."""
    return _ABSOLUTE_PATH.sub(lambda m: PurePath(m.group(0).replace("\\", "/")).name, text)


def significance(value: Any) -> str:
    """A leaderboard's ``significant`` cell: "yes", "no", or "" for the best (None / NA)."""
    import pandas as pd

    if value is None or value is pd.NA:
        return ""
    return "yes" if value else "no"


def latency(row: Any, fmt: Callable[[Any, int], str] = number) -> str:
    """A leaderboard row's median one-row latency, the range of its timing rounds' medians,
    and a star when it was timed on a busy machine: "2.1 (2.0–2.4)*". ``row`` is a mapping
    or a named tuple with the leaderboard's columns."""

    def get(key: str) -> Any:
        return row.get(key) if isinstance(row, dict) else getattr(row, key, None)

    text = fmt(get("latency_p50_ms"), 1)
    low, high = get("latency_p50_ms_low"), get("latency_p50_ms_high")
    if isinstance(low, float) and isinstance(high, float) and low == low and high == high:
        text += f" ({fmt(low, 1)}–{fmt(high, 1)})"  # not NaN: timed in rounds
    return text + ("*" if str(get("timed_busy")) == "True" else "")  # not False or NA


def iso_times(times: Any) -> list[str]:
    """ISO texts of pandas timestamps: the dates alone when every one is at midnight."""
    stamps = list(times)
    if all(t == t.normalize() for t in stamps):
        return [t.date().isoformat() for t in stamps]
    return [t.isoformat() for t in stamps]
