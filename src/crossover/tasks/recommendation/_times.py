"""Times of interactions as floats that sort like them: numbers, datetimes or dates as text."""

from __future__ import annotations

import numpy as np
import pandas as pd

from crossover.errors import DataError
from crossover.tasks.tabular.columns import parse_dates

__all__ = ["sortable_times"]


def sortable_times(values: pd.Series, time: str) -> np.ndarray:
    """The times as floats that sort like them; a DataError counts the missing ones."""
    if pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values):
        numbers = values.to_numpy(dtype=float, na_value=np.nan)
        what = "missing"
    else:
        parsed = parse_dates(values)
        numbers = ((parsed - pd.Timestamp(0, tz="UTC")) / pd.Timedelta(seconds=1)).to_numpy(
            dtype=float, na_value=np.nan
        )
        what = "missing or not a date"
    bad = np.flatnonzero(np.isnan(numbers))
    if bad.size:
        first = values.iloc[[bad[0]]].tolist()[0]
        raise DataError(
            f"{bad.size} row(s) have a time that is {what} in column {time!r} (first at row "
            f"{bad[0]}: {first!r}); fill or remove them, or split without --time"
        )
    return numbers
