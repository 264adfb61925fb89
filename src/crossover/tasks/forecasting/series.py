"""Reading the ``forecasting`` task's data: series in long format, checked and made regular.

The layout is the one of Nixtla's libraries, AutoGluon-TimeSeries and Prophet: one row per
(series id, timestamp, value). The columns are named by ``id``, ``time`` and ``target``, or
found by their usual names (``unique_id`` / ``ds`` / ``y``, ``item_id`` / ``timestamp`` /
``target``, ``date``, ``sales`` ...); without an id column the rows are one series.

What ``read_series`` checks, each problem naming the series, the row or the value:

- the timestamps parse as dates (or are whole numbers: steps without a calendar), the values as
  numbers (a text, an infinity: refused with the row); a missing value is a gap;
- no series has a timestamp twice (refused: aggregate first, e.g. the day's sales summed);
- the frequency is inferred from the timestamps (the most common one among the series; printed)
  or given as a pandas alias (``freq="MS"``); every timestamp must lie on that frequency's grid;
- gaps (timestamps missing inside a series, or missing values) are filled by linear
  interpolation (``fill="zero"`` for sales, where a missing day sold nothing) and counted;
  ``strict=True`` refuses them;
- a series shorter than the horizon times the backtest windows plus ``MIN_TRAIN`` points is
  left out and named (``strict``: refused); all of them too short is an error that says what
  length is needed;
- negative values are counted in a warning (returns can make sales negative; a model of
  positive quantities may not expect them).

The season length (12 for monthly data, 4 quarterly, 7 daily, 52 weekly, 24 hourly, 1 yearly)
follows the frequency unless ``season`` is given; the horizon defaults to one season (6 where
there is none).
"""

from __future__ import annotations

import hashlib
import warnings
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from crossover.data import as_frame
from crossover.errors import ConfigError, DataError
from crossover.tasks.forecasting.options import FILL_METHODS

__all__ = [
    "FILL_METHODS",
    "MIN_TRAIN",
    "Panel",
    "Series",
    "read_series",
    "season_of",
]

#: The fewest points a series keeps before its earliest backtest window.
MIN_TRAIN = 3
#: Column names found without being named, in order of preference.
_ID_NAMES = ("unique_id", "item_id", "series_id", "series", "id", "sku", "store", "product")
_TIME_NAMES = ("ds", "timestamp", "date", "time", "datetime", "period", "month", "week")
_TARGET_NAMES = (
    "y",
    "target",
    "value",
    "sales",
    "demand",
    "quantity",
    "volume",
    "units",
    "revenue",
)
#: Series named in a message before "and N more".
_NAMED = 5
#: Season lengths by the frequency's base (pandas offset names without their anchor).
_SEASONS = {
    "MS": 12,
    "ME": 12,
    "M": 12,
    "BMS": 12,
    "BME": 12,
    "SMS": 24,
    "SME": 24,
    "QS": 4,
    "QE": 4,
    "Q": 4,
    "BQS": 4,
    "BQE": 4,
    "W": 52,
    "D": 7,
    "B": 5,
    "C": 5,
    "h": 24,
    "bh": 8,
    "YS": 1,
    "YE": 1,
    "Y": 1,
    "BYS": 1,
    "BYE": 1,
}


@dataclass(frozen=True)
class Series:
    """One series on a regular grid: ``values[i]`` is at ``start + i`` steps.

    ``start`` is a ``pd.Timestamp``, or an int when the data has steps without a calendar;
    ``filled`` counts the points that were gaps.
    """

    id: str
    start: Any
    values: np.ndarray
    filled: int = 0

    def __len__(self) -> int:
        return len(self.values)


@dataclass(frozen=True)
class Panel:
    """The series of a forecasting study, all on one frequency.

    ``freq`` is a pandas offset alias (``"MS"``), or None for integer steps; ``season`` the
    season length in steps (1: none); ``horizon`` the steps each forecast covers.
    """

    series: tuple[Series, ...]
    freq: str | None
    season: int
    horizon: int
    source: str = "<DataFrame>"
    columns: dict[str, str | None] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    fingerprint: str = ""

    @property
    def ids(self) -> list[str]:
        return [s.id for s in self.series]

    @property
    def lengths(self) -> np.ndarray:
        return np.array([len(s) for s in self.series], dtype=np.int64)

    def index(self, series: Series, start: int = 0, stop: int | None = None) -> pd.Index:
        """The timestamps (or steps) of ``series.values[start:stop]``."""
        stop = len(series) if stop is None else stop
        if self.freq is None:
            return pd.RangeIndex(int(series.start) + start, int(series.start) + stop)
        first = pd.Timestamp(series.start) + start * pd.tseries.frequencies.to_offset(self.freq)
        return pd.date_range(first, periods=max(0, stop - start), freq=self.freq)

    def to_frame(self) -> pd.DataFrame:
        """Long format: ``unique_id``, ``ds``, ``y`` (the names statsforecast takes)."""
        parts = [
            pd.DataFrame({"unique_id": s.id, "ds": self.index(s), "y": s.values})
            for s in self.series
        ]
        return pd.concat(parts, ignore_index=True)


def season_of(freq: str | None) -> int:
    """The season length of a frequency alias (12 for ``"MS"``, 7 for ``"D"``; 1 for none)."""
    if freq is None:
        return 1
    offset = pd.tseries.frequencies.to_offset(freq)
    base = offset.rule_code.split("-")[0]
    if offset.n != 1:
        # Every 2 months, every 15 minutes: a season only where it divides evenly.
        season = _SEASONS.get(base.lstrip("0123456789"), 1)
        return season // offset.n if season % offset.n == 0 else 1
    if base == "min":
        return 60
    return _SEASONS.get(base, 1)


def _named(ids: Sequence[str]) -> str:
    shown = ", ".join(repr(i) for i in ids[:_NAMED])
    return shown + (f" and {len(ids) - _NAMED} more" if len(ids) > _NAMED else "")


def _pick(
    frame: pd.DataFrame,
    given: str | None,
    names: tuple[str, ...],
    role: str,
    source: str,
    taken: set[str],
) -> str | None:
    columns = [str(c) for c in frame.columns]
    if given is not None:
        if given not in columns:
            raise DataError(
                f"{source}: no column {given!r} for the {role}; its columns are: "
                f"{', '.join(map(repr, columns))}"
            )
        return given
    lowered = {c.lower(): c for c in columns if c not in taken}
    for name in names:
        if name in lowered:
            return lowered[name]
    return None


def _columns(
    frame: pd.DataFrame,
    id: str | None,
    time: str | None,
    target: str | None,
    source: str,
) -> tuple[str | None, str, str]:
    listed = ", ".join(repr(str(c)) for c in frame.columns)
    taken: set[str] = set()
    time_col = _pick(frame, time, _TIME_NAMES, "timestamps", source, taken)
    if time_col is None:
        dated = [str(c) for c in frame.columns if pd.api.types.is_datetime64_any_dtype(frame[c])]
        if len(dated) != 1:
            raise DataError(
                f"{source}: which column holds the timestamps? Name it with --time; the "
                f"columns are: {listed}"
            )
        time_col = dated[0]
    taken.add(time_col)
    id_col = _pick(frame, id, _ID_NAMES, "series ids", source, taken)
    if id_col is not None:
        taken.add(id_col)
    target_col = _pick(frame, target, _TARGET_NAMES, "values", source, taken)
    if target_col is None:
        others = [str(c) for c in frame.columns if str(c) not in taken]
        numeric = [c for c in others if pd.api.types.is_numeric_dtype(frame[c])]
        # The one numeric column left, or the one column left (its bad values are named later).
        chosen = numeric if len(numeric) == 1 else others
        if len(chosen) != 1:
            raise DataError(
                f"{source}: which column holds the values to forecast? Name it with --value; "
                f"the columns are: {listed}"
            )
        target_col = chosen[0]
    if len({time_col, target_col, id_col} - {None}) < 2 + (id_col is not None):
        raise DataError(
            f"{source}: the timestamps, values and series ids must be different columns "
            f"(time {time_col!r}, target {target_col!r}, id {id_col!r})"
        )
    return id_col, time_col, target_col


def _parse_times(column: pd.Series, name: str, source: str) -> tuple[pd.Series, bool]:
    """Timestamps, or whole numbers (steps without a calendar: the second value True)."""
    missing = column.isna()
    if missing.any():
        at = int(np.flatnonzero(missing.to_numpy())[0])
        raise DataError(
            f"{source}: column {name!r} has no timestamp in row {at + 1}; every row needs one"
        )
    if pd.api.types.is_integer_dtype(column):
        return column.astype(np.int64), True
    if pd.api.types.is_datetime64_any_dtype(column):
        parsed = column
    else:
        parsed = pd.to_datetime(column, errors="coerce", format="mixed")
        bad = parsed.isna()
        if bad.any():
            at = int(np.flatnonzero(bad.to_numpy())[0])
            raise DataError(
                f"{source}: column {name!r} has {column.iloc[at]!r} in row {at + 1}, which is "
                "not a date or time; use ISO dates such as 2024-01-31, or name the right "
                "column with --time"
            )
    if getattr(parsed.dt, "tz", None) is not None:
        parsed = parsed.dt.tz_convert("UTC").dt.tz_localize(None)
    return parsed.astype("datetime64[ns]"), False


def _parse_values(column: pd.Series, ids: pd.Series, name: str, source: str) -> np.ndarray:
    values = pd.to_numeric(column, errors="coerce")
    bad = values.isna() & column.notna()
    if bad.any():
        at = int(np.flatnonzero(bad.to_numpy())[0])
        raise DataError(
            f"{source}: series {ids.iloc[at]!r} has {column.iloc[at]!r} in column {name!r} "
            f"(row {at + 1}), which is not a number"
        )
    array = values.to_numpy(dtype=np.float64, na_value=np.nan)
    infinite = np.isinf(array)
    if infinite.any():
        at = int(np.flatnonzero(infinite)[0])
        raise DataError(
            f"{source}: series {ids.iloc[at]!r} has an infinite value in column {name!r} "
            f"(row {at + 1})"
        )
    return array


def _infer(index: pd.DatetimeIndex) -> str | None:
    """``pd.infer_freq`` as an alias string, under pandas 2 (a string) and 3 (which warns that
    it will return an offset)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        warnings.simplefilter("ignore", DeprecationWarning)
        try:
            inferred: Any = pd.infer_freq(index)
        except ValueError:
            return None
    if inferred is None:
        return None
    return inferred if isinstance(inferred, str) else str(inferred.freqstr)


def _infer_freq(groups: dict[str, pd.Series], time_col: str, source: str) -> str:
    """The most common frequency pandas infers among the series; else one read off the most
    common step (series with gaps); else an error asking for ``--freq``."""
    inferred: Counter[str] = Counter()
    steps: Counter[pd.Timedelta] = Counter()
    for times in groups.values():
        if len(times) >= 3:
            alias = _infer(pd.DatetimeIndex(times))
            if alias is not None:
                inferred[alias] += 1
                continue
        if len(times) >= 2:
            steps.update(pd.Series(times).diff().dropna().tolist())
    if inferred:
        return inferred.most_common(1)[0][0]
    if steps:
        step = steps.most_common(1)[0][0]
        days = step / pd.Timedelta(days=1)
        first = pd.Timestamp(next(iter(groups.values())).iloc[0])
        month_start = first.day == 1
        month_end = first.is_month_end
        for low, high, start_alias, end_alias in (
            (28, 31, "MS", "ME"),
            (89, 92, "QS", "QE"),
            (365, 366, "YS", "YE"),
        ):
            if low <= days <= high and (month_start or month_end):
                return start_alias if month_start else end_alias
        if days == 7:
            return f"W-{first.day_name()[:3].upper()}"
        if step >= pd.Timedelta(seconds=1) and days <= 7:
            return pd.tseries.frequencies.to_offset(step).freqstr
    raise DataError(
        f"{source}: cannot infer the frequency of column {time_col!r} (too few regular "
        "timestamps); pass it as a pandas alias with --freq: D (daily), W-SUN (weekly), "
        "MS (monthly), QS (quarterly), YS (yearly), h (hourly)"
    )


def _check_freq(freq: str) -> str:
    try:
        return pd.tseries.frequencies.to_offset(freq).freqstr
    except ValueError as exc:
        raise ConfigError(
            f"--freq {freq!r} is not a pandas frequency; use an alias such as D, W-SUN, MS, "
            "QS, YS or h"
        ) from exc


def _regular(
    series_id: str,
    times: pd.Series,
    values: np.ndarray,
    freq: str | None,
    fill: str,
    strict: bool,
    source: str,
) -> Series:
    """The series on its frequency's grid from its first to its last value, gaps filled."""
    present = ~np.isnan(values)
    if not present.any():
        return Series(series_id, times.iloc[0], np.empty(0), 0)
    first, last = np.flatnonzero(present)[[0, -1]]
    times, values = times.iloc[first : last + 1], values[first : last + 1]
    if freq is None:
        steps = times.to_numpy(dtype=np.int64)
        grid: Any = np.arange(steps[0], steps[-1] + 1)
        positions = steps - steps[0]
        start: Any = int(steps[0])
    else:
        index = pd.date_range(times.iloc[0], times.iloc[-1], freq=freq)
        if len(index) == 0 or index[0] != times.iloc[0]:
            raise DataError(
                f"{source}: series {series_id!r} starts at {times.iloc[0]}, which is not on the "
                f"{freq} grid; pass the right --freq"
            )
        positions = index.get_indexer(pd.DatetimeIndex(times))
        off = positions < 0
        if off.any():
            raise DataError(
                f"{source}: series {series_id!r} has a timestamp {times.iloc[int(np.argmax(off))]} "
                f"that is not on the {freq} grid of its other timestamps; pass the right --freq "
                "or align the timestamps"
            )
        grid = index
        start = pd.Timestamp(index[0])
    full = np.full(len(grid), np.nan)
    full[positions] = values
    gaps = int(np.isnan(full).sum())
    if gaps and strict:
        at = int(np.flatnonzero(np.isnan(full))[0])
        when = grid[at]
        raise DataError(
            f"{source}: series {series_id!r} has {gaps} gap(s), the first at {when} "
            "(--strict refuses gaps; without it they are filled)"
        )
    if gaps:
        if fill == "zero":
            full = np.nan_to_num(full, nan=0.0)
        else:
            known = np.flatnonzero(~np.isnan(full))
            full = np.interp(np.arange(len(full)), known, full[known])
    return Series(series_id, start, full, gaps)


def read_series(
    data: str | Path | pd.DataFrame,
    *,
    id: str | None = None,
    time: str | None = None,
    target: str | None = None,
    horizon: int | None = None,
    freq: str | None = None,
    season: int | None = None,
    windows: int = 1,
    fill: str = "interpolate",
    strict: bool = False,
) -> Panel:
    """Read, check and regularise series in long format (the module's docstring says how).

    Raises ``DataError`` naming the file, column, series or row when the data cannot be used,
    ``ConfigError`` for an option out of range.
    """
    if fill not in FILL_METHODS:
        raise ConfigError(f"--fill {fill!r}: use one of {', '.join(FILL_METHODS)}")
    if horizon is not None and horizon < 1:
        raise ConfigError(f"--horizon {horizon}: forecast at least 1 step ahead")
    if windows < 1:
        raise ConfigError(f"--windows {windows}: a backtest needs at least 1 window")
    if season is not None and season < 1:
        raise ConfigError(f"--season {season}: use 1 for no season, or the steps in one")
    problems: list[str] = []
    frame, source = as_frame(data, problems, typed=True)
    id_col, time_col, target_col = _columns(frame, id, time, target, source)
    ids = (
        frame[id_col].astype(str)
        if id_col is not None
        else pd.Series("series", index=frame.index, dtype=object)
    )
    if id_col is not None and frame[id_col].isna().any():
        at = int(np.flatnonzero(frame[id_col].isna().to_numpy())[0])
        raise DataError(f"{source}: row {at + 1} has no series id in column {id_col!r}")
    times, steps_only = _parse_times(frame[time_col].reset_index(drop=True), time_col, source)
    ids = ids.reset_index(drop=True)
    values = _parse_values(frame[target_col].reset_index(drop=True), ids, target_col, source)
    duplicated = pd.DataFrame({"id": ids, "t": times}).duplicated(keep=False).to_numpy()
    if duplicated.any():
        at = int(np.flatnonzero(duplicated)[0])
        count = int(duplicated.sum())
        hint = (
            "aggregate them first (for instance the day's sales summed)"
            if id_col is not None
            else "if the rows are several series, name their id column with --id"
        )
        raise DataError(
            f"{source}: series {ids.iloc[at]!r} has timestamp {times.iloc[at]} more than once "
            f"({count} rows share a timestamp with another of their series); {hint}"
        )
    order = np.lexsort((times.to_numpy(), ids.to_numpy()))
    ids, times, values = ids.iloc[order], times.iloc[order], values[order]
    groups: dict[str, tuple[pd.Series, np.ndarray]] = {}
    for series_id, positions in ids.groupby(ids, sort=False).indices.items():
        groups[str(series_id)] = (
            times.iloc[positions].reset_index(drop=True),
            values[positions],
        )
    notes: list[str] = []
    if steps_only:
        if freq is not None:
            raise ConfigError(
                f"--freq {freq!r}: column {time_col!r} holds whole numbers (steps without a "
                "calendar), which have no pandas frequency; leave --freq out and give --season"
            )
        chosen_freq: str | None = None
        notes.append(f"time: column {time_col!r} counts steps (whole numbers), no calendar")
    elif freq is not None:
        chosen_freq = _check_freq(freq)
        notes.append(f"frequency {chosen_freq} (given)")
    else:
        chosen_freq = _infer_freq({k: t for k, (t, _) in groups.items()}, time_col, source)
        notes.append(f"frequency {chosen_freq} (inferred from the timestamps; --freq to change)")
    season_length = season if season is not None else season_of(chosen_freq)
    steps_ahead = horizon if horizon is not None else (season_length if season_length > 1 else 6)
    if horizon is None:
        notes.append(
            f"horizon {steps_ahead} steps ({'one season' if season_length > 1 else 'default'}; "
            "--horizon to change)"
        )
    regular = [_regular(k, t, v, chosen_freq, fill, strict, source) for k, (t, v) in groups.items()]
    needed = steps_ahead * windows + MIN_TRAIN
    short = [s.id for s in regular if len(s) < needed]
    if short and (strict or len(short) == len(regular)):
        lengths = sorted(len(s) for s in regular)
        raise DataError(
            f"{source}: {len(short)} of {len(regular)} series are shorter than the "
            f"{needed} points a backtest of {windows} window(s) of {steps_ahead} steps needs "
            f"({MIN_TRAIN} to train on before the first window): {_named(short)} (the longest "
            f"has {lengths[-1]}); lower --horizon or --windows"
            + ("" if len(short) == len(regular) else ", or leave out --strict to drop them")
        )
    if short:
        problems.append(
            f"{len(short)} of {len(regular)} series are left out, shorter than the {needed} "
            f"points a backtest of {windows} window(s) of {steps_ahead} steps needs: "
            f"{_named(short)}"
        )
        regular = [s for s in regular if len(s) >= needed]
    filled = [s for s in regular if s.filled]
    if filled:
        total = sum(s.filled for s in filled)
        how = "with 0" if fill == "zero" else "by linear interpolation"
        problems.append(
            f"{total} gap(s) in {len(filled)} series filled {how} (--strict refuses gaps, "
            f"--fill chooses how): {_named([s.id for s in filled])}"
        )
    negative = [s.id for s in regular if (s.values < 0).any()]
    if negative:
        problems.append(
            f"{len(negative)} series have negative values (returns? a model of positive "
            f"quantities may not expect them): {_named(negative)}"
        )
    digest = hashlib.sha256(f"{chosen_freq}|{season_length}|{steps_ahead}".encode())
    for s in regular:
        digest.update(f"{s.id}|{s.start}|".encode())
        digest.update(np.ascontiguousarray(s.values).tobytes())
    return Panel(
        series=tuple(regular),
        freq=chosen_freq,
        season=season_length,
        horizon=steps_ahead,
        source=source,
        columns={"id": id_col, "time": time_col, "target": target_col},
        warnings=problems,
        notes=notes,
        fingerprint=digest.hexdigest()[:16],
    )
