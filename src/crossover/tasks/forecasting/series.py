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

Covariates are columns named by ``static`` and ``known`` (comma-separated text or a list):

- a *static* column holds one value per series (a store's region, a product's category; text
  or numbers): a series with two values in it is refused, naming both rows;
- a *known* column holds values known in advance for every timestamp, the forecast's future
  included (a price, a promotion, a holiday): numbers or booleans (text is refused: encode a
  category as 0/1 columns, or name a per-series one with ``static``). Its missing values (and
  the timestamps added to fill a series' gaps) are filled from the value before, else the one
  after, per series, and counted in the notes; ``strict=True`` refuses them. Rows are kept from
  a series' first to its last value, as for the values;
- a column named twice (static and known, or also as the id, time or values) is refused.

Other columns are left unused, as before, and a note names them.

The season length (12 for monthly data, 4 quarterly, 7 daily, 52 weekly, 24 hourly, 1 yearly)
follows the frequency unless ``season`` is given; the horizon defaults to one season (6 where
there is none).
"""

from __future__ import annotations

import hashlib
import json
import warnings
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
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
    #: Its static covariates by name (None: missing), and its known ones (len, k) aligned with
    #: ``values`` (None without known covariates); ``known_filled``: known values filled.
    static: dict[str, Any] = field(default_factory=dict)
    known: np.ndarray | None = None
    known_filled: int = 0

    def __len__(self) -> int:
        return len(self.values)


@dataclass(frozen=True)
class Panel:
    """The series of a forecasting study, all on one frequency.

    ``freq`` is a pandas offset alias (``"MS"``), or None for integer steps; ``season`` the
    season length in steps (1: none); ``horizon`` the steps each forecast covers;
    ``static_names`` and ``known_names`` the covariates each series carries.
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
    static_names: tuple[str, ...] = ()
    known_names: tuple[str, ...] = ()

    @property
    def has_covariates(self) -> bool:
        return bool(self.static_names or self.known_names)

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
    reserved: frozenset[str] = frozenset(),
) -> tuple[str | None, str, str]:
    """The id, time and value columns, named or found; ``reserved`` (the covariates) are
    never found."""
    listed = ", ".join(repr(str(c)) for c in frame.columns)
    taken: set[str] = set(reserved)
    time_col = _pick(frame, time, _TIME_NAMES, "timestamps", source, taken)
    if time_col is None:
        dated = [
            str(c)
            for c in frame.columns
            if pd.api.types.is_datetime64_any_dtype(frame[c]) and str(c) not in reserved
        ]
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


def _column_names(value: str | Sequence[str] | None, option: str) -> list[str]:
    """Column names from comma-separated text or a list; a name given twice is refused."""
    if value is None:
        return []
    items = value.split(",") if isinstance(value, str) else [str(v) for v in value]
    names = [n.strip() for n in items if n.strip()]
    twice = [n for n, count in Counter(names).items() if count > 1]
    if twice:
        raise ConfigError(f"--{option} names the column {twice[0]!r} twice")
    return names


def _covariate_columns(
    frame: pd.DataFrame, static: list[str], known: list[str], source: str
) -> None:
    """Refuse a covariate column that is missing or named both static and known."""
    columns = [str(c) for c in frame.columns]
    for option, names in (("--static", static), ("--known", known)):
        for name in names:
            if name not in columns:
                raise DataError(
                    f"{source}: no column {name!r} for {option}; its columns are: "
                    f"{', '.join(map(repr, columns))}"
                )
    both = [n for n in static if n in known]
    if both:
        raise DataError(
            f"{source}: column {both[0]!r} is named by both --static and --known; it is one or "
            "the other (one value per series: --static; a value at each timestamp, known in "
            "advance: --known)"
        )


def _parse_known(column: pd.Series, ids: pd.Series, name: str, source: str) -> np.ndarray:
    """A known covariate's values as floats (booleans as 0 and 1; missing: NaN)."""
    if pd.api.types.is_bool_dtype(column):
        return column.to_numpy(dtype=np.float64)
    as_numbers = column.map(lambda v: float(v) if isinstance(v, bool | np.bool_) else v)
    values = pd.to_numeric(as_numbers, errors="coerce")
    bad = values.isna() & column.notna()
    if bad.any():
        at = int(np.flatnonzero(bad.to_numpy())[0])
        raise DataError(
            f"{source}: series {ids.iloc[at]!r} has {column.iloc[at]!r} in the known covariate "
            f"column {name!r} (row {at + 1}), which is not a number; --known takes numbers or "
            "booleans (true/false): encode a category as 0/1 columns (one per value), or name "
            "a category that is constant per series with --static"
        )
    array = values.to_numpy(dtype=np.float64, na_value=np.nan)
    infinite = np.isinf(array)
    if infinite.any():
        at = int(np.flatnonzero(infinite)[0])
        raise DataError(
            f"{source}: series {ids.iloc[at]!r} has an infinite value in the known covariate "
            f"column {name!r} (row {at + 1})"
        )
    return array


def _plain(value: Any) -> Any:
    """A static value as JSON holds it: a text, a number or a boolean (None: missing)."""
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return None
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, bool | int | float | str):
        return value
    return str(value)


def _static_values(
    series_id: str,
    columns: dict[str, pd.Series],
    rows: np.ndarray,
    source: str,
) -> dict[str, Any]:
    """A series' one value in each static column; two different values are refused."""
    out: dict[str, Any] = {}
    for name, column in columns.items():
        values = column.iloc[rows]
        present = values.notna().to_numpy()
        if not present.any():
            out[name] = None
            continue
        kept = values[present]
        first = kept.iloc[0]
        differs = (kept != first).to_numpy()
        if differs.any():
            other = kept.iloc[int(np.argmax(differs))]
            where = rows[present]
            first_row, other_row = int(where[0]) + 1, int(where[int(np.argmax(differs))]) + 1
            raise DataError(
                f"{source}: series {series_id!r} has {first!r} (row {first_row}) and {other!r} "
                f"(row {other_row}) in the static column {name!r}; a --static column holds one "
                "value per series (one that changes over time is --known)"
            )
        out[name] = _plain(first)
    return out


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
    known: np.ndarray | None = None,
    known_names: Sequence[str] = (),
) -> Series:
    """The series on its frequency's grid from its first to its last value, gaps filled;
    ``known`` (rows, k) goes onto the same grid, its gaps filled forwards then backwards."""
    present = ~np.isnan(values)
    if not present.any():
        return Series(series_id, times.iloc[0], np.empty(0), 0)
    first, last = np.flatnonzero(present)[[0, -1]]
    times, values = times.iloc[first : last + 1], values[first : last + 1]
    if known is not None:
        known = known[first : last + 1]
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
            kept = np.flatnonzero(~np.isnan(full))
            full = np.interp(np.arange(len(full)), kept, full[kept])
    if known is None:
        return Series(series_id, start, full, gaps)
    on_grid = np.full((len(grid), known.shape[1]), np.nan)
    on_grid[positions] = known
    missing = np.isnan(on_grid)
    if missing.any():
        row, col = np.argwhere(missing)[0]
        name = known_names[int(col)]
        if strict:
            raise DataError(
                f"{source}: series {series_id!r} has no value of the known covariate {name!r} "
                f"at {grid[int(row)]} ({int(missing.sum())} missing in that series; --strict "
                "refuses them; without it they are filled from the value before)"
            )
        filled = pd.DataFrame(on_grid).ffill().bfill().to_numpy()
        empty = np.isnan(filled).all(axis=0)
        if empty.any():
            raise DataError(
                f"{source}: series {series_id!r} has no value at all in the known covariate "
                f"column {known_names[int(np.argmax(empty))]!r}; a known covariate needs a "
                "value at every timestamp"
            )
        on_grid = filled
    return Series(series_id, start, full, gaps, known=on_grid, known_filled=int(missing.sum()))


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
    static: str | Sequence[str] | None = None,
    known: str | Sequence[str] | None = None,
) -> Panel:
    """Read, check and regularise series in long format (the module's docstring says how);
    ``static`` and ``known`` name the covariate columns (a list, or comma-separated text).

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
    static_names = _column_names(static, "static")
    known_names = _column_names(known, "known")
    problems: list[str] = []
    frame, source = as_frame(data, problems, typed=True)
    _covariate_columns(frame, static_names, known_names, source)
    reserved = frozenset(static_names + known_names)
    id_col, time_col, target_col = _columns(frame, id, time, target, source, reserved)
    for role, column in (("series ids", id_col), ("timestamps", time_col), ("values", target_col)):
        if column in reserved:
            option = "--static" if column in static_names else "--known"
            raise DataError(
                f"{source}: column {column!r} holds the {role}; it cannot also be a covariate "
                f"({option})"
            )
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
    known_values = (
        np.stack(
            [
                _parse_known(frame[name].reset_index(drop=True), ids, name, source)
                for name in known_names
            ],
            axis=1,
        )
        if known_names
        else None
    )
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
    static_of: dict[str, dict[str, Any]] = {}
    known_of: dict[str, np.ndarray] = {}
    static_columns = {name: frame[name].reset_index(drop=True) for name in static_names}
    for series_id, positions in ids.groupby(ids, sort=False).indices.items():
        groups[str(series_id)] = (
            times.iloc[positions].reset_index(drop=True),
            values[positions],
        )
        if static_columns:
            static_of[str(series_id)] = _static_values(
                str(series_id), static_columns, order[positions], source
            )
        if known_values is not None:
            known_of[str(series_id)] = known_values[order[positions]]
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
    regular = [
        _regular(k, t, v, chosen_freq, fill, strict, source, known_of.get(k), known_names)
        for k, (t, v) in groups.items()
    ]
    if static_of:
        regular = [replace(s, static=static_of[s.id]) for s in regular]
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
    notes += _covariate_notes(frame, regular, static_names, known_names)
    notes += _unused_columns(frame, (id_col, time_col, target_col), reserved)
    digest = hashlib.sha256(f"{chosen_freq}|{season_length}|{steps_ahead}".encode())
    if reserved:  # a panel without covariates keeps the fingerprint it had before them
        digest.update(json.dumps([static_names, known_names]).encode())
    for s in regular:
        digest.update(f"{s.id}|{s.start}|".encode())
        digest.update(np.ascontiguousarray(s.values).tobytes())
        if s.static:
            digest.update(json.dumps([s.static.get(n) for n in static_names]).encode())
        if s.known is not None:
            digest.update(np.ascontiguousarray(s.known).tobytes())
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
        static_names=tuple(static_names),
        known_names=tuple(known_names),
    )


def _covariate_notes(
    frame: pd.DataFrame,
    series: list[Series],
    static_names: list[str],
    known_names: list[str],
) -> list[str]:
    """What the covariates are, and what was filled or is missing in them."""
    notes = []
    if static_names:
        kinds = [
            f"{n!r} ({'numbers' if pd.api.types.is_numeric_dtype(frame[n]) else 'categories'})"
            for n in static_names
        ]
        notes.append(f"static covariates: {', '.join(kinds)}")
        for name in static_names:
            lacking = [s.id for s in series if s.static.get(name) is None]
            if lacking:
                notes.append(
                    f"static covariate {name!r} is missing for {len(lacking)} series (left "
                    f"missing): {_named(lacking)}"
                )
    if known_names:
        notes.append(f"known covariates (known in advance): {', '.join(map(repr, known_names))}")
        filled = [s for s in series if s.known_filled]
        if filled:
            total = sum(s.known_filled for s in filled)
            notes.append(
                f"{total} missing known covariate value(s) in {len(filled)} series filled from "
                f"the value before (else after) (--strict refuses them): "
                f"{_named([s.id for s in filled])}"
            )
    return notes


def _unused_columns(
    frame: pd.DataFrame, used: tuple[str | None, ...], reserved: frozenset[str]
) -> list[str]:
    """A note naming the columns left unused, and the options that would use them."""
    unused = [str(c) for c in frame.columns if str(c) not in {*used, *reserved}]
    if not unused:
        return []
    return [
        f"column(s) {_named(unused)} not used: --known takes values known in advance at each "
        "timestamp (price, promotion, holiday), --static a series' constant attributes "
        "(region, category)"
    ]
