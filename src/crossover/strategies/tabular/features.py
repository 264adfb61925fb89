"""Features of the tabular learners: ``TablePreprocessor`` turns a table into model inputs.

Features by column kind (``ColumnTypes``), the same in every learner except for categoricals:

- numeric: floats (text that is not a number, and infinities, become missing); a missing value
  takes the training median, and a missing-indicator column is added for each column that had
  missing values in training (a column empty in training is imputed with 0);
- datetime: epoch seconds, hour, day of week and month, each then treated as numeric;
- categorical: for the GBM, ordinal codes of the training values that LightGBM splits on
  natively (an unseen or missing value becomes NaN, which LightGBM sends down its missing
  branch; the extra trees take it as code -1); for the linear model, one-hot columns with
  ``"missing"`` as a value of its own and an unseen value encoded as all zeros;
- identifier and text columns are dropped (a hybrid strategy embeds the text).

The linear model standardises its numeric features (optionally after mapping them onto a normal
distribution through their quantiles); the tree models need no scaling.

Ordinal codes rather than a pandas ``category`` column hold the same information (the training
categories, unseen as missing) in plain scikit-learn state, which skops saves without pickle.
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
import pandas as pd

from crossover.errors import DataError, ModelError
from crossover.tasks.tabular.columns import ColumnTypes, parse_dates

__all__ = ["Encoding", "TablePreprocessor"]

Encoding = Literal["ordinal", "onehot"]

_MISSING = "missing"
_DATE_PARTS = ("epoch_s", "hour", "day_of_week", "month")
_QUANTILES = 200


class TablePreprocessor:
    """Turn a table into model features by column kind (see the module's rules).

    Parameters
    ----------
    types : ColumnTypes
        The column kinds, from ``infer_column_types``; identifier and text columns are dropped.
    encoding : {"ordinal", "onehot"}, default="ordinal"
        Categoricals as ordinal codes (unseen and missing as NaN, for LightGBM's native
        categorical splits) or as one-hot columns (for a linear model).
    scale : bool, default=False
        Standardise the numeric and datetime features (for a linear model).
    quantile : bool, default=False
        Before scaling, map each numeric and datetime feature through its training quantiles
        onto a normal distribution (scikit-learn's ``QuantileTransformer``, at most 200
        quantiles): heavy tails and skewed amounts then stop dominating a linear model.

    Attributes
    ----------
    transformer_ : sklearn.compose.ColumnTransformer
        The fitted transformer on the prepared columns.
    feature_names_out_ : list of str
        The names of the output columns.
    categorical_indices_ : list of int
        The positions of the categorical codes in the output (``encoding="ordinal"`` only).
    """

    def __init__(
        self,
        types: ColumnTypes,
        encoding: Encoding = "ordinal",
        scale: bool = False,
        *,
        quantile: bool = False,
    ):
        self.types = types
        self.encoding = encoding
        self.scale = scale
        self.quantile = quantile

    def fit(self, frame: pd.DataFrame, y: object = None) -> TablePreprocessor:
        """Learn medians, categories and scales from ``frame``; return ``self``."""
        from sklearn.compose import ColumnTransformer

        if self.encoding not in ("ordinal", "onehot"):
            raise ModelError(f"encoding must be 'ordinal' or 'onehot', got {self.encoding!r}")
        prepared = self._prepare(frame)
        numeric = [c for c in prepared.columns if c not in self._categorical]
        steps: list[tuple[str, Any, list[str]]] = []
        if numeric:
            steps.append(("numeric", self._numeric_pipeline(len(prepared)), numeric))
        if self._categorical:
            steps.append(("categorical", self._categorical_pipeline(), self._categorical))
        if not steps:
            raise DataError(
                "no numeric, categorical or datetime feature column to train on (identifier "
                "and text columns are dropped); add feature columns or mark one --categorical"
            )
        self.transformer_ = ColumnTransformer(steps, verbose_feature_names_out=False)
        self.transformer_.fit(prepared)
        self.feature_names_out_: list[str] = [
            str(n) for n in self.transformer_.get_feature_names_out()
        ]
        n_numeric = len(self.feature_names_out_) - (
            len(self._categorical) if self.encoding == "ordinal" else 0
        )
        self.categorical_indices_: list[int] = (
            list(range(n_numeric, len(self.feature_names_out_)))
            if self.encoding == "ordinal"
            else []
        )
        return self

    def transform(self, frame: pd.DataFrame) -> Any:
        """The features of ``frame``: a float array (``ordinal``) or a sparse/dense matrix."""
        if not hasattr(self, "transformer_"):
            raise ModelError("this TablePreprocessor is not fitted yet; call fit first")
        return self.transformer_.transform(self._prepare(frame))

    def fit_transform(self, frame: pd.DataFrame, y: object = None) -> Any:
        """``fit(frame)`` then ``transform(frame)``."""
        return self.fit(frame, y).transform(frame)

    @property
    def _categorical(self) -> list[str]:
        return self.types.categorical

    def _prepare(self, frame: pd.DataFrame) -> pd.DataFrame:
        """The used columns as floats (numeric, datetime parts) or strings (categorical)."""
        used = [*self.types.numeric, *self.types.datetime, *self._categorical]
        absent = [c for c in used if c not in frame.columns]
        if absent:
            raise DataError(
                f"the table lacks column(s) {', '.join(map(repr, absent))}, which the model "
                "was trained on; add them (empty values are allowed)"
            )
        parts: dict[str, Any] = {}
        for column in self.types.numeric:
            parts[column] = _as_floats(frame[column])
        for column in self.types.datetime:
            # The time column a study splits on gives its calendar parts only: the test period
            # lies beyond every training time, so its absolute time would only extrapolate.
            absolute = column != self.types.time
            parts.update(_date_parts(frame[column], column, absolute=absolute))
        for column in self._categorical:
            parts[column] = _as_strings(frame[column])
        return pd.DataFrame(parts, index=frame.index)

    def _numeric_pipeline(self, n_rows: int) -> Any:
        from sklearn.impute import SimpleImputer
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import QuantileTransformer, StandardScaler

        imputer = SimpleImputer(strategy="median", add_indicator=True, keep_empty_features=True)
        steps: list[Any] = [imputer]
        if self.quantile:
            steps.append(
                QuantileTransformer(
                    n_quantiles=max(2, min(_QUANTILES, n_rows)),
                    output_distribution="normal",
                    random_state=0,
                )
            )
        if self.scale:
            steps.append(StandardScaler())
        return make_pipeline(*steps) if len(steps) > 1 else imputer

    def _categorical_pipeline(self) -> Any:
        from sklearn.impute import SimpleImputer
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import OneHotEncoder, OrdinalEncoder

        if self.encoding == "ordinal":
            return OrdinalEncoder(
                handle_unknown="use_encoded_value",
                unknown_value=np.nan,
                encoded_missing_value=np.nan,
                dtype=np.float64,
            )
        return make_pipeline(
            SimpleImputer(strategy="constant", fill_value=_MISSING, keep_empty_features=True),
            OneHotEncoder(handle_unknown="ignore"),
        )


def _as_floats(values: pd.Series) -> np.ndarray:
    if pd.api.types.is_bool_dtype(values):
        values = values.astype(float)
    numbers = pd.to_numeric(values, errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    return np.where(np.isfinite(numbers), numbers, np.nan)


def _as_strings(values: pd.Series) -> np.ndarray:
    """Category values as text, missing as NaN; whole floats as integers (``2.0`` -> ``"2"``),
    since pandas stores an integer column with gaps as floats."""
    missing = values.isna().to_numpy()
    if pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values):
        numbers = values.to_numpy(dtype=float, na_value=np.nan)
        whole = np.isfinite(numbers) & (numbers == np.round(numbers))
        text = [
            str(int(n)) if w else str(v)
            for n, w, v in zip(numbers, whole, values.tolist(), strict=True)
        ]
    else:
        text = [str(v) for v in values.tolist()]
    out = np.asarray(text, dtype=object)
    out[missing] = np.nan
    return out


def _date_parts(values: pd.Series, column: str, *, absolute: bool = True) -> dict[str, np.ndarray]:
    times = parse_dates(values)
    epoch = (times - pd.Timestamp(0, tz="UTC")) / pd.Timedelta(seconds=1)
    parts = {
        "epoch_s": epoch,
        "hour": times.dt.hour,
        "day_of_week": times.dt.day_of_week,
        "month": times.dt.month,
    }
    return {
        f"{column}__{name}": pd.Series(parts[name]).to_numpy(dtype=float, na_value=np.nan)
        for name in _DATE_PARTS
        if absolute or name != "epoch_s"
    }
