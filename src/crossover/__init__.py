"""crossover: pre-trained, custom, or hybrid? Measure it on your own data, then ship the winner.

>>> import crossover
>>> study = crossover.compare("tickets.csv")          # doctest: +SKIP
>>> study.leaderboard                                  # doctest: +SKIP
>>> pricing, choice = crossover.decide(study, "scenario.yaml")  # doctest: +SKIP

The names below are imported on first use (PEP 562), so ``import crossover`` — and with it
``crossover --help`` or a model server, which need little of the package — loads nothing else.
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version
from typing import TYPE_CHECKING

from crossover._lazy import attach

if TYPE_CHECKING:
    from crossover._api import compare, decide, write_decision, write_outputs
    from crossover.artifacts.export import export_model, export_strategy
    from crossover.artifacts.load import LoadedModel, load_model
    from crossover.costs import Scenario, load_scenario
    from crossover.costs.sheet import CostSheet, Pricing
    from crossover.data import Dataset, TaskSpec
    from crossover.errors import ConfigError, CrossoverError, DataError, ModelError
    from crossover.evaluation.runner import Trial, TrialResult
    from crossover.recommend import Recommendation
    from crossover.strategies.base import Strategy
    from crossover.strategies.registry import register, registry
    from crossover.study import Study, load_study
    from crossover.tasks import load
    from crossover.tracking import log_study, register_model

try:
    __version__ = version("crossover")
except PackageNotFoundError:  # running from a source tree without installation
    __version__ = "0.0.0"

#: Each public name and the module that defines it.
_SOURCES = {
    "ConfigError": "crossover.errors",
    "CostSheet": "crossover.costs.sheet",
    "CrossoverError": "crossover.errors",
    "DataError": "crossover.errors",
    "Dataset": "crossover.data",
    "LoadedModel": "crossover.artifacts.load",
    "ModelError": "crossover.errors",
    "Pricing": "crossover.costs.sheet",
    "Recommendation": "crossover.recommend",
    "Scenario": "crossover.costs",
    "Strategy": "crossover.strategies",
    "Study": "crossover.study",
    "TaskSpec": "crossover.data",
    "Trial": "crossover.evaluation.runner",
    "TrialResult": "crossover.evaluation.runner",
    "compare": "crossover._api",
    "decide": "crossover._api",
    "export_model": "crossover.artifacts.export",
    "export_strategy": "crossover.artifacts.export",
    "load": "crossover.tasks",
    "load_model": "crossover.artifacts.load",
    "load_scenario": "crossover.costs",
    "load_study": "crossover.study",
    "log_study": "crossover.tracking",
    "register": "crossover.strategies",
    "register_model": "crossover.tracking",
    "registry": "crossover.strategies",
    "write_decision": "crossover._api",
    "write_outputs": "crossover._api",
}

__all__ = [
    "ConfigError",
    "CostSheet",
    "CrossoverError",
    "DataError",
    "Dataset",
    "LoadedModel",
    "ModelError",
    "Pricing",
    "Recommendation",
    "Scenario",
    "Strategy",
    "Study",
    "TaskSpec",
    "Trial",
    "TrialResult",
    "__version__",
    "compare",
    "decide",
    "export_model",
    "export_strategy",
    "load",
    "load_model",
    "load_scenario",
    "load_study",
    "log_study",
    "register",
    "register_model",
    "registry",
    "write_decision",
    "write_outputs",
]


__getattr__ = attach(__name__, _SOURCES)


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
