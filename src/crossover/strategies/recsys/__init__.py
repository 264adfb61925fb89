"""Strategies of ``recommendation``; importing this package registers them."""

from crossover.strategies.recsys._base import RecsysStrategy
from crossover.strategies.recsys.models import (
    RecsysAls,
    RecsysContent,
    RecsysHybrid,
    RecsysPopularity,
)

__all__ = ["RecsysAls", "RecsysContent", "RecsysHybrid", "RecsysPopularity", "RecsysStrategy"]
