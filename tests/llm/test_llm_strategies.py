"""The LLM strategies and their client against a real local OpenAI-compatible server.

Every behaviour the issue names: a correct answer, a malformed answer, a 429 then success, a
timeout, the spend cap, the response cache, and that no key appears in any output file.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from crossover.errors import ConfigError
from crossover.models.llm import LlmClient, SpendLimitReached, limit_spend
from crossover.strategies.text.llm import (
    NO_ANSWER,
    UNPARSEABLE,
    LlmFewShot,
    LlmZeroShot,
    parse_label,
)
from tests.llm.conftest import FakeOpenAI

SECRET = "sk-test-very-secret-key-0123456789"
LABELS = ["billing", "refund", "shipping"]
TEXTS = [
    "my billing statement is wrong",
    "I want a refund for the broken lamp",
    "where is my shipping label",
    "billing charged me twice",
    "refund please, it never arrived",
    "shipping to Canada takes how long?",
]
Y = ["billing", "refund", "shipping", "billing", "refund", "shipping"]


@pytest.fixture(autouse=True)
def _key_and_ledger(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", SECRET)
    limit_spend(None)


def strategy(server: FakeOpenAI, behaviour: str, tmp_path: Path, **kw: Any) -> LlmZeroShot:
    params: dict[str, Any] = {
        "api_base": server.base_url,
        "input_usd_per_mtok": 1.0,
        "output_usd_per_mtok": 2.0,
        "cache_dir": str(tmp_path / "cache"),
        "max_retries": 2,
        "timeout_s": 5.0,
    }
    params.update(kw)
    return LlmZeroShot(f"openai/{behaviour}", **params)


def test_parse_label_accepts_the_usual_shapes_and_refuses_ambiguity() -> None:
    assert parse_label('{"label": "refund"}', LABELS) == "refund"
    assert parse_label('```json\n{"label": "Refund", "why": "x"}\n```', LABELS) == "refund"
    assert parse_label('"shipping"', LABELS) == "shipping"
    assert parse_label("SHIPPING.", LABELS) == "shipping"
    assert parse_label("I would say billing.", LABELS) == "billing"
    assert parse_label("billing or refund", LABELS) is None
    assert parse_label("Hmm, hard to say.", LABELS) is None
    assert parse_label('{"label": "tax"}', LABELS) is None


def test_a_correct_server_gives_labels_tokens_and_latency(
    fake_openai: FakeOpenAI, tmp_path: Path
) -> None:
    model = strategy(fake_openai, "good", tmp_path).fit(TEXTS, Y)
    predictions = model.predict(TEXTS)
    assert list(predictions) == Y
    usage = model.api_usage()
    assert usage is not None
    assert usage["predictions"] == 6 and usage["paid_calls"] == 6 and usage["unparseable"] == 0
    assert usage["input_tokens_per_prediction"] > 10  # the prompt with the labels
    assert usage["output_tokens_per_prediction"] > 0
    assert usage["latency_p50_ms_per_call"] > 0
    assert fake_openai.stats()["authorization_seen"]


def test_malformed_answers_are_errors_never_dropped(
    fake_openai: FakeOpenAI, tmp_path: Path
) -> None:
    model = strategy(fake_openai, "sometimes-malformed", tmp_path).fit(TEXTS, Y)
    texts = [*TEXTS, "garble garble"]
    predictions = model.predict(texts)
    assert len(predictions) == len(texts)
    assert predictions[-1] == UNPARSEABLE and list(predictions[:-1]) == Y
    usage = model.api_usage()
    assert usage is not None and usage["unparseable"] == 1
    assert usage["unparseable_examples"] == ["label: ???"]


def test_a_429_is_retried_then_answered(fake_openai: FakeOpenAI, tmp_path: Path) -> None:
    fake_openai.reset()
    model = strategy(fake_openai, "ratelimit-once", tmp_path).fit(TEXTS, Y)
    assert list(model.predict(TEXTS[:3])) == Y[:3]
    stats = fake_openai.stats()
    assert stats["by_status"].get("429") == 3 and stats["by_status"].get("200") == 3


def test_a_server_error_is_retried_then_answered(fake_openai: FakeOpenAI, tmp_path: Path) -> None:
    fake_openai.reset()
    model = strategy(fake_openai, "error-once", tmp_path).fit(TEXTS, Y)
    assert list(model.predict(TEXTS[:2])) == Y[:2]
    assert fake_openai.stats()["by_status"].get("500") == 2


def test_a_timeout_after_the_retries_is_a_failed_prediction(
    fake_openai: FakeOpenAI, tmp_path: Path
) -> None:
    model = strategy(fake_openai, "slow", tmp_path, timeout_s=0.3, max_retries=1).fit(TEXTS, Y)
    predictions = model.predict(TEXTS[:2])
    assert list(predictions) == [NO_ANSWER, NO_ANSWER]
    usage = model.api_usage()
    assert usage is not None and usage["failed"] == 2


def test_the_cache_means_a_rerun_never_pays_twice(fake_openai: FakeOpenAI, tmp_path: Path) -> None:
    fake_openai.reset()
    first = strategy(fake_openai, "good", tmp_path).fit(TEXTS, Y)
    first.predict(TEXTS)
    again = strategy(fake_openai, "good", tmp_path).fit(TEXTS, Y)
    assert list(again.predict(TEXTS)) == Y
    usage = again.api_usage()
    assert usage is not None and usage["paid_calls"] == 0 and usage["cached_answers"] == 6
    assert fake_openai.stats()["requests"].get("good") == 6  # the first run's only


def test_the_spend_cap_stops_cleanly_and_keeps_what_was_paid(
    fake_openai: FakeOpenAI, tmp_path: Path
) -> None:
    fake_openai.reset()
    # About 60 tokens a prompt at $1 per 1M: ~$0.0001 a call (booked with 32 output tokens at
    # $2 per 1M). A cap of $0.0003 lets a couple of calls through, not six.
    ledger = limit_spend(0.0003)
    model = strategy(fake_openai, "good", tmp_path, max_concurrency=1).fit(TEXTS, Y)
    with pytest.raises(SpendLimitReached, match="max-spend-usd"):
        model.predict(TEXTS)
    paid = fake_openai.stats()["requests"].get("good", 0)
    assert 0 < paid < len(TEXTS)
    assert ledger.spent_usd <= 0.0003
    limit_spend(None)
    rerun = strategy(fake_openai, "good", tmp_path, max_concurrency=1).fit(TEXTS, Y)
    assert list(rerun.predict(TEXTS)) == Y
    usage = rerun.api_usage()
    assert usage is not None and usage["cached_answers"] == paid
    assert fake_openai.stats()["requests"]["good"] == len(TEXTS)


def test_a_refused_key_is_a_clear_error_without_the_key(
    fake_openai: FakeOpenAI, tmp_path: Path
) -> None:
    model = strategy(fake_openai, "unauthorized", tmp_path).fit(TEXTS, Y)
    with pytest.raises(ConfigError, match="refused the key") as caught:
        model.predict(TEXTS[:1])
    assert SECRET not in str(caught.value)


def test_few_shot_puts_labelled_examples_in_the_prompt(
    fake_openai: FakeOpenAI, tmp_path: Path
) -> None:
    model = LlmFewShot(
        "openai/good",
        examples_per_class=1,
        api_base=fake_openai.base_url,
        input_usd_per_mtok=0.0,
        output_usd_per_mtok=0.0,
        cache_dir=str(tmp_path),
    ).fit(TEXTS, Y)
    assert sorted(label for _, label in model.examples_) == sorted(LABELS)
    messages = model._messages("new text")
    assert [m["role"] for m in messages] == ["system"] + ["user", "assistant"] * 3 + ["user"]
    assert model.kind == "hybrid" and LlmZeroShot.kind == "pretrained"
    assert list(model.predict(TEXTS)) == Y


def test_an_unknown_price_fails_before_any_call() -> None:
    with pytest.raises(ConfigError, match="--llm-price"):
        LlmZeroShot("openai/some-private-model").fit(TEXTS, Y)


def test_client_refuses_a_missing_key_variable() -> None:
    with pytest.raises(ConfigError, match="NOT_SET_ANYWHERE"):
        LlmClient("openai/good", api_key_env="NOT_SET_ANYWHERE")


def test_compare_with_llm_prices_the_api_and_writes_no_key(
    fake_openai: FakeOpenAI, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from crossover.cli import app

    monkeypatch.setenv("CROSSOVER_CACHE_DIR", str(tmp_path / "cache"))
    rng = np.random.default_rng(0)
    rows = [
        {"text": f"{label} question number {i} {rng.integers(1000)}", "label": label}
        for i in range(20)
        for label in LABELS
    ]
    data = tmp_path / "tickets.csv"
    pd.DataFrame(rows).to_csv(data, index=False)
    out = tmp_path / "out"
    args = ["compare", str(data), "--llm", "openai/good", "--api-base", fake_openai.base_url]
    args += ["--llm-price", "0.15,0.6", "--budgets", "full", "--model"]
    args += ["tokenlearn/static-model-64d", "--out", str(out), "--max-spend-usd", "1", "--yes"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "text.llm-zero-shot (openai/good)" in result.output
    assert "API spend estimate" in result.output
    report = (out / "report.html").read_text()
    assert "Models behind a paid API" in report and "text.llm-few-shot" in report
    assert "unparseable" in (out / "summary.md").read_text()
    study = (out / "study.json").read_text()
    assert '"text.llm-few-shot"' in study and '"input_tokens_per_prediction"' in study
    costs = pd.read_csv(out / "costs.csv")
    api_rows = costs[costs["strategy"].str.startswith("text.llm")]
    assert (api_rows["hosting"] == "api").all() and (api_rows["usd_per_million"] > 0).all()
    for path in out.rglob("*"):
        if path.is_file():
            assert SECRET not in path.read_text(errors="ignore"), path


def test_above_the_threshold_compare_asks_and_a_no_spends_nothing(
    fake_openai: FakeOpenAI, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from crossover.cli import app

    monkeypatch.setenv("CROSSOVER_CACHE_DIR", str(tmp_path / "cache"))
    fake_openai.reset()
    rows = [{"text": f"{label} ticket {i}", "label": label} for i in range(10) for label in LABELS]
    data = tmp_path / "tickets.csv"
    pd.DataFrame(rows).to_csv(data, index=False)
    args = ["compare", str(data), "--llm", "openai/good", "--api-base", fake_openai.base_url]
    args += ["--llm-price", "50000,50000", "--budgets", "full", "--out", str(tmp_path / "out")]
    args += ["--strategies", "text.tfidf-linear,text.llm-zero-shot"]
    result = CliRunner().invoke(app, args, input="n\n")
    assert result.exit_code == 2, result.output
    assert "Spend it?" in result.output and "nothing was spent" in result.output
    assert fake_openai.stats()["requests"].get("good", 0) == 0
    assert not (tmp_path / "out" / "study.json").exists()


def test_api_options_without_llm_are_refused(tmp_path: Path) -> None:
    from crossover.cli import app

    data = tmp_path / "t.csv"
    pd.DataFrame({"text": ["a b", "c d"] * 10, "label": ["x", "y"] * 10}).to_csv(data, index=False)
    result = CliRunner().invoke(app, ["compare", str(data), "--max-spend-usd", "3"])
    assert result.exit_code == 2 and "only apply with --llm" in result.output
    args = ["compare", str(data), "--text", "text", "--strategies", "text.llm-zero-shot"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 2 and "--llm MODEL" in result.output
