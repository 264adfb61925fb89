"""Column types of a table for ``tabular-classification``: inferred, then overridden by the user.

Rules, applied in this order to every column other than the label, the time column and the
columns passed to ``drop``; an override (``categorical``, ``text_columns``) always wins.

1. **datetime**: a ``datetime64`` column, or a text column whose values (a sample of up to 500
   of them) contain a date such as ``2024-03-01`` or ``01/03/2024`` and parse as dates, 95 % of
   them or more.
2. **identifier**: a column of integers or single-word strings (never fractional numbers) that is

   - unique in 95 % of its rows or more and whose name says so: one of its words (split on
     ``_``, ``-``, spaces and camelCase) is ``id``, ``uuid``, ``guid``, ``key``, ``idx``,
     ``index``, ``ref`` or ``number``; or
   - of at least 20 rows and without any repeat, whatever its name: for integers only when they
     are a run of consecutive values (a row number), for strings always (codes, hashes, e-mails).

3. **categorical**: a ``bool`` or ``category`` column, integers (including whole-valued floats,
   which is how pandas stores integers with gaps) with at most 10 distinct values.
4. **numeric**: any other number column.
5. **text**: strings that are long (20 characters or more on average), multi-word (3 words or
   more on average) and mostly unique (at least half the values distinct).
6. **categorical**: any other column (strings, mixed objects), including an all-empty one.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from typing import Literal

import numpy as np
import pandas as pd

from crossover.errors import ConfigError, DataError

__all__ = ["KINDS", "ColumnTypes", "Kind", "infer_column_types", "parse_dates", "sortable_times"]

Kind = Literal["numeric", "categorical", "text", "datetime", "identifier"]
KINDS: tuple[Kind, ...] = ("numeric", "categorical", "text", "datetime", "identifier")

_ID_WORDS = frozenset({"id", "uuid", "guid", "key", "idx", "index", "ref", "number"})
_ID_HINTED_UNIQUE_RATIO = 0.95
_ID_MIN_ROWS = 20
_MAX_INT_CATEGORIES = 10
_TEXT_MIN_MEAN_CHARS = 20
_TEXT_MIN_MEAN_WORDS = 3
_TEXT_MIN_UNIQUE_RATIO = 0.5
_DATE_SAMPLE = 500
_DATE_MIN_RATIO = 0.95
_DATE_SHAPE = re.compile(r"\d{1,4}[-/.]\d{1,2}[-/.]\d{1,4}")


@dataclass(frozen=True)
class ColumnTypes:
    """The kind of every feature column, in the table's column order.

    ``kinds`` holds every column except the label, the time column and the dropped ones.
    ``features`` are the columns a model may use: every column of ``kinds`` except identifiers.
    ``overridden`` names the columns whose kind the user set (``--categorical``,
    ``--text-columns``); the others were inferred.
    """

    label: str
    kinds: dict[str, Kind]
    time: str | None = None
    dropped: tuple[str, ...] = ()
    overridden: tuple[str, ...] = ()

    def of_kind(self, kind: Kind) -> list[str]:
        """The columns of ``kind``, in the table's order."""
        return [column for column, k in self.kinds.items() if k == kind]

    @property
    def numeric(self) -> list[str]:
        return self.of_kind("numeric")

    @property
    def categorical(self) -> list[str]:
        return self.of_kind("categorical")

    @property
    def text(self) -> list[str]:
        return self.of_kind("text")

    @property
    def datetime(self) -> list[str]:
        return self.of_kind("datetime")

    @property
    def identifier(self) -> list[str]:
        return self.of_kind("identifier")

    @property
    def features(self) -> list[str]:
        """The columns a model may use: all but the identifiers."""
        return [column for column, k in self.kinds.items() if k != "identifier"]

    def without(self, columns: Iterable[str]) -> ColumnTypes:
        """A copy with ``columns`` moved from ``kinds`` to ``dropped``."""
        gone = [c for c in columns if c in self.kinds]
        return replace(
            self,
            kinds={c: k for c, k in self.kinds.items() if c not in gone},
            dropped=(*self.dropped, *gone),
            overridden=tuple(c for c in self.overridden if c not in gone),
        )


def infer_column_types(
    frame: pd.DataFrame,
    label: str,
    *,
    categorical: Sequence[str] = (),
    text_columns: Sequence[str] = (),
    drop: Sequence[str] = (),
    time: str | None = None,
) -> ColumnTypes:
    """Infer the kind of every column of ``frame`` (see the module's rules); overrides win.

    Parameters
    ----------
    frame : pandas.DataFrame
        The table, label column included.
    label : str
        The label column; it is not typed.
    categorical : sequence of str, default=()
        Columns to treat as categorical whatever they hold (``--categorical``).
    text_columns : sequence of str, default=()
        Columns to treat as free text (``--text-columns``).
    drop : sequence of str, default=()
        Columns to leave out (``--drop``).
    time : str or None, default=None
        The time column (``--time``); it orders the split and is not a feature.

    Returns
    -------
    ColumnTypes

    Raises
    ------
    DataError
        When ``label`` is not a column.
    ConfigError
        When an option names an unknown column, the label, or a column given by two options.
    """
    columns = [str(c) for c in frame.columns]
    if label not in columns:
        raise DataError(
            f"no label column {label!r}; pass --label COLUMN, one of: "
            f"{', '.join(map(repr, columns))}"
        )
    options: dict[str, Sequence[str]] = {
        "--categorical": categorical,
        "--text-columns": text_columns,
        "--drop": drop,
        "--time": () if time is None else (time,),
    }
    _check_options(options, columns, label)
    overrides: dict[str, Kind] = {c: "categorical" for c in categorical}
    overrides.update({c: "text" for c in text_columns})
    skipped = {label, *drop, *([] if time is None else [time])}
    kinds: dict[str, Kind] = {}
    for column in columns:
        if column in skipped:
            continue
        kinds[column] = overrides.get(column) or _infer_kind(column, frame[column])
    return ColumnTypes(
        label=label,
        kinds=kinds,
        time=time,
        dropped=tuple(c for c in columns if c in set(drop)),
        overridden=tuple(c for c in columns if c in overrides),
    )


def _check_options(options: dict[str, Sequence[str]], columns: list[str], label: str) -> None:
    seen: dict[str, str] = {}
    for flag, names in options.items():
        if isinstance(names, str):
            raise ConfigError(f"{flag} takes a list of column names, got the string {names!r}")
        for name in names:
            if name not in columns:
                raise ConfigError(
                    f"{flag} names column {name!r}, which the table does not have; "
                    f"the columns are: {', '.join(map(repr, columns))}"
                )
            if name == label:
                raise ConfigError(
                    f"{flag} names the label column {name!r}; the label is never a feature, "
                    "remove it from that option"
                )
            if name in seen and seen[name] != flag:
                raise ConfigError(
                    f"column {name!r} is given by both {seen[name]} and {flag}; keep one"
                )
            seen[name] = flag


def _infer_kind(name: str, column: pd.Series) -> Kind:
    values = column.dropna()
    if pd.api.types.is_bool_dtype(column) or isinstance(column.dtype, pd.CategoricalDtype):
        return "categorical"
    if pd.api.types.is_datetime64_any_dtype(column):
        return "datetime"
    if pd.api.types.is_numeric_dtype(column):
        return _numeric_kind(name, values)
    if values.empty:
        return "categorical"
    strings = values.astype(str)
    if _looks_like_dates(strings):
        return "datetime"
    if _is_string_identifier(name, strings):
        return "identifier"
    if _is_free_text(strings):
        return "text"
    return "categorical"


def _numeric_kind(name: str, values: pd.Series) -> Kind:
    numbers = values.to_numpy(dtype=float)
    if numbers.size == 0 or not np.all(np.isfinite(numbers)):
        return "numeric"
    if not np.all(numbers == np.round(numbers)):
        return "numeric"
    n_unique = len(np.unique(numbers))
    if n_unique <= _MAX_INT_CATEGORIES:
        return "categorical"
    if _has_id_name(name) and n_unique >= _ID_HINTED_UNIQUE_RATIO * numbers.size:
        return "identifier"
    is_row_number = (
        numbers.size >= _ID_MIN_ROWS
        and n_unique == numbers.size
        and numbers.max() - numbers.min() == numbers.size - 1
    )
    return "identifier" if is_row_number else "numeric"


def _has_id_name(name: str) -> bool:
    spaced = re.sub(r"([a-z0-9])([A-Z])", r"\1 \2", name)
    words = re.split(r"[^A-Za-z0-9]+", spaced.lower())
    return any(word in _ID_WORDS for word in words)


def _is_string_identifier(name: str, strings: pd.Series) -> bool:
    if strings.str.contains(r"\s", regex=True).any():
        return False
    n_unique = strings.nunique()
    if _has_id_name(name) and n_unique >= _ID_HINTED_UNIQUE_RATIO * len(strings):
        return True
    return len(strings) >= _ID_MIN_ROWS and n_unique == len(strings)


def _is_free_text(strings: pd.Series) -> bool:
    return bool(
        strings.str.len().mean() >= _TEXT_MIN_MEAN_CHARS
        and strings.str.count(r"\S+").mean() >= _TEXT_MIN_MEAN_WORDS
        and strings.nunique() >= _TEXT_MIN_UNIQUE_RATIO * len(strings)
    )


def _looks_like_dates(strings: pd.Series) -> bool:
    sample = strings.head(_DATE_SAMPLE)
    # The shape test first: dateutil reads "3" or "May" as a date of the current month.
    if sample.str.contains(_DATE_SHAPE).mean() < _DATE_MIN_RATIO:
        return False
    return parse_dates(sample).notna().mean() >= _DATE_MIN_RATIO


def parse_dates(values: pd.Series) -> pd.Series:
    """``values`` as datetimes, each parsed on its own; unparseable ones become ``NaT``."""
    with warnings.catch_warnings():
        # Mixed time zones or formats warn; an unparseable value is simply NaT here.
        warnings.simplefilter("ignore")
        return pd.to_datetime(values, errors="coerce", format="mixed", utc=True)


def sortable_times(values: pd.Series, time_col: str) -> np.ndarray:
    """Times (numbers, datetimes or dates as text) as floats that sort like them; a DataError
    counts the missing or unreadable ones and names the first. Shared by the time splits of
    tables and of interactions."""
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
            f"{bad.size} row(s) have a time that is {what} in column {time_col!r} (first at "
            f"row {bad[0]}: {first!r}); fill or remove them to split by time"
        )
    return numbers
