"""Strategies of ``recommendation``.

Each strategy registers itself when its module is imported: the registry imports every
module of ``MODULES`` when it first lists the strategies, and loading a saved model imports
only the module its manifest names. The names below are imported on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from crossover._lazy import attach

if TYPE_CHECKING:
    from crossover.strategies.recsys._base import RecsysStrategy
    from crossover.strategies.recsys.models import (
        RecsysAls,
        RecsysContent,
        RecsysHybrid,
        RecsysPopularity,
    )

#: Each public name and the module that defines it.
_SOURCES = {
    "RecsysAls": "crossover.strategies.recsys.models",
    "RecsysContent": "crossover.strategies.recsys.models",
    "RecsysHybrid": "crossover.strategies.recsys.models",
    "RecsysPopularity": "crossover.strategies.recsys.models",
    "RecsysStrategy": "crossover.strategies.recsys._base",
}
#: Every module of this package that registers strategies.
MODULES = tuple(sorted(set(_SOURCES.values())))

__all__ = [
    "MODULES",
    "RecsysAls",
    "RecsysContent",
    "RecsysHybrid",
    "RecsysPopularity",
    "RecsysStrategy",
]

__getattr__ = attach(__name__, _SOURCES)
