"""Strategies of ``tabular-classification``.

Each strategy registers itself when its module is imported: the registry imports every
module of ``MODULES`` when it first lists the strategies, and loading a saved model imports
only the module its manifest names. The names below are imported on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from crossover._lazy import attach

if TYPE_CHECKING:
    from crossover.strategies.tabular.ensemble import TabularEnsemble
    from crossover.strategies.tabular.gbm import TabularGbm
    from crossover.strategies.tabular.gbm_embeddings import TabularGbmEmbeddings
    from crossover.strategies.tabular.linear import TabularLinear
    from crossover.strategies.tabular.llm import TabularLlmZeroShot
    from crossover.strategies.tabular.tabpfn import TabPfn

#: Each public name and the module that defines it.
_SOURCES = {
    "TabPfn": "crossover.strategies.tabular.tabpfn",
    "TabularEnsemble": "crossover.strategies.tabular.ensemble",
    "TabularGbm": "crossover.strategies.tabular.gbm",
    "TabularGbmEmbeddings": "crossover.strategies.tabular.gbm_embeddings",
    "TabularLinear": "crossover.strategies.tabular.linear",
    "TabularLlmZeroShot": "crossover.strategies.tabular.llm",
}
#: Every module of this package that registers strategies.
MODULES = tuple(sorted(set(_SOURCES.values())))

__all__ = [
    "MODULES",
    "TabPfn",
    "TabularEnsemble",
    "TabularGbm",
    "TabularGbmEmbeddings",
    "TabularLinear",
    "TabularLlmZeroShot",
]

__getattr__ = attach(__name__, _SOURCES)
