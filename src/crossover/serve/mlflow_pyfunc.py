"""MLflow's loader module for a crossover model folder (``mlflow.pyfunc`` with
``loader_module="crossover.serve.mlflow_pyfunc"``; :func:`crossover.tracking.register_model`
logs one).

MLflow copies the exported folder, as it is, into the logged model's ``data`` folder and calls
:func:`_load_pyfunc` on that copy: the folder is verified (every file against the manifest's
hashes) and loaded by :func:`crossover.artifacts.load_model`, crossover's own loader, which reads
safe weight files and never unpickles. ``predict`` answers what ``crossover serve`` answers, row
for row:

- a classifier (texts, table rows, images): a DataFrame with ``label`` and ``probabilities``
  (class -> probability, or None for a model that gives none), the fields of a prediction of
  ``POST /v1/predict``;
- a recommender: a DataFrame with ``items`` (the ranked item ids) for each ``user`` (or for
  each session's ``items``).

Inputs come as MLflow sends them: a DataFrame (``mlflow models serve`` turns the
``dataframe_split`` / ``dataframe_records`` / ``inputs`` body into one), a list or a Series.
A text model reads the ``text`` column (or the only column), an image model the ``image``
column (base64 text or bytes), a table model every input column, a recommender ``user`` and an
optional ``k``.

This module is part of serving: it imports the loader and serving code only (the layering
contract of ``pyproject.toml``), never training or evaluation.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any

from crossover.artifacts.load import LoadedModel, load_model
from crossover.errors import DataError

__all__ = ["CrossoverPyfunc"]

#: What a classifier's prediction frame holds, in this order.
PREDICTION_COLUMNS = ["label", "probabilities"]


class CrossoverPyfunc:
    """A loaded crossover model behind MLflow's pyfunc ``predict``."""

    def __init__(self, model: LoadedModel) -> None:
        self.model = model

    @property
    def kind(self) -> str:
        return self.model.input_kind

    def predict(self, model_input: Any, params: dict[str, Any] | None = None) -> Any:
        import pandas as pd

        if self.model.forecasts:
            raise DataError(
                f"{self.model.manifest['strategy']} forecasts series: serve it with crossover "
                "serve (POST /v1/forecast); its MLflow model answers classifiers and recommenders"
            )
        if self.model.recommends:
            return self._recommend(_frame(model_input, "user"), params or {})
        from crossover.serve.served import predict_rows

        frame = _frame(model_input, "image" if self.kind == "image" else "text")
        if self.kind == "table":
            inputs: Any = _table_rows(frame, self.model)
        elif self.kind == "image":
            inputs = [_image_bytes(v, i) for i, v in enumerate(_column(frame, "image"))]
        else:
            inputs = [_text(v, i) for i, v in enumerate(_column(frame, "text"))]
        predictions = predict_rows(self.model, inputs) if len(frame) else []
        return pd.DataFrame(
            [{"label": p.label, "probabilities": p.probabilities} for p in predictions],
            columns=PREDICTION_COLUMNS,
        )

    def _recommend(self, frame: Any, params: dict[str, Any]) -> Any:
        """Per row, as ``POST /v1/recommend``: a known ``user``'s next items, or for a row
        with ``items`` (a session: item ids) instead, the items to show after them."""
        import pandas as pd

        model = self.model
        default_k = int(params.get("k") or model.default_k)
        if "user" not in frame.columns and "items" not in frame.columns:
            raise DataError(
                f"the input has columns {', '.join(map(str, frame.columns))}: send 'user' (a "
                "user id) or 'items' (a session's item ids), and optionally 'k'"
            )
        rows = []
        for index, record in enumerate(frame.to_dict("records")):
            k = record.get("k")
            k = default_k if k is None or pd.isna(k) else int(k)
            user = record.get("user")
            if user is not None and not _missing(user, pd):
                user = str(user)
                if not model.knows_user(user):
                    raise DataError(
                        f"row {index}: user {user!r} has no history in the model; send the "
                        "items they interacted with as 'items' instead"
                    )
                items = model.recommend(user, k=k)
            else:
                session = [str(i) for i in (record.get("items") or [])]
                unknown = [i for i in session if not model.knows_item(i)]
                if not session or unknown:
                    raise DataError(
                        f"row {index}: send a 'user' or a non-empty 'items' list of catalogue "
                        f"ids (unknown: {', '.join(unknown) or 'none'})"
                    )
                items = model.recommend_items(session, k=k)
                user = None
            rows.append({"user": user, "items": [str(i) for i in items]})
        return pd.DataFrame(rows, columns=["user", "items"])


def _frame(model_input: Any, column: str) -> Any:
    """``model_input`` as a DataFrame: a list, array or Series of values becomes ``column``."""
    import pandas as pd

    if isinstance(model_input, pd.DataFrame):
        return model_input
    if isinstance(model_input, pd.Series):
        return model_input.to_frame(column)
    if isinstance(model_input, dict):
        return pd.DataFrame(model_input)
    if isinstance(model_input, str | bytes):
        model_input = [model_input]
    return pd.DataFrame({column: list(model_input)})


def _column(frame: Any, name: str) -> list[Any]:
    if name in frame.columns:
        return list(frame[name])
    if len(frame.columns) == 1:
        return list(frame.iloc[:, 0])
    raise DataError(
        f"the input has columns {', '.join(map(str, frame.columns))}: send a column named {name!r}"
    )


def _text(value: Any, row: int) -> str:
    if not isinstance(value, str) or not value:
        raise DataError(f"row {row}: 'text' is {value!r}; send a non-empty text")
    return value


def _image_bytes(value: Any, row: int) -> bytes:
    if isinstance(value, bytes | bytearray):
        return bytes(value)
    if isinstance(value, str) and value:
        try:
            return base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError):
            pass
    raise DataError(f"row {row}: 'image' is not an image file's bytes nor their base64 text")


def _table_rows(frame: Any, model: LoadedModel) -> Any:
    """The rows as ``POST /v1/predict`` reads them: each checked against the model's columns
    and turned into the form the model reads (``TableSpec``), so that MLflow and ``crossover
    serve`` give a row the same prediction. A missing value is NaN, None or NaT."""
    import pandas as pd
    from pydantic import ValidationError

    from crossover.serve.table import RowsInvalid, TableSpec

    spec = TableSpec.from_manifest(model.manifest)
    if spec is None:  # pragma: no cover - input_kind "table" always has a spec
        raise DataError("this model does not take table rows")
    row_model = spec.row_model()
    rows = []
    for index, record in enumerate(frame.to_dict("records")):
        values = {str(k): _plain(v) for k, v in record.items()}
        values = {k: (None if v is not None and _missing(v, pd) else v) for k, v in values.items()}
        try:
            rows.append(row_model.model_validate(values))
        except ValidationError as exc:
            problems, _, _ = spec.describe_errors(
                [{**e, "loc": ("rows", index, *e["loc"])} for e in exc.errors()]
            )
            raise DataError(
                "; ".join(f"row {p.row}: {p.message}" for p in problems)
                + f" (the model's columns: {spec.describe()})"
            ) from None
    try:
        records = spec.records(rows)
    except RowsInvalid as exc:
        raise DataError("; ".join(f"row {p.row}: {p.message}" for p in exc.problems)) from None
    return spec.frame(records)


def _plain(value: Any) -> Any:
    """A numpy scalar as the Python value JSON would have given."""
    item = getattr(value, "item", None)
    return item() if callable(item) and not isinstance(value, str | bytes) else value


def _missing(value: Any, pd: Any) -> bool:
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def _load_pyfunc(data_path: str, model_config: dict[str, Any] | None = None) -> CrossoverPyfunc:
    """MLflow's entry point: ``data_path`` is the copy of the exported folder."""
    return CrossoverPyfunc(load_model(data_path))
