"""Package names imported on first use (PEP 562), so that importing a package loads nothing else.

Ten lines rather than a dependency: scientific-python's ``lazy_loader`` does the same and more
(stub files, eager import for tests), which crossover does not need.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from typing import Any

__all__ = ["attach"]


def attach(package: str, sources: Mapping[str, str]) -> Callable[[str], Any]:
    """A module ``__getattr__`` for ``package`` that imports each name in ``sources`` (name ->
    the module defining it) on first use; other names are an ``AttributeError``."""

    def __getattr__(name: str) -> Any:
        source = sources.get(name)
        if source is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        return getattr(importlib.import_module(source), name)

    return __getattr__
