"""A task's sections module that defines one hook only (for tests/report/test_present.py)."""

from __future__ import annotations

from typing import Any


def measured_on(study: Any) -> str:
    return f"on {study} (made up)"
