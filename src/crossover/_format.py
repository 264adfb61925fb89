"""Number and text formats shared by the CLI, the recommendation, the report and the tasks'
own sections of it."""

from __future__ import annotations

import math
import re
from pathlib import PurePath
from typing import Any

__all__ = ["number", "scrub", "significance", "usd"]

_SEGMENT = r"[^\s'\"/\\]"
_ABSOLUTE_PATH = re.compile(
    rf"(?:[A-Za-z]:\\|~/|/)(?:{_SEGMENT}+[/\\])+{_SEGMENT}*"  # /home/a/x.csv, C:\a\x
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
