"""``tabular.llm-zero-shot``: rows serialised as text, sent to a local OpenAI-compatible server."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from crossover.models.llm import limit_spend
from crossover.strategies import Strategy
from crossover.strategies.tabular.llm import TabularLlmZeroShot, serialise_rows
from tests.llm.conftest import FakeOpenAI

TYPES = {"amount": "numeric", "channel": "categorical", "memo": "text"}


@pytest.fixture(autouse=True)
def _key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-tabular-0000")
    limit_spend(None)


def rows() -> tuple[pd.DataFrame, list[str]]:
    frame = pd.DataFrame(
        {
            "amount": [912.5, 12.0, np.nan, 40.0],
            "channel": ["online", "store", "online", "phone"],
            "memo": ["prepaid gift card fraud ring", "weekly groceries", "crypto fraud", ""],
        }
    )
    return frame, ["fraud", "ok", "fraud", "ok"]


def _llm(fake: FakeOpenAI, cache: Path, model: str = "openai/good") -> TabularLlmZeroShot:
    """The strategy on the local test server, free of charge, caching under ``cache``."""
    return TabularLlmZeroShot(
        model,
        column_types=TYPES,
        api_base=fake.base_url,
        input_usd_per_mtok=0.0,
        output_usd_per_mtok=0.0,
        cache_dir=str(cache),
    )


def test_rows_are_serialised_without_missing_values() -> None:
    frame, _ = rows()
    texts = serialise_rows(frame, ["memo", "amount", "channel", "absent"])
    assert texts[0] == "memo: prepaid gift card fraud ring; amount: 912.5; channel: online"
    assert texts[2] == "memo: crypto fraud; channel: online"  # NaN left out
    assert texts[3] == "amount: 40.0; channel: phone"  # empty text left out


def test_probabilities_are_one_hot_on_the_answer(fake_openai: FakeOpenAI, tmp_path: Path) -> None:
    frame, y = rows()
    model = _llm(fake_openai, tmp_path, "openai/sometimes-malformed").fit(frame, y)
    garbled = pd.concat([frame, frame.iloc[[1]].assign(memo="garble")], ignore_index=True)
    proba = model.predict_proba(garbled)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    # The fake server names "fraud" where the row says fraud; else the first label, "fraud".
    np.testing.assert_array_equal(proba[0], [1.0, 0.0])
    np.testing.assert_array_equal(proba[-1], [0.5, 0.5])  # unparseable: no opinion
    usage = model.api_usage()
    assert usage is not None and usage["unparseable"] == 1
    saved = model.save(tmp_path / "saved")
    loaded = Strategy.load(saved)
    np.testing.assert_array_equal(loaded.predict_proba(garbled), proba)


def test_compare_a_table_with_llm(fake_openai: FakeOpenAI, tmp_path: Path) -> None:
    from crossover.cli import app

    rng = np.random.default_rng(0)
    n = 120
    fraud = rng.random(n) < 0.3
    table = pd.DataFrame(
        {
            "amount": rng.lognormal(3, 1, n).round(2),
            "memo": np.where(fraud, "fraud prepaid card", "ok groceries market"),
            "is_fraud": np.where(fraud, "fraud", "ok"),
        }
    )
    data = tmp_path / "t.csv"
    table.to_csv(data, index=False)
    args = ["compare", str(data), "--task", "tabular-classification", "--label", "is_fraud"]
    args += ["--llm", "openai/good", "--api-base", fake_openai.base_url, "--llm-price", "0,0"]
    args += ["--budgets", "full", "--repeats", "1", "--out", str(tmp_path / "out")]
    args += ["--model", "tokenlearn/static-model-64d", "--jobs", "1"]
    result = CliRunner(env={"CROSSOVER_CACHE_DIR": str(tmp_path / "cache")}).invoke(app, args)
    assert result.exit_code == 0, result.output
    board = pd.read_csv(tmp_path / "out" / "leaderboard.csv")
    row = board[board["strategy"] == "tabular.llm-zero-shot"].iloc[0]
    assert row["kind"] == "pretrained" and row["score"] > 0.9  # each memo names its label


def test_an_exported_table_llm_model_serves_rows(fake_openai: FakeOpenAI, tmp_path: Path) -> None:
    from fastapi.testclient import TestClient

    from crossover.artifacts.export import export_strategy
    from crossover.serve import create_app

    frame, y = rows()
    model = _llm(fake_openai, tmp_path / "cache").fit(frame, y)
    folder = export_strategy(model, tmp_path / "model")
    with TestClient(create_app(folder)) as client:
        schema = client.get("/openapi.json").json()
        answered = client.post(
            "/v1/predict",
            json={"rows": [{"amount": 900.0, "channel": "online", "memo": "crypto fraud"}]},
        )
        missing = client.post("/v1/predict", json={"rows": [{"amount": 1.0, "memo": "x"}]})
    assert "channel" in str(schema)  # the row's columns are the documented input
    assert answered.status_code == 200, answered.text
    assert answered.json()["predictions"][0]["label"] == "fraud"
    assert missing.status_code == 422 and "channel" in missing.text


def test_a_row_without_an_input_column_is_named(fake_openai: FakeOpenAI, tmp_path: Path) -> None:
    from crossover.errors import DataError

    frame, y = rows()
    model = _llm(fake_openai, tmp_path).fit(frame, y)
    assert model.input_schema() == TYPES
    with pytest.raises(DataError, match="'channel'"):
        model.predict(frame.drop(columns=["channel"]))
