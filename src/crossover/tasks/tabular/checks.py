"""Checks of a table for ``tabular-classification``: fatal problems raise, the others warn.

Fatal, a ``DataError``: the label column is missing; it has fewer than two classes; a class has a
single row (no stratified split can hold it on both sides); the positive class (``--positive``,
else the rarer class of a binary label) has fewer than 10 rows; no usable feature is left.

Warnings: rows without a label (left out); in a multi-class table, a class under 10 rows; a
constant or all-empty column (dropped); an identifier-like column (dropped unless the user keeps
it with ``--categorical`` or ``--text-columns``); a single column that predicts the label almost
perfectly on its own (likely leakage).

Leakage rule: a feature is reported when its score on its own is 0.99 or more, where the score is

- for a numeric or datetime column and a binary label: the ROC-AUC of the raw values, taken in
  whichever direction is higher (``max(auc, 1 - auc)``), a missing value ranked below every value
  (so a column that is missing exactly for one class is caught too);
- for a numeric or datetime column and a multi-class label: the out-of-fold balanced accuracy of
  a small decision tree (at most two leaves per class) on that column alone;
- for a categorical column: the out-of-fold balanced accuracy of predicting, for each row, the
  most frequent class of its value in the other folds (a missing value is a value of its own; an
  unseen value predicts the most frequent class).

Balanced accuracy (the mean of the per-class recalls) rather than the share of rows: with 1 %
positives, predicting "not fraud" everywhere is right on 99 % of rows. Out-of-fold (5 stratified
folds) so that a column with a distinct value per row does not "predict" its own rows. Free-text
columns are not scored. On more than 100,000 rows the check runs on a stratified sample of them.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from crossover.errors import DataError
from crossover.tasks.tabular.columns import ColumnTypes, Kind, parse_dates
from crossover.tasks.tabular.metrics import roc_auc

__all__ = [
    "LEAKAGE_SCORE",
    "MIN_POSITIVE_ROWS",
    "check_table",
    "feature_leakage",
    "resolve_positive",
    "unusable_columns",
]

MIN_POSITIVE_ROWS = 10
LEAKAGE_SCORE = 0.99
_MAX_LEAKAGE_ROWS = 100_000
_MAX_FOLDS = 5


def check_table(
    frame: pd.DataFrame, label: str, types: ColumnTypes, *, positive: object | None = None
) -> list[str]:
    """Check ``frame`` before a study; return the warnings, raise a ``DataError`` when fatal.

    Parameters
    ----------
    frame : pandas.DataFrame
        The table.
    label : str
        The label column.
    types : ColumnTypes
        The column kinds, from ``infer_column_types``.
    positive : object or None, default=None
        The positive class (``--positive``); matched to a class by value, else by its text, so
        ``"1"`` names the class ``1``. By default, the rarer class of a binary label.

    Returns
    -------
    list of str
        One line per warning, each naming the column and what happens to it.
    """
    if label not in frame.columns:
        raise DataError(
            f"no label column {label!r}; pass --label COLUMN, one of: "
            f"{', '.join(map(repr, frame.columns))}"
        )
    warnings: list[str] = []
    labels = frame[label]
    n_missing = int(labels.isna().sum())
    if n_missing:
        warnings.append(
            f"{n_missing} row(s) have no value in the label column {label!r}; they are left out"
        )
    rows = frame[labels.notna()]
    warnings += _check_classes(rows[label], label, positive)
    unusable = unusable_columns(rows, types)
    warnings += [_unusable_message(rows[c], c) for c in unusable]
    for column in types.identifier:
        warnings.append(
            f"column {column!r} looks like an identifier ({rows[column].nunique()} distinct "
            f"values in {len(rows)} rows); it is dropped. To keep it as a feature, pass "
            f"--categorical {column} or --text-columns {column}"
        )
    usable = [c for c in types.features if c not in unusable]
    if not usable:
        raise DataError(
            f"no usable feature column is left besides the label {label!r} "
            "(every other column is dropped, empty, constant or an identifier); "
            "add feature columns or keep one with --categorical"
        )
    warnings += _leakage_warnings(rows, label, types, usable)
    return warnings


def resolve_positive(labels: pd.Series, positive: object | None = None) -> object | None:
    """The positive class: ``positive`` matched to a class, else the rarer of two classes.

    A given ``positive`` equals a class or its text (``"1"`` names the class ``1``). Without
    one, a binary label's positive class is the rarer one (on a tie, the larger in sorted text
    order, so ``1`` over ``0`` and ``"yes"`` over ``"no"``); a multi-class label has none.
    """
    counts = labels.dropna().value_counts()
    if positive is not None:
        for value in counts.index:
            if value == positive or str(value) == str(positive):
                return value  # type: ignore[no-any-return]
        raise DataError(
            f"positive class {positive!r} does not occur in the label column "
            f"{labels.name!r}; its classes are: {', '.join(map(repr, counts.index[:20]))}"
        )
    if len(counts) != 2:
        return None
    rarest = counts.index[counts == counts.min()]
    return max(rarest, key=str)  # type: ignore[no-any-return]


def unusable_columns(frame: pd.DataFrame, types: ColumnTypes) -> list[str]:
    """Features that are empty in every row, or hold one value in every row (none missing).

    A column with one value and some missing rows is kept: whether it is missing may matter.
    """
    out = []
    for column in types.features:
        values = frame[column]
        n_values = values.nunique(dropna=True)
        if n_values == 0 or (n_values == 1 and not values.isna().any()):
            out.append(column)
    return out


def feature_leakage(values: pd.Series, kind: Kind, y: np.ndarray) -> tuple[str, float] | None:
    """The name and value of the module's leakage score of one feature; ``None`` when unscored.

    ``y`` holds class codes ``0 .. k-1``, each present at least twice.
    """
    if kind in ("numeric", "datetime"):
        numbers = _as_numbers(values, kind)
        if numbers is None:
            return None
        if y.max() == 1:
            auc = roc_auc(y, numbers)
            return "ROC-AUC", max(auc, 1.0 - auc)
        return "balanced accuracy", _tree_balanced_accuracy(numbers, y)
    if kind == "categorical":
        codes = pd.factorize(values.astype("string"), use_na_sentinel=False)[0]
        return "balanced accuracy", _majority_balanced_accuracy(codes, y)
    return None


def _check_classes(labels: pd.Series, label: str, positive: object | None) -> list[str]:
    counts = labels.value_counts()
    if len(counts) < 2:
        found = repr(counts.index.tolist()[0]) if len(counts) else "none"
        raise DataError(
            f"the label column {label!r} has fewer than two classes (found {found}); "
            "a classifier needs rows of at least two classes"
        )
    single = [repr(c) for c in counts.index[counts < 2]]
    if single:
        raise DataError(
            f"class(es) {', '.join(single[:10])} of the label column {label!r} have a single "
            "row; a split cannot hold them in both training and test rows: add examples of "
            "them or remove those rows"
        )
    chosen = resolve_positive(labels, positive)
    n = sum(int(count) for value, count in counts.items() if value == chosen)
    if chosen is not None and n < MIN_POSITIVE_ROWS:
        raise DataError(
            f"the positive class {chosen!r} of the label column {label!r} has only {n} row(s) "
            f"of {len(labels)}; at least {MIN_POSITIVE_ROWS} are needed for any metric to mean "
            f"something (a 20 % test set would hold {round(0.2 * n)}): add positive rows, or "
            "name another class with --positive"
        )
    if chosen is not None or len(counts) == 2:
        return []
    rare = [f"{c!r} ({n})" for c, n in counts.items() if n < MIN_POSITIVE_ROWS]
    if not rare:
        return []
    return [
        f"class(es) {', '.join(rare[:10])} of the label column {label!r} have fewer than "
        f"{MIN_POSITIVE_ROWS} rows; their per-class scores will be noise"
    ]


def _unusable_message(values: pd.Series, column: str) -> str:
    if values.isna().all():
        return f"column {column!r} is empty in every row; it is dropped"
    value = values.iloc[:1].tolist()[0]
    return f"column {column!r} holds the same value {value!r} in every row; it is dropped"


def _leakage_warnings(
    rows: pd.DataFrame, label: str, types: ColumnTypes, usable: list[str]
) -> list[str]:
    y = pd.factorize(rows[label], sort=True)[0]
    if len(rows) > _MAX_LEAKAGE_ROWS:
        from sklearn.model_selection import train_test_split

        keep, _ = train_test_split(
            np.arange(len(rows)), train_size=_MAX_LEAKAGE_ROWS, stratify=y, random_state=0
        )
        rows = rows.iloc[np.sort(keep)]
        y = pd.factorize(rows[label], sort=True)[0]
    if np.bincount(y).min() < 2:
        return []
    warnings = []
    for column in usable:
        found = feature_leakage(rows[column], types.kinds[column], y)
        if found is not None and found[1] >= LEAKAGE_SCORE:
            name, score = found
            warnings.append(
                f"likely leakage: column {column!r} alone predicts {label!r} almost perfectly "
                f"({name} {score:.3f}); check that its value is known before the label is, "
                f"and pass --drop {column} if it is not"
            )
    return warnings


def _as_numbers(values: pd.Series, kind: Kind) -> np.ndarray | None:
    """Floats with a missing value below every value; ``None`` when all are missing."""
    if kind == "datetime":
        times = parse_dates(values)
        numbers = ((times - pd.Timestamp(0, tz="UTC")) / pd.Timedelta(seconds=1)).to_numpy(
            dtype=float, na_value=np.nan
        )
    else:
        numbers = pd.to_numeric(values, errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    missing = np.isnan(numbers)
    if missing.all():
        return None
    return np.where(missing, np.nanmin(numbers) - 1.0, numbers)


def _folds(y: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
    from sklearn.model_selection import StratifiedKFold

    n_splits = min(_MAX_FOLDS, int(np.bincount(y).min()))
    folds = StratifiedKFold(n_splits=n_splits, shuffle=True, random_state=0)
    return list(folds.split(np.zeros(len(y)), y))


def _balanced_accuracy(y: np.ndarray, predicted: np.ndarray) -> float:
    return float(np.mean([np.mean(predicted[y == c] == c) for c in np.unique(y)]))


def _majority_balanced_accuracy(codes: np.ndarray, y: np.ndarray) -> float:
    n_classes = int(y.max()) + 1
    predicted = np.empty(len(y), dtype=int)
    for train, test in _folds(y):
        counts = np.zeros((int(codes.max()) + 1, n_classes))
        np.add.at(counts, (codes[train], y[train]), 1)
        majority = counts.argmax(axis=1)
        seen = counts.sum(axis=1) > 0
        fallback = int(np.bincount(y[train], minlength=n_classes).argmax())
        predicted[test] = np.where(seen[codes[test]], majority[codes[test]], fallback)
    return _balanced_accuracy(y, predicted)


def _tree_balanced_accuracy(numbers: np.ndarray, y: np.ndarray) -> float:
    from sklearn.tree import DecisionTreeClassifier

    n_classes = int(y.max()) + 1
    x = numbers.reshape(-1, 1)
    predicted = np.empty(len(y), dtype=int)
    for train, test in _folds(y):
        tree = DecisionTreeClassifier(max_leaf_nodes=2 * n_classes, random_state=0)
        predicted[test] = tree.fit(x[train], y[train]).predict(x[test])
    return _balanced_accuracy(y, predicted)
