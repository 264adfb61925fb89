"""The fake OpenAI server, exercised through LiteLLM and through raw HTTP."""

from __future__ import annotations

import json
import os
import time
from typing import Any

import httpx
import pytest

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

import litellm

from tests.llm.conftest import FakeOpenAI
from tests.llm.fake_openai import MALFORMED_CONTENT

# LiteLLM prints a "Give Feedback / Get Help" banner to stdout on every exception otherwise.
litellm.suppress_debug_info = True

# LiteLLM 1.110 lazily imports litellm.llms.github_copilot.authenticator during the first
# completion() call; pydantic then warns about a ``ReadOnly`` TypedDict: pyproject's
# filterwarnings ignores that warning, which would otherwise fail whichever test comes first.

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


def _complete(fake: FakeOpenAI, behaviour: str, text: str, **kwargs: Any) -> Any:
    kwargs.setdefault("messages", _messages(text))
    kwargs.setdefault("timeout", 10)
    return litellm.completion(
        model=f"openai/{behaviour}",
        api_base=fake.base_url,
        api_key=API_KEY,
        num_retries=0,
        **kwargs,
    )


def _words(messages: list[dict[str, str]]) -> int:
    return sum(len(m["content"].split()) for m in messages)


@pytest.fixture
def fake(fake_openai: FakeOpenAI) -> FakeOpenAI:
    """The session's server with its counters and once-only memory cleared."""
    fake_openai.reset()
    return fake_openai


def test_good_picks_the_label_named_in_the_text_from_the_schema(fake: FakeOpenAI) -> None:
    messages = _messages("Where is my parcel? The SHIPPING seems stuck.")
    response = _complete(fake, "good", "", messages=messages, response_format=SCHEMA_FORMAT)
    content = response.choices[0].message.content
    assert json.loads(content) == {"label": "shipping"}
    assert response.choices[0].finish_reason == "stop"
    usage = response.usage
    assert usage.prompt_tokens == _words(messages) > 0
    assert usage.completion_tokens == len(content.split()) > 0
    assert usage.total_tokens == usage.prompt_tokens + usage.completion_tokens


def test_good_reads_a_labels_line_and_falls_back_to_the_first_label(fake: FakeOpenAI) -> None:
    system = "You sort tickets.\nLabels: billing, refund, shipping"
    named = _complete(fake, "good", "", messages=_messages("please refund me", system))
    unnamed = _complete(fake, "good", "", messages=_messages("hello there", system))
    # "refunds" is not the whole word "refund": the fallback is the first label.
    partial = _complete(fake, "good", "", messages=_messages("refunds galore", system))
    assert json.loads(named.choices[0].message.content) == {"label": "refund"}
    assert json.loads(unnamed.choices[0].message.content) == {"label": "billing"}
    assert json.loads(partial.choices[0].message.content) == {"label": "billing"}


def test_a_labels_line_in_the_user_message_is_not_itself_the_text(fake: FakeOpenAI) -> None:
    messages = [{"role": "user", "content": "Labels: billing, refund, shipping\nmy parcel is lost"}]
    later = _complete(fake, "good", "", messages=[*messages, {"role": "user", "content": "refund"}])
    first = _complete(fake, "good", "", messages=messages)
    assert json.loads(later.choices[0].message.content) == {"label": "refund"}
    assert json.loads(first.choices[0].message.content) == {"label": "billing"}
    messages[0]["content"] = "Labels: billing, refund, shipping.\nwhere is my shipping"
    dotted = _complete(fake, "good", "", messages=messages)
    assert json.loads(dotted.choices[0].message.content) == {"label": "shipping"}


def test_schema_labels_win_over_the_labels_line(fake: FakeOpenAI) -> None:
    messages = _messages("a refund for the other thing", "Labels: other, thing")
    response = _complete(fake, "good", "", messages=messages, response_format=SCHEMA_FORMAT)
    assert json.loads(response.choices[0].message.content) == {"label": "refund"}


def test_malformed_answers_text_that_is_not_json(fake: FakeOpenAI) -> None:
    response = _complete(fake, "malformed", "Labels: billing, refund\nI need a refund")
    content = response.choices[0].message.content
    assert content == MALFORMED_CONTENT
    with pytest.raises(json.JSONDecodeError):
        json.loads(content)
    assert "refund" not in content.lower() and "billing" not in content.lower()


def test_sometimes_malformed_garbles_only_on_the_trigger_word(fake: FakeOpenAI) -> None:
    fine = _complete(fake, "sometimes-malformed", "a refund", response_format=SCHEMA_FORMAT)
    bad = _complete(fake, "sometimes-malformed", "garble this refund")
    assert json.loads(fine.choices[0].message.content) == {"label": "refund"}
    with pytest.raises(json.JSONDecodeError):
        json.loads(bad.choices[0].message.content)


def test_ratelimit_once_then_succeeds(fake: FakeOpenAI) -> None:
    with pytest.raises(litellm.RateLimitError) as raised:
        _complete(fake, "ratelimit-once", "refund please", response_format=SCHEMA_FORMAT)
    assert raised.value.status_code == 429
    response = _complete(fake, "ratelimit-once", "refund please", response_format=SCHEMA_FORMAT)
    assert json.loads(response.choices[0].message.content) == {"label": "refund"}
    stats = fake.stats()
    assert stats["by_status"] == {"429": 1, "200": 1}
    assert stats["requests"] == {"ratelimit-once": 2}


def test_error_once_then_succeeds(fake: FakeOpenAI) -> None:
    with pytest.raises(litellm.InternalServerError) as raised:
        _complete(fake, "error-once", "billing question", response_format=SCHEMA_FORMAT)
    assert raised.value.status_code == 500
    response = _complete(fake, "error-once", "billing question", response_format=SCHEMA_FORMAT)
    assert json.loads(response.choices[0].message.content) == {"label": "billing"}
    # Each distinct text fails once on its own.
    with pytest.raises(litellm.InternalServerError):
        _complete(fake, "error-once", "another question")
    assert fake.stats()["by_status"] == {"500": 2, "200": 1}


def test_slow_times_out_with_a_short_timeout(fake: FakeOpenAI) -> None:
    with pytest.raises(litellm.Timeout):
        _complete(fake, "slow", "refund", timeout=0.5, extra_headers={"x-fake-delay": "2"})


def test_slow_answers_when_the_delay_fits(fake: FakeOpenAI) -> None:
    response = _complete(
        fake,
        "slow",
        "refund",
        timeout=5,
        extra_headers={"x-fake-delay": "0.1"},
        response_format=SCHEMA_FORMAT,
    )
    assert json.loads(response.choices[0].message.content) == {"label": "refund"}


def test_unauthorized_raises_authentication_error(fake: FakeOpenAI) -> None:
    with pytest.raises(litellm.AuthenticationError) as raised:
        _complete(fake, "unauthorized", "refund")
    assert raised.value.status_code == 401


def test_unknown_model_raises_not_found(fake: FakeOpenAI) -> None:
    with pytest.raises(litellm.NotFoundError):
        _complete(fake, "no-such-model", "refund")


def test_stats_see_authorization_and_reset_clears(fake: FakeOpenAI) -> None:
    assert fake.stats() == {"requests": {}, "by_status": {}, "authorization_seen": False}
    _complete(fake, "good", "refund", response_format=SCHEMA_FORMAT)
    stats = fake.stats()
    assert stats == {"requests": {"good": 1}, "by_status": {"200": 1}, "authorization_seen": True}
    assert API_KEY not in json.dumps(stats)
    fake.reset()
    assert fake.stats() == {"requests": {}, "by_status": {}, "authorization_seen": False}


def test_reset_forgets_the_once_only_failures(fake: FakeOpenAI) -> None:
    with pytest.raises(litellm.RateLimitError):
        _complete(fake, "ratelimit-once", "shipping")
    fake.reset()
    with pytest.raises(litellm.RateLimitError):
        _complete(fake, "ratelimit-once", "shipping")


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
