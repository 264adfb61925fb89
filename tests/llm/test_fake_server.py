"""The fake OpenAI server (``tests/llm/fake_openai.py``), exercised through raw HTTP: the status
codes, headers and bodies it promises. One smoke test checks that a plain LiteLLM completion
works against it, which is all the strategy tests rely on; how crossover reacts to 429, 500,
timeouts and 401 is tested in ``test_llm_strategies.py``."""

from __future__ import annotations

import json
import time
from typing import Any

import httpx
import pytest

from tests.llm.conftest import FakeOpenAI
from tests.llm.fake_openai import MALFORMED_CONTENT

API_KEY = "sk-test-123"
LABELS = ["billing", "refund", "shipping"]
SCHEMA_FORMAT: dict[str, Any] = {
    "type": "json_schema",
    "json_schema": {
        "name": "classification",
        "strict": True,
        "schema": {
            "type": "object",
            "properties": {"label": {"type": "string", "enum": LABELS}},
            "required": ["label"],
            "additionalProperties": False,
        },
    },
}


def _messages(text: str, system: str = "Classify the ticket.") -> list[dict[str, str]]:
    return [{"role": "system", "content": system}, {"role": "user", "content": text}]


def _post(
    fake: FakeOpenAI,
    behaviour: str,
    text: str,
    *,
    headers: dict[str, str] | None = None,
    timeout: float = 10,
    **body: Any,
) -> httpx.Response:
    """One chat-completions request, with a bearer key, as an OpenAI client sends it."""
    body.setdefault("messages", _messages(text))
    return httpx.post(
        f"{fake.base_url}/chat/completions",
        json={"model": behaviour, **body},
        headers={"authorization": f"Bearer {API_KEY}", **(headers or {})},
        timeout=timeout,
    )


def _content(response: httpx.Response) -> str:
    assert response.status_code == 200, response.text
    content: str = response.json()["choices"][0]["message"]["content"]
    return content


def _label(response: httpx.Response) -> Any:
    return json.loads(_content(response))


def _error(response: httpx.Response, status: int) -> dict[str, Any]:
    """The OpenAI-style error object of a failed request, after checking its status."""
    assert response.status_code == status, response.text
    error: dict[str, Any] = response.json()["error"]
    assert set(error) == {"message", "type", "param", "code"}
    return error


def _words(messages: list[dict[str, str]]) -> int:
    return sum(len(m["content"].split()) for m in messages)


@pytest.fixture
def fake(fake_openai: FakeOpenAI) -> FakeOpenAI:
    """The session's server with its counters and once-only memory cleared."""
    fake_openai.reset()
    return fake_openai


def test_good_picks_the_label_named_in_the_text_from_the_schema(fake: FakeOpenAI) -> None:
    messages = _messages("Where is my parcel? The SHIPPING seems stuck.")
    response = _post(fake, "good", "", messages=messages, response_format=SCHEMA_FORMAT)
    content = _content(response)
    assert json.loads(content) == {"label": "shipping"}
    payload = response.json()
    assert payload["choices"][0]["finish_reason"] == "stop"
    usage = payload["usage"]
    assert usage["prompt_tokens"] == _words(messages) > 0
    assert usage["completion_tokens"] == len(content.split()) > 0
    assert usage["total_tokens"] == usage["prompt_tokens"] + usage["completion_tokens"]


def test_good_reads_a_labels_line_and_falls_back_to_the_first_label(fake: FakeOpenAI) -> None:
    system = "You sort tickets.\nLabels: billing, refund, shipping"
    named = _post(fake, "good", "", messages=_messages("please refund me", system))
    unnamed = _post(fake, "good", "", messages=_messages("hello there", system))
    # "refunds" is not the whole word "refund": the fallback is the first label.
    partial = _post(fake, "good", "", messages=_messages("refunds galore", system))
    assert _label(named) == {"label": "refund"}
    assert _label(unnamed) == {"label": "billing"}
    assert _label(partial) == {"label": "billing"}


def test_a_labels_line_in_the_user_message_is_not_itself_the_text(fake: FakeOpenAI) -> None:
    messages = [{"role": "user", "content": "Labels: billing, refund, shipping\nmy parcel is lost"}]
    later = _post(fake, "good", "", messages=[*messages, {"role": "user", "content": "refund"}])
    first = _post(fake, "good", "", messages=messages)
    assert _label(later) == {"label": "refund"}
    assert _label(first) == {"label": "billing"}
    messages[0]["content"] = "Labels: billing, refund, shipping.\nwhere is my shipping"
    dotted = _post(fake, "good", "", messages=messages)
    assert _label(dotted) == {"label": "shipping"}


def test_schema_labels_win_over_the_labels_line(fake: FakeOpenAI) -> None:
    messages = _messages("a refund for the other thing", "Labels: other, thing")
    response = _post(fake, "good", "", messages=messages, response_format=SCHEMA_FORMAT)
    assert _label(response) == {"label": "refund"}


def test_malformed_answers_text_that_is_not_json(fake: FakeOpenAI) -> None:
    content = _content(_post(fake, "malformed", "Labels: billing, refund\nI need a refund"))
    assert content == MALFORMED_CONTENT
    with pytest.raises(json.JSONDecodeError):
        json.loads(content)
    assert "refund" not in content.lower() and "billing" not in content.lower()


def test_sometimes_malformed_garbles_only_on_the_trigger_word(fake: FakeOpenAI) -> None:
    fine = _post(fake, "sometimes-malformed", "a refund", response_format=SCHEMA_FORMAT)
    bad = _post(fake, "sometimes-malformed", "garble this refund")
    assert _label(fine) == {"label": "refund"}
    with pytest.raises(json.JSONDecodeError):
        json.loads(_content(bad))


def test_ratelimit_once_then_succeeds(fake: FakeOpenAI) -> None:
    limited = _post(fake, "ratelimit-once", "refund please", response_format=SCHEMA_FORMAT)
    error = _error(limited, 429)
    assert error["type"] == "rate_limit_error" and error["code"] == "rate_limit_exceeded"
    assert limited.headers["retry-after"] == "0"
    response = _post(fake, "ratelimit-once", "refund please", response_format=SCHEMA_FORMAT)
    assert _label(response) == {"label": "refund"}
    stats = fake.stats()
    assert stats["by_status"] == {"429": 1, "200": 1}
    assert stats["requests"] == {"ratelimit-once": 2}


def test_error_once_then_succeeds(fake: FakeOpenAI) -> None:
    failed = _post(fake, "error-once", "billing question", response_format=SCHEMA_FORMAT)
    assert _error(failed, 500)["type"] == "server_error"
    response = _post(fake, "error-once", "billing question", response_format=SCHEMA_FORMAT)
    assert _label(response) == {"label": "billing"}
    # Each distinct text fails once on its own.
    _error(_post(fake, "error-once", "another question"), 500)
    assert fake.stats()["by_status"] == {"500": 2, "200": 1}


def test_slow_outlasts_a_short_timeout(fake: FakeOpenAI) -> None:
    with pytest.raises(httpx.ReadTimeout):
        _post(fake, "slow", "refund", timeout=0.5, headers={"x-fake-delay": "2"})


def test_slow_answers_when_the_delay_fits(fake: FakeOpenAI) -> None:
    response = _post(
        fake,
        "slow",
        "refund",
        timeout=5,
        headers={"x-fake-delay": "0.1"},
        response_format=SCHEMA_FORMAT,
    )
    assert _label(response) == {"label": "refund"}


def test_unauthorized_answers_401_invalid_api_key(fake: FakeOpenAI) -> None:
    error = _error(_post(fake, "unauthorized", "refund"), 401)
    assert error["code"] == "invalid_api_key"


def test_unknown_model_answers_404_model_not_found(fake: FakeOpenAI) -> None:
    error = _error(_post(fake, "no-such-model", "refund"), 404)
    assert error["code"] == "model_not_found"
    assert "`no-such-model`" in error["message"]


def test_stats_see_authorization_and_reset_clears(fake: FakeOpenAI) -> None:
    assert fake.stats() == {"requests": {}, "by_status": {}, "authorization_seen": False}
    _post(fake, "good", "refund", response_format=SCHEMA_FORMAT)
    stats = fake.stats()
    assert stats == {"requests": {"good": 1}, "by_status": {"200": 1}, "authorization_seen": True}
    assert API_KEY not in json.dumps(stats)
    fake.reset()
    assert fake.stats() == {"requests": {}, "by_status": {}, "authorization_seen": False}


def test_reset_forgets_the_once_only_failures(fake: FakeOpenAI) -> None:
    _error(_post(fake, "ratelimit-once", "shipping"), 429)
    fake.reset()
    _error(_post(fake, "ratelimit-once", "shipping"), 429)


def test_litellm_completion_works_against_the_fake(fake: FakeOpenAI) -> None:
    """The one thing the strategy tests need from LiteLLM here: a plain completion arrives."""
    import litellm  # conftest sets LITELLM_LOCAL_MODEL_COST_MAP before this import

    response = litellm.completion(
        model="openai/good",
        api_base=fake.base_url,
        api_key=API_KEY,
        messages=_messages("Where is my parcel? The SHIPPING seems stuck."),
        response_format=SCHEMA_FORMAT,
        num_retries=0,
        timeout=10,
    )
    assert json.loads(response.choices[0].message.content) == {"label": "shipping"}
    assert fake.stats()["authorization_seen"] is True


def test_raw_http_without_authorization(fake: FakeOpenAI) -> None:
    body = {
        "model": "good",
        "messages": [
            {"role": "system", "content": "Labels: billing, refund, shipping"},
            {"role": "user", "content": [{"type": "text", "text": "my BILLING is wrong"}]},
        ],
        "temperature": 0,
        "max_tokens": 20,
        "seed": 1,
    }
    with httpx.Client(base_url=fake.base_url, timeout=5) as client:
        answer = client.post("/chat/completions", json=body)
        limited = client.post("/chat/completions", json={**body, "model": "ratelimit-once"})
        two = client.post("/chat/completions", json={**body, "n": 2})
    assert answer.status_code == 200
    payload = answer.json()
    assert payload["object"] == "chat.completion"
    assert payload["model"] == "good"
    assert payload["id"].startswith("chatcmpl-")
    assert isinstance(payload["created"], int)
    assert payload["choices"][0]["message"] == {
        "role": "assistant",
        "content": json.dumps({"label": "billing"}),
    }
    assert payload["usage"]["prompt_tokens"] == 8
    assert limited.status_code == 429
    assert limited.headers["retry-after"] == "0"
    assert limited.json()["error"]["code"] == "rate_limit_exceeded"
    assert limited.json()["error"]["type"] == "rate_limit_error"
    assert two.status_code == 400
    assert fake.stats()["authorization_seen"] is False


def test_a_request_the_client_gave_up_on_counts_as_499_and_not_after_reset(
    fake: FakeOpenAI,
) -> None:
    body = {"model": "slow", "messages": [{"role": "user", "content": "refund"}]}
    headers = {"x-fake-delay": "0.5"}
    with httpx.Client(base_url=fake.base_url, timeout=0.1) as client:
        for _ in range(2):
            with pytest.raises(httpx.ReadTimeout):
                client.post("/chat/completions", json=body, headers=headers)
    fake.reset()  # the second request began before this reset: its status is not counted
    with (
        httpx.Client(base_url=fake.base_url, timeout=0.1) as client,
        pytest.raises(httpx.ReadTimeout),
    ):
        client.post("/chat/completions", json=body, headers=headers)
    deadline = time.monotonic() + 5
    while fake.stats()["by_status"] == {} and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.3)  # time for a wrongly counted earlier request to show up too
    assert fake.stats()["by_status"] == {"499": 1}
