"""Strategies of ``tabular-classification``; importing this package registers them."""

from crossover.strategies.tabular.ensemble import TabularEnsemble
from crossover.strategies.tabular.gbm import TabularGbm
from crossover.strategies.tabular.gbm_embeddings import TabularGbmEmbeddings
from crossover.strategies.tabular.linear import TabularLinear
from crossover.strategies.tabular.llm import TabularLlmZeroShot
from crossover.strategies.tabular.tabpfn import TabPfn

__all__ = [
    "TabPfn",
    "TabularEnsemble",
    "TabularGbm",
    "TabularGbmEmbeddings",
    "TabularLinear",
    "TabularLlmZeroShot",
]
