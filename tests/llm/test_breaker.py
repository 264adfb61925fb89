"""API strategies must not succeed by failing (issue 18): a dead server stops the run within
seconds with one line, a strategy whose calls mostly failed is left out of the study, calls
report their progress, and ``--llm`` with a ``--strategies`` list that cannot use it is an
error. Loopback only: the fake OpenAI server, a closed port, and a server that dies."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pandas as pd
import pytest
from typer.testing import CliRunner

from crossover.errors import ConfigError
from crossover.evaluation.progress import PlainReporter
from crossover.models.breaker import ApiUnreachable, CircuitBreaker
from crossover.models.llm import limit_spend
from crossover.strategies.text.llm import NO_ANSWER, UNPARSEABLE, LlmZeroShot
from tests.llm.conftest import REPO_ROOT, FakeOpenAI, _free_port

LABELS = ["billing", "refund", "shipping"]
CROSSOVER = str(Path(sys.executable).parent / "crossover")


@pytest.fixture(autouse=True)
def _key_and_ledger(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-not-a-real-key-0000")
    monkeypatch.setenv("CROSSOVER_CACHE_DIR", str(tmp_path / "cache"))
    limit_spend(None)


def _tickets(path: Path, n_per_class: int = 10) -> Path:
    rows = [
        {"text": f"{label} question number {i}", "label": label}
        for i in range(n_per_class)
        for label in LABELS
    ]
    pd.DataFrame(rows).to_csv(path, index=False)
    return path


# -- a dead server -------------------------------------------------------------------------------


def test_compare_at_a_dead_port_fails_within_30_s_with_one_line(tmp_path: Path) -> None:
    base = f"http://127.0.0.1:{_free_port()}/v1"  # bound, then closed: nothing listens
    data = _tickets(tmp_path / "tickets.csv")
    out = tmp_path / "out"
    args = [CROSSOVER, "compare", str(data), "--llm", "openai/x", "--api-base", base]
    args += ["--llm-price", "0,0", "--budgets", "full", "--out", str(out), "--yes"]
    args += ["--strategies", "text.tfidf-linear,text.llm-zero-shot"]
    start = time.monotonic()
    done = subprocess.run(
        args, cwd=REPO_ROOT, capture_output=True, text=True, timeout=120, env=dict(os.environ)
    )
    elapsed = time.monotonic() - start
    assert done.returncode == 2, done.stdout + done.stderr
    assert elapsed < 30, f"{elapsed:.1f} s"
    errors = [line for line in done.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, done.stderr
    assert errors[0].startswith(f"error: nothing answered at {base} for openai/x")
    assert "connection refused" in errors[0] and "--api-base" in errors[0]
    assert "Traceback" not in done.stderr
    # The trial that finished before is kept: a rerun resumes it.
    assert list((out / "trials").rglob("*.json"))
    assert not (out / "study.json").exists()


class _DyingServer:
    """A chat-completions server on loopback that answers ``answers`` calls, then closes its
    port (later connections are refused), as a server that crashes mid-run does."""

    def __init__(self, answers: int) -> None:
        owner = self
        self.answered = 0

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                body = json.loads(self.rfile.read(length))
                text = body["messages"][-1]["content"]
                label = next((x for x in LABELS if x in text), LABELS[0])
                payload = json.dumps(
                    {
                        "id": "chatcmpl-1",
                        "object": "chat.completion",
                        "created": 0,
                        "model": body["model"],
                        "choices": [
                            {
                                "index": 0,
                                "message": {
                                    "role": "assistant",
                                    "content": json.dumps({"label": label}),
                                },
                                "finish_reason": "stop",
                            }
                        ],
                        "usage": {"prompt_tokens": 10, "completion_tokens": 3, "total_tokens": 13},
                    }
                ).encode()
                self.send_response(200)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(payload)))
                self.send_header("connection", "close")
                self.end_headers()
                self.wfile.write(payload)
                self.close_connection = True
                owner.answered += 1
                if owner.answered >= answers:
                    threading.Thread(target=owner.stop, daemon=True).start()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base_url = f"http://127.0.0.1:{self.server.server_address[1]}/v1"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def dying_server() -> Iterator[_DyingServer]:
    server = _DyingServer(answers=3)
    yield server
    server.stop()


def test_a_server_that_dies_trips_the_breaker_and_keeps_what_was_paid(
    dying_server: _DyingServer, tmp_path: Path
) -> None:
    texts = [f"{label} ticket {i}" for i in range(3) for label in LABELS]
    params: dict[str, Any] = {
        "api_base": dying_server.base_url,
        "input_usd_per_mtok": 0.0,
        "output_usd_per_mtok": 0.0,
        "cache_dir": str(tmp_path / "cache"),
        "max_concurrency": 1,
    }
    model = LlmZeroShot("openai/x", **params).fit(LABELS, LABELS)
    start = time.monotonic()
    with pytest.raises(ApiUnreachable, match="connection refused") as caught:
        model.predict(texts)
    assert time.monotonic() - start < 20
    assert "\n" not in str(caught.value) and dying_server.base_url in str(caught.value)
    assert dying_server.answered == 3
    # The three answers paid for were cached as they came back: with the server gone, the
    # same texts are answered from the cache, without a call.
    again = LlmZeroShot("openai/x", **params).fit(LABELS, LABELS)
    assert list(again.predict(texts[:3])) == LABELS
    usage = again.api_usage()
    assert usage is not None and usage["cached_answers"] == 3 and usage["paid_calls"] == 0


def test_the_breaker_stops_embedding_calls_at_a_dead_port(tmp_path: Path) -> None:
    from crossover.models.api_embeddings import ApiEmbedder

    base = f"http://127.0.0.1:{_free_port()}/v1"
    embedder = ApiEmbedder(
        "openai/x", api_base=base, cache_dir=tmp_path, sleep=lambda s: None, max_retries=10
    )
    with pytest.raises(ApiUnreachable, match="after 5 tries in a row"):
        embedder.encode(["a text", "another"])
    assert embedder.breaker.tripped


def test_tries_that_time_out_trip_the_breaker_with_advice_on_load(
    fake_openai: FakeOpenAI, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import crossover.models.llm as llm_module

    monkeypatch.setattr(llm_module, "backoff_wait", lambda *args: 0.0)
    model = LlmZeroShot(
        "openai/slow",
        api_base=fake_openai.base_url,
        input_usd_per_mtok=0.0,
        output_usd_per_mtok=0.0,
        cache_dir=str(tmp_path),
        timeout_s=0.3,
        max_concurrency=1,
    ).fit(LABELS, LABELS)
    with pytest.raises(ApiUnreachable, match=r"\(timed out\) after 5 tries") as caught:
        model.predict(["billing one", "refund two"])
    assert "--llm-concurrency" in str(caught.value)


# -- the breaker's counts -----------------------------------------------------------------------


def _refused() -> Exception:
    try:
        httpx.post(f"http://127.0.0.1:{_free_port()}/", timeout=2)
    except httpx.ConnectError as exc:
        return exc
    raise AssertionError("the closed port answered")


def test_breaker_trips_on_tries_in_a_row_that_reach_nothing() -> None:
    breaker = CircuitBreaker("openai/x", "http://127.0.0.1:9/v1")
    refused = _refused()
    for _ in range(4):
        breaker.try_failed(refused)
    breaker.answered()  # an answer in between: the count starts again
    for _ in range(4):
        breaker.try_failed(refused)
    assert not breaker.tripped
    with pytest.raises(ApiUnreachable, match="connection refused"):
        breaker.try_failed(refused)
    with pytest.raises(ApiUnreachable):
        breaker.check()  # every later try stops at once


def test_breaker_counts_calls_that_failed_after_their_retries() -> None:
    breaker = CircuitBreaker("openai/x", "http://127.0.0.1:9/v1")
    server_error = RuntimeError("InternalServerError: the server had an error")
    for _ in range(4):
        breaker.try_failed(server_error)  # the server answered: not 'unreachable'
        breaker.call_failed(server_error, "InternalServerError: boom")
    assert not breaker.tripped
    with pytest.raises(ApiUnreachable, match="failed 5 calls in a row"):
        breaker.call_failed(server_error, "InternalServerError: boom")


def test_calls_failing_for_missing_credentials_say_to_set_the_key() -> None:
    breaker = CircuitBreaker("openai/x", "http://127.0.0.1:9/v1")
    missing = RuntimeError("InternalServerError: OpenAIException - Missing credentials.")
    for _ in range(4):
        breaker.call_failed(missing, "InternalServerError: Missing credentials. Please pass")
    with pytest.raises(ApiUnreachable, match="set the provider's API key"):
        breaker.call_failed(missing, "InternalServerError: Missing credentials. Please pass")


def test_the_breaker_does_not_trip_on_unparseable_answers(
    fake_openai: FakeOpenAI, tmp_path: Path
) -> None:
    model = LlmZeroShot(
        "openai/malformed",
        api_base=fake_openai.base_url,
        input_usd_per_mtok=0.0,
        output_usd_per_mtok=0.0,
        cache_dir=str(tmp_path),
        max_concurrency=1,
    ).fit(LABELS, LABELS)
    texts = [f"ticket {i}" for i in range(12)]
    predictions = model.predict(texts)
    assert list(predictions) == [UNPARSEABLE] * 12
    usage = model.api_usage()
    assert usage is not None and usage["failed"] == 0 and usage["unparseable"] == 12


# -- a strategy whose calls mostly failed --------------------------------------------------------


def _train_and_flaky_test() -> tuple[pd.DataFrame, pd.DataFrame]:
    """Training rows, and 9 test rows of which two in every three fail on the
    ``fails-on-flaky`` server (HTTP 500 on every try): never five in a row, so with one call
    at a time the breaker lets the calls finish."""
    train = pd.DataFrame(
        [{"text": f"{label} question {i}", "label": label} for i in range(8) for label in LABELS]
    )
    test = pd.DataFrame(
        [
            {"text": f"{label} ticket {i}" + ("" if j == 0 else " flaky"), "label": label}
            for i, label in enumerate(LABELS)
            for j in range(3)
        ]
    )
    return train, test


def test_a_strategy_whose_calls_mostly_failed_is_left_out_of_the_study(
    fake_openai: FakeOpenAI, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import crossover
    import crossover.models.llm as llm_module
    from crossover.plan import LlmOptions

    monkeypatch.setattr(llm_module, "backoff_wait", lambda *args: 0.0)  # fast retries
    train, test = _train_and_flaky_test()
    stream = io.StringIO()
    study = crossover.compare(
        train,
        text="text",
        label="label",
        test=test,
        strategies=["text.tfidf-linear", "text.llm-zero-shot"],
        budgets="full",
        seeds=1,
        n_resamples=1000,
        progress=PlainReporter(stream),
        llm=LlmOptions(
            model="openai/fails-on-flaky",
            api_base=fake_openai.base_url,
            price=(1.0, 2.0),
            max_concurrency=1,
        ),
    )
    log = stream.getvalue()
    assert study.failed == ["text.llm-zero-shot"]
    assert list(study.leaderboard.strategy) == ["text.tfidf-linear"]
    assert "text.llm-zero-shot" not in study.statistics
    assert (
        "text.llm-zero-shot failed: 6 of 9 calls" in study.settings["failed"]["text.llm-zero-shot"]
    )
    assert sum("text.llm-zero-shot failed:" in line for line in log.splitlines()) == 1, log
    assert "text.llm-zero-shot: 9/9 calls (6 failed" in log
    # Its record is kept, honest: six rows without an answer.
    failed = next(r for r in study.results if r.trial.strategy == "text.llm-zero-shot")
    assert failed.api is not None and failed.api["failed"] == 6
    assert failed.predictions.count(NO_ANSWER) == 6
    pricing, recommendation = crossover.decide(study)
    assert [sheet.strategy for sheet in pricing.sheets] == ["text.tfidf-linear"]
    assert recommendation.choice == "text.tfidf-linear"
    # The report and the summary say it failed, where they say what is missing.
    out = tmp_path / "out"
    crossover.write_outputs(study, out, pricing=pricing, recommendation=recommendation)
    for name in ("report.html", "summary.md"):
        assert "text.llm-zero-shot failed: 6 of 9 calls" in (out / name).read_text(), name
    # Reloaded from study.json, it is still left out.
    again = crossover.load_study(study.to_json(tmp_path / "study.json"))
    assert again.failed == ["text.llm-zero-shot"]
    assert list(again.leaderboard.strategy) == ["text.tfidf-linear"]


def test_a_study_left_with_failed_strategies_only_is_an_error(
    fake_openai: FakeOpenAI, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import crossover
    import crossover.models.llm as llm_module
    from crossover.plan import LlmOptions

    monkeypatch.setattr(llm_module, "backoff_wait", lambda *args: 0.0)
    train, test = _train_and_flaky_test()
    with pytest.raises(ApiUnreachable, match=r"text\.llm-zero-shot failed: 6 of 9 calls"):
        crossover.compare(
            train,
            text="text",
            label="label",
            test=test,
            strategies=["text.llm-zero-shot"],
            budgets="full",
            progress=False,
            llm=LlmOptions(
                model="openai/fails-on-flaky",
                api_base=fake_openai.base_url,
                price=(0.0, 0.0),
                max_concurrency=1,
            ),
        )


# -- progress, and options that nothing uses -----------------------------------------------------


def test_a_working_server_still_works_and_reports_its_calls(
    fake_openai: FakeOpenAI, tmp_path: Path
) -> None:
    from crossover.cli import app

    data = _tickets(tmp_path / "tickets.csv")
    out = tmp_path / "out"
    args = ["compare", str(data), "--llm", "openai/good", "--api-base", fake_openai.base_url]
    args += ["--llm-price", "0.15,0.6", "--budgets", "full", "--out", str(out), "--yes"]
    args += ["--strategies", "text.tfidf-linear,text.llm-zero-shot"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "text.llm-zero-shot: 6/6 calls (" in result.output
    assert "failed" not in result.output.split("text.llm-zero-shot: 6/6 calls")[1].split("\n")[0]
    study = json.loads((out / "study.json").read_text())
    assert study["settings"]["failed"] == {}
    assert "text.llm-zero-shot" in [row["strategy"] for row in study["leaderboard"]]


@pytest.mark.parametrize(
    ("option", "model", "users"),
    [
        ("--llm", "openai/good", "text.llm-zero-shot, text.llm-few-shot"),
        ("--embedding-api", "openai/emb", "text.api-embeddings, text.api-embedding-head"),
    ],
)
def test_an_api_option_with_strategies_that_do_not_use_it_is_an_error(
    tmp_path: Path, option: str, model: str, users: str
) -> None:
    from crossover.cli import app

    data = _tickets(tmp_path / "tickets.csv")
    args = ["compare", str(data), option, model, "--strategies", "text.tfidf-linear"]
    args += ["--out", str(tmp_path / "out")]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 2, result.output
    assert f"{option} {model} is given, but --strategies names none" in result.output
    assert users in result.output


def test_an_api_option_no_strategy_of_the_task_uses_is_an_error() -> None:
    from crossover._api import _check_api_options_used
    from crossover.plan import LlmOptions

    class Inputs:
        llm_strategies: tuple[str, ...] = ()
        embedding_api_strategies: tuple[str, ...] = ()

    with pytest.raises(ConfigError, match="no strategy of this task uses it"):
        _check_api_options_used(["text.tfidf-linear"], Inputs(), LlmOptions(model="openai/x"))  # type: ignore[arg-type]


def test_call_progress_prints_no_line_per_call_when_calls_are_fast() -> None:
    from crossover.evaluation.progress import call_progress

    stream = io.StringIO()
    hook = call_progress(PlainReporter(stream), "text.llm-zero-shot")
    for done in range(1, 101):
        hook("calls", done, 100, done // 50)
    hook("texts", 64, 64, 0)  # a new batch of calls starts its own count
    assert stream.getvalue().splitlines() == [
        "text.llm-zero-shot: 100/100 calls (2 failed, 0:00:00)",
        "text.llm-zero-shot: 64/64 texts (0:00:00)",
    ]
