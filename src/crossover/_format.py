"""Number formats shared by the CLI, the recommendation and the report."""

from __future__ import annotations

import math
from typing import Any

__all__ = ["significance", "usd"]


def usd(value: float, *, missing: str = "unknown") -> str:
    """US dollars: whole dollars from $10 (and for $0), cents below; ``missing`` if not finite."""
    if not math.isfinite(value):
        return missing
    return f"${value:,.0f}" if abs(value) >= 10 or value == 0 else f"${value:,.2f}"


def significance(value: Any) -> str:
    """A leaderboard's ``significant`` cell: "yes", "no", or "" for the best (None / NA)."""
    import pandas as pd

    if value is None or value is pd.NA:
        return ""
    return "yes" if value else "no"
