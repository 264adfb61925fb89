"""``text.api-embeddings`` and ``text.api-embedding-head`` against a real ``crossover serve``.

The server (``served_embeddings`` in conftest) serves ``POST /v1/embeddings`` from the tiny
offline ``FAST_MODEL``, so the vectors that come back through LiteLLM can be checked against
the local model's, and the cache, the spend cap and the usage record against real HTTP calls.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from crossover.models import get_embedder
from crossover.models.api_embeddings import ApiEmbedder, api_model_identity
from crossover.models.llm import SpendLimitReached, limit_spend, spend_ledger
from crossover.strategies import Strategy, registry
from crossover.strategies.text import ApiEmbeddingHead, ApiZeroShotEmbeddings
from tests.conftest import FAST_MODEL, make_tickets
from tests.llm.conftest import ServedEmbeddings

KEY = "sk-test-api-embeddings-0123456789"


@pytest.fixture(autouse=True)
def _dummy_key(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    limit_spend(None)
    yield
    limit_spend(None)


@pytest.fixture
def params(served_embeddings: ServedEmbeddings, tmp_path: Path) -> dict[str, Any]:
    return {
        "api_model": served_embeddings.api_model,
        "api_base": served_embeddings.base_url,
        "input_usd_per_mtok": 0.02,
        "cache_dir": str(tmp_path / "cache"),
    }


@pytest.fixture(scope="module")
def data() -> tuple[pd.DataFrame, pd.DataFrame]:
    frame = make_tickets(12).sample(frac=1.0, random_state=1).reset_index(drop=True)
    return frame.iloc[:24], frame.iloc[24:]


def test_both_are_registered_api_strategies_not_run_by_default() -> None:
    for key, kind in (("text.api-embeddings", "pretrained"), ("text.api-embedding-head", "hybrid")):
        cls = registry.get(key)
        assert cls.is_api and not cls.default and cls.kind == kind


def test_vectors_equal_the_local_models(params: dict[str, Any]) -> None:
    texts = [f"where is my parcel {i}?" for i in range(70)] + ["refund my kettle", "log in"]
    embedder = ApiEmbedder(
        params["api_model"], api_base=params["api_base"], cache_dir=params["cache_dir"]
    )
    remote = embedder.encode(texts)
    local = get_embedder(FAST_MODEL, use_cache=False).encode(texts, use_cache=False)
    assert remote.shape == local.shape == (len(texts), 64)
    np.testing.assert_allclose(remote, local, atol=1e-5)
    assert embedder.dimension == 64 and embedder.parameter_count() == 0
    assert embedder.usage.paid_calls == 2  # 72 texts in batches of 64
    assert embedder.usage.paid_tokens > 0  # the server's usage.prompt_tokens


def test_cache_identity_is_the_model_and_base_url_never_the_key() -> None:
    a = api_model_identity("openai/m", "http://127.0.0.1:1/v1")
    assert a == api_model_identity("openai/m", "http://127.0.0.1:1/v1/")
    assert a == api_model_identity("openai/m", "http://user:sk-secret@127.0.0.1:1/v1?key=x")
    assert a != api_model_identity("openai/m", "http://127.0.0.1:2/v1")
    assert a != api_model_identity("openai/other", "http://127.0.0.1:1/v1")
    assert "secret" not in api_model_identity("openai/m", "http://u:sk-secret@h/v1")


def test_zero_shot_predicts_labels_and_reports_usage(
    params: dict[str, Any], data: tuple[pd.DataFrame, pd.DataFrame]
) -> None:
    train, test = data
    strategy = ApiZeroShotEmbeddings(**params).fit(train.text, train.label)
    pred = strategy.predict(test.text)
    assert set(pred) <= set(train.label) and len(pred) == len(test)
    api = strategy.api_usage()
    assert api is not None
    assert api["model"] == params["api_model"] and api["predictions"] == len(test)
    assert api["paid_calls"] == 1 and api["cached_answers"] == 0
    assert api["input_tokens_per_prediction"] > 0 and api["output_tokens_per_prediction"] == 0
    assert api["latency_p50_ms_per_call"] > 0 and api["rows_per_s"] > 0
    assert api["input_usd_per_mtok"] == 0.02 and api["price_source"].startswith("given")
    assert api["fit_texts"] == 3  # the label prompts, paid apart from the predictions
    assert api["unparseable"] == api["failed"] == 0
    assert strategy.footprint()["parameters"] == 0
    assert strategy.footprint()["base_model_bytes"] == 0


def test_head_beats_chance_and_a_second_run_pays_nothing(
    params: dict[str, Any],
    data: tuple[pd.DataFrame, pd.DataFrame],
    served_embeddings: ServedEmbeddings,
) -> None:
    train, test = data
    ledger = limit_spend(None)
    first = ApiEmbeddingHead(**params).fit(train.text, train.label)
    proba = first.predict_proba(test.text)
    pred = first.classes_[proba.argmax(axis=1)]
    assert np.mean(pred == test.label.to_numpy()) > 0.5  # chance is 1/3
    spent = ledger.spent_usd
    assert spent > 0
    requests = served_embeddings.embedding_requests()

    # Both strategies share the cache: the rerun and the zero-shot one pay for nothing new.
    second = ApiEmbeddingHead(**params).fit(train.text, train.label)
    np.testing.assert_array_equal(second.predict(test.text), pred)
    api = second.api_usage()
    assert api is not None
    assert api["paid_calls"] == 0 and api["cached_answers"] == len(test)
    assert api["fit_paid_calls"] == 0 and api["fit_cached_texts"] == len(train)
    # The cache kept the tokens billed, so a cached prediction costs what a paid one did.
    first_api = first.api_usage()
    assert first_api is not None
    assert api["input_tokens_per_prediction"] == pytest.approx(
        first_api["input_tokens_per_prediction"]
    )
    assert ledger.spent_usd == spent
    assert served_embeddings.embedding_requests() == requests


def test_spend_cap_stops_cleanly_and_keeps_what_was_paid(
    params: dict[str, Any], data: tuple[pd.DataFrame, pd.DataFrame]
) -> None:
    train, _ = data
    texts = [f"{t} ({i})" for i, t in enumerate(train.text.tolist() * 6)]  # 144: 3 batches
    limit_spend(1e-9)
    with pytest.raises(SpendLimitReached, match="max-spend-usd"):
        ApiEmbeddingHead(**params).fit(texts, train.label.tolist() * 6)
    assert spend_ledger().spent_usd == 0.0
    limit_spend(None)
    embedder = ApiEmbedder(
        params["api_model"],
        api_base=params["api_base"],
        cache_dir=params["cache_dir"],
        input_usd_per_mtok=0.02,
        max_concurrency=1,
    )
    # A cap worth about one batch: the first is paid and cached, the rest are not sent.
    one_batch = embedder.cost(sum(len(t) for t in texts[:64]) / 4 + 64)
    limit_spend(one_batch)
    embedder.spend = spend_ledger()
    with pytest.raises(SpendLimitReached):
        embedder.encode(texts)
    assert embedder.usage.paid_calls == 0  # the failed encode recorded nothing as done
    paid = embedder.model_calls
    assert paid == 64
    limit_spend(None)
    embedder.spend = spend_ledger()
    embedder.encode(texts)
    assert embedder.model_calls == len(texts)  # only the rest was paid for


def test_saved_state_holds_no_key_and_the_head_loads_without_calls(
    params: dict[str, Any],
    data: tuple[pd.DataFrame, pd.DataFrame],
    tmp_path: Path,
    served_embeddings: ServedEmbeddings,
) -> None:
    train, test = data
    for cls in (ApiZeroShotEmbeddings, ApiEmbeddingHead):
        strategy = cls(**params, api_key_env="OPENAI_API_KEY").fit(train.text, train.label)
        expected = strategy.predict(test.text)
        saved = strategy.save(tmp_path / cls.key)
        for path in saved.rglob("*"):
            if path.is_file():
                assert KEY.encode() not in path.read_bytes(), path
        assert not list(saved.rglob("*.pkl"))
        requests = served_embeddings.embedding_requests()
        loaded = Strategy.load(saved)
        if cls is ApiEmbeddingHead:
            assert served_embeddings.embedding_requests() == requests  # weights are local
        np.testing.assert_array_equal(loaded.predict(test.text), expected)
    assert KEY not in served_embeddings.log()


def test_estimate_counts_batches_and_tokens(params: dict[str, Any]) -> None:
    estimate = ApiZeroShotEmbeddings(**params).estimate(["abcd" * 10] * 130)
    assert estimate == {"calls": 3, "input_tokens": 1300, "usd": pytest.approx(1300 * 0.02 / 1e6)}


def test_compare_with_an_embeddings_api_runs_curves_from_the_cache(
    served_embeddings: ServedEmbeddings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Through the CLI: both strategies on the leaderboard, priced per prediction; the
    head's learning-curve trials (worker processes) read every vector from the cache."""
    from typer.testing import CliRunner

    from crossover.cli import app

    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    monkeypatch.setenv("CROSSOVER_CACHE_DIR", str(tmp_path / "cache"))
    data = tmp_path / "tickets.csv"
    make_tickets(12).to_csv(data, index=False)
    out = tmp_path / "out"
    args = ["compare", str(data), "--embedding-api", served_embeddings.api_model]
    args += ["--embedding-api-base", served_embeddings.base_url, "--embedding-price", "0.02"]
    args += ["--strategies", "text.api-embeddings,text.api-embedding-head"]
    args += ["--budgets", "4,full", "--seeds", "2", "--jobs", "2", "--out", str(out), "--yes"]
    before = served_embeddings.embedding_requests()
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    paid = served_embeddings.embedding_requests() - before
    # Texts go in batches of 64: the test rows, the training rows and the label prompts,
    # once each; the four learning-curve trials add nothing.
    n_texts = len(make_tickets(12))
    assert 0 < paid <= n_texts // 64 + 4
    board = pd.read_csv(out / "leaderboard.csv")
    assert set(board["strategy"]) == {"text.api-embeddings", "text.api-embedding-head"}
    curve = pd.read_csv(out / "learning_curve.csv")
    assert "4" in set(curve["budget_per_class"].astype(str))
    costs = pd.read_csv(out / "costs.csv")
    assert (costs["hosting"] == "api").all() and (costs["usd_per_million"] > 0).all()
    assert KEY not in (out / "study.json").read_text()


def test_the_cap_stops_a_study_cleanly_and_a_rerun_pays_only_the_rest(
    served_embeddings: ServedEmbeddings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from typer.testing import CliRunner

    from crossover.cli import app

    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    monkeypatch.setenv("CROSSOVER_CACHE_DIR", str(tmp_path / "cache"))
    data = tmp_path / "tickets.csv"
    make_tickets(40).to_csv(data, index=False)
    out = tmp_path / "out"
    args = ["compare", str(data), "--embedding-api", served_embeddings.api_model]
    args += ["--embedding-api-base", served_embeddings.base_url, "--embedding-price", "1000"]
    args += ["--strategies", "text.tfidf-linear,text.api-embedding-head", "--budgets", "full"]
    args += ["--out", str(out), "--yes"]
    stopped = CliRunner().invoke(app, [*args, "--max-spend-usd", "0.0005"])
    assert stopped.exit_code == 2, stopped.output
    assert "max-spend-usd" in stopped.output and "Traceback" not in stopped.output
    kept = list((out / "trials").glob("*.json"))
    assert kept  # the custom model's finished trial is kept
    before = served_embeddings.embedding_requests()
    rerun = CliRunner().invoke(app, [*args, "--max-spend-usd", "10"])
    assert rerun.exit_code == 0, rerun.output
    assert "resumed 1 finished trial" in rerun.output
    assert served_embeddings.embedding_requests() - before >= 1
