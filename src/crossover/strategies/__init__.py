"""Strategies: the candidates a study compares, registered by key."""

from crossover.strategies.base import Kind, Strategy
from crossover.strategies.registry import ENTRY_POINT_GROUP, Registry, register, registry

__all__ = ["ENTRY_POINT_GROUP", "Kind", "Registry", "Strategy", "register", "registry"]
