"""The MLflow pyfunc loader (``crossover.serve.mlflow_pyfunc``) answers as ``crossover serve``.

These tests call the loader module as MLflow does (``_load_pyfunc(data_path)``, then
``predict``) on exported folders; tests/test_tracking.py registers one in an MLflow server and
serves it with ``mlflow models serve``.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest
from fastapi.testclient import TestClient

from crossover.artifacts import export_strategy
from crossover.errors import DataError, ModelError
from crossover.serve import create_app
from crossover.serve.mlflow_pyfunc import CrossoverPyfunc, _load_pyfunc
from crossover.strategies.tabular import TabularLinear
from tests.serve.test_recommend_serve import recsys_dir, shop  # noqa: F401 (fixtures)
from tests.serve.test_tabular_serve import as_rows, make_table

TEXTS = ["I was charged twice this month", "the app crashes when I log in", "where is my parcel"]


def _served(model_dir: Path, path: str, body: dict[str, object]) -> dict[str, object]:
    with TestClient(create_app(model_dir)) as client:
        response = client.post(path, json=body)
    assert response.status_code == 200, response.text
    return dict(response.json())


def test_text_predictions_are_those_of_crossover_serve(embedding_dir: Path) -> None:
    model = _load_pyfunc(str(embedding_dir))
    for given in (pd.DataFrame({"text": TEXTS}), TEXTS, pd.Series(TEXTS)):
        frame = model.predict(given)
        assert list(frame.columns) == ["label", "probabilities"]
        served = _served(embedding_dir, "/v1/predict", {"inputs": TEXTS})["predictions"]
        assert frame.to_dict("records") == served
    labels = set(model.model.labels)
    assert all(set(p) == labels for p in frame["probabilities"])


def test_text_input_is_checked(tfidf_dir: Path) -> None:
    model = _load_pyfunc(str(tfidf_dir))
    with pytest.raises(DataError, match="row 1: 'text' is ''"):
        model.predict(pd.DataFrame({"text": ["fine", ""]}))
    with pytest.raises(DataError, match="send a column named 'text'"):
        model.predict(pd.DataFrame({"body": ["a"], "other": ["b"]}))
    assert model.predict(pd.DataFrame({"text": []})).empty


def test_table_rows_are_read_as_the_server_reads_them(tmp_path: Path) -> None:
    frame, labels = make_table(200)
    fitted = TabularLinear().fit(frame, labels)
    model_dir = export_strategy(fitted, tmp_path / "table")
    model = _load_pyfunc(str(model_dir))
    rows = frame.head(25)
    served = _served(model_dir, "/v1/predict", {"rows": as_rows(rows)})["predictions"]
    # A frame as pandas reads a CSV, and the same rows as the JSON records MLflow receives.
    assert model.predict(rows).to_dict("records") == served
    assert model.predict(pd.DataFrame(as_rows(rows))).to_dict("records") == served
    with pytest.raises(DataError, match=r"missing column.*'income'"):
        model.predict(rows.drop(columns=["income"]))
    bad = rows.astype({"age": object})
    bad.loc[bad.index[0], "age"] = "old"
    with pytest.raises(DataError, match=r"row 0: .*age"):
        model.predict(bad)


def test_recommender_answers_per_user_and_per_session(recsys_dir: Path) -> None:  # noqa: F811
    model = _load_pyfunc(str(recsys_dir))
    out = model.predict(pd.DataFrame({"user": ["space-user-3", "space-user-3"], "k": [7, None]}))
    body = _served(recsys_dir, "/v1/recommend", {"user": "space-user-3", "k": 7})
    assert out["items"].iloc[0] == body["items"]
    assert len(out["items"].iloc[1]) == model.model.default_k
    session = ["kitchen-1", "kitchen-2"]
    out = model.predict(pd.DataFrame({"items": [session], "k": [5]}))
    assert (
        out["items"].iloc[0]
        == _served(recsys_dir, "/v1/recommend", {"items": session, "k": 5})["items"]
    )
    with pytest.raises(DataError, match="user 'nobody' has no history"):
        model.predict(pd.DataFrame({"user": ["nobody"]}))


def test_a_tampered_copy_is_refused(tfidf_dir: Path, tmp_path: Path) -> None:
    copy = Path(shutil.copytree(tfidf_dir, tmp_path / "copy"))
    weights = next(p for p in sorted(copy.rglob("*")) if p.is_file() and p.suffix != ".json")
    weights.write_bytes(weights.read_bytes() + b"\0")
    with pytest.raises(ModelError):
        _load_pyfunc(str(copy))
    assert isinstance(_load_pyfunc(str(tfidf_dir)), CrossoverPyfunc)
