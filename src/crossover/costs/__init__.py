"""Prices, scenarios and cost sheets: what each candidate costs to build and to run."""

from crossover.costs.catalog import ApiPrice, Catalog, HardwarePrice, load_catalog
from crossover.costs.scenario import Scenario, load_scenario

__all__ = ["ApiPrice", "Catalog", "HardwarePrice", "Scenario", "load_catalog", "load_scenario"]
