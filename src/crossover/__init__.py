"""crossover: pre-trained, custom, or hybrid? Measure it on your own data, then ship the winner.

>>> import crossover
>>> study = crossover.compare("tickets.csv")          # doctest: +SKIP
>>> study.leaderboard                                  # doctest: +SKIP
>>> pricing, choice = crossover.decide(study, "scenario.yaml")  # doctest: +SKIP
"""

from importlib.metadata import PackageNotFoundError, version

from crossover._api import compare, decide, write_decision, write_outputs
from crossover.artifacts import LoadedModel, export_model, export_strategy, load_model
from crossover.costs import Scenario, load_scenario
from crossover.costs.sheet import CostSheet, Pricing
from crossover.data import Dataset, TaskSpec, load
from crossover.errors import ConfigError, CrossoverError, DataError, ModelError
from crossover.evaluation.runner import Trial, TrialResult
from crossover.recommend import Recommendation
from crossover.strategies import Strategy, register, registry
from crossover.study import Study, load_study

try:
    __version__ = version("crossover")
except PackageNotFoundError:  # running from a source tree without installation
    __version__ = "0.0.0"

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
    "register",
    "registry",
    "write_decision",
    "write_outputs",
]
