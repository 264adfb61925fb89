"""Values written more than one way: ``3``, ``"3"``, ``3.0`` and ``" 3 "`` in one column.

pandas reads them as an int, a string and a float, three different values, where a user means
one id or one label. ``one_spelling`` writes each value one way and says when that merged some.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["one_spelling"]

_WHOLE_DECIMAL = re.compile(r"(-?\d+)\.0+")
_N_EXAMPLES = 5


def _spelling(value: Any) -> str | None:
    """How a value was written, type included (``3``, ``'3'`` and ``3.0`` differ); None when
    it is missing."""
    if value is None or (not isinstance(value, str) and bool(pd.isna(value))):
        return None
    return repr(value.item() if isinstance(value, np.generic) else value)


def _canonical(value: Any) -> str:
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, int | float):
        return str(value)
    text = str(value).strip()
    whole = _WHOLE_DECIMAL.fullmatch(text)
    return whole.group(1) if whole else text


def one_spelling(values: pd.Series, what: str, where: str) -> tuple[pd.Series, list[str]]:
    """``values`` as text, each written one way, and a warning when that merged spellings.

    A whole number is written without decimals (``3.0`` -> ``"3"``, also as text: ``"3.0"``),
    text without surrounding spaces; other text is kept as it is (``"007"`` stays ``"007"``).
    Missing values stay missing. ``what`` and ``where`` name the values in the warning
    (``"id(s) of column 'item'"``, ``"the interactions"``).
    """
    firsts: Iterable[tuple[Any, Any]]
    if pd.api.types.is_object_dtype(values):
        # Values of several types: 3 and 3.0 are equal keys to pandas, so each value's
        # spelling is taken one by one.
        keys = values.map(_spelling)
        firsts = zip(keys, values, strict=True)
    else:
        # One type: a value has one spelling, and its distinct values are few to spell.
        keys = values
        firsts = ((v, v) for v in pd.unique(values.dropna()))
    by_key: dict[Any, str] = {}
    merged: dict[str, list[str]] = {}
    for key, value in firsts:
        if key is None or key in by_key:
            continue
        canonical = _canonical(value)
        by_key[key] = canonical
        merged.setdefault(canonical, []).append(_spelling(value) or "")
    out = keys.map(by_key, na_action="ignore").astype(object)
    several = {c: spelt for c, spelt in merged.items() if len(spelt) > 1}
    if not several:
        return out, []
    example, spelt = next(iter(several.items()))
    shown = spelt[:_N_EXAMPLES]
    written = ", ".join(shown[:-1]) + f" and {shown[-1]}"
    n_spellings = sum(len(k) for k in several.values())
    return out, [
        f"{len(several):,} {what} of {where} are written in more than one way (e.g. "
        f"{written}, all {example!r}); each is read as one, {n_spellings:,} spellings merged "
        f"into {len(several):,}"
    ]
