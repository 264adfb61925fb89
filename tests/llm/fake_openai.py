"""A deterministic, local OpenAI-compatible chat-completions server for tests.

No model weights: the "model" named in each request picks a scripted behaviour.

- ``good``: answers ``{"label": "<label>"}``; the allowed labels come from a ``json_schema``
  ``response_format`` (``properties.label.enum``) or else from a ``Labels: a, b, c`` line in a
  system or user message. The label is the first allowed one that appears as a whole word
  (case-insensitive) in the last user message (a ``Labels:`` line there excepted), else the
  first allowed label.
- ``malformed``: content that is not JSON and names no label.
- ``sometimes-malformed``: ``good``, except ``"label: ???"`` when the last user message holds
  the word ``garble``.
- ``ratelimit-once`` / ``error-once``: HTTP 429 / 500 the first time each distinct last-user
  text is seen, ``good`` afterwards.
- ``fails-on-flaky``: HTTP 500 every time the last user message holds the word ``flaky``
  (retries fail too: the call gets no answer), ``good`` otherwise.
- ``slow``: sleeps ``x-fake-delay`` seconds (default 3.0), then ``good``.
- ``unauthorized``: HTTP 401 ``invalid_api_key``.
- anything else: HTTP 404 ``model_not_found``.

Run with ``python -m tests.llm.fake_openai --port N`` (binds 127.0.0.1 only).
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import re
import time
import uuid
from collections import Counter
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

MALFORMED_CONTENT = "Hmm, hard to say."
GARBLED_CONTENT = "label: ???"
DEFAULT_DELAY_S = 3.0

# "Labels: a, b, c" at the start of a line (or after other text on it); a final "." is dropped.
_LABELS_LINE = re.compile(r"(?<!\w)labels\s*:[ \t]*([^\n]+?)[ \t.]*$", re.IGNORECASE | re.MULTILINE)


class _State:
    def __init__(self) -> None:
        # Bumped by every reset: a request that began before a reset (a ``slow`` one whose
        # client gave up, say) does not count its status into the fresh counters.
        self.epoch = 0
        self.reset()

    def reset(self) -> None:
        self.epoch += 1
        self.requests: Counter[str] = Counter()
        self.by_status: Counter[str] = Counter()
        self.authorization_seen = False
        # (behaviour, last user text) pairs that have already failed once.
        self.failed_once: set[tuple[str, str]] = set()


def _text(content: Any) -> str:
    """A message's content as plain text (string content or a list of text parts)."""
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        parts = []
        for part in content:
            if isinstance(part, dict) and isinstance(part.get("text"), str):
                parts.append(part["text"])
            elif isinstance(part, str):
                parts.append(part)
        return " ".join(parts)
    return str(content)


def _messages(body: dict[str, Any]) -> list[dict[str, Any]]:
    messages = body.get("messages")
    if not isinstance(messages, list):
        return []
    return [m for m in messages if isinstance(m, dict)]


def _last_user_text(body: dict[str, Any]) -> str:
    for message in reversed(_messages(body)):
        if message.get("role") == "user":
            return _text(message.get("content"))
    return ""


def _allowed_labels(body: dict[str, Any]) -> list[str]:
    response_format = body.get("response_format")
    if isinstance(response_format, dict) and response_format.get("type") == "json_schema":
        json_schema = response_format.get("json_schema") or {}
        schema = json_schema.get("schema") if isinstance(json_schema, dict) else None
        if isinstance(schema, dict):
            label = (schema.get("properties") or {}).get("label")
            if isinstance(label, dict) and isinstance(label.get("enum"), list):
                enum = [str(x) for x in label["enum"]]
                if enum:
                    return enum
    for message in _messages(body):
        if message.get("role") not in ("system", "user"):
            continue
        match = _LABELS_LINE.search(_text(message.get("content")))
        if match:
            labels = [x.strip() for x in match.group(1).split(",") if x.strip()]
            if labels:
                return labels
    return []


def choose_label(body: dict[str, Any]) -> str:
    """The label the ``good`` behaviour answers for this request body."""
    labels = _allowed_labels(body)
    if not labels:
        return "unknown"
    # The "Labels: ..." line itself names every label: it is not part of the text to classify.
    text = _LABELS_LINE.sub("", _last_user_text(body))
    for label in labels:
        if re.search(rf"(?<!\w){re.escape(label)}(?!\w)", text, re.IGNORECASE):
            return label
    # Otherwise a keyword model: the label whose name parts ("delivery_status": delivery,
    # status) and few-shot examples share the most words with the text; ties to the first.
    words = _content_words(text)
    scores = {label: len(words & _content_words(label.replace("_", " "))) for label in labels}
    for example, answer in _examples(body):
        if answer in scores:
            scores[answer] += len(words & _content_words(example))
    best = max(scores.values())
    return next(label for label in labels if scores[label] == best) if best else labels[0]


_STOP = frozenset(
    [
        "have",
        "been",
        "with",
        "when",
        "this",
        "that",
        "what",
        "your",
        "from",
        "will",
        "does",
        "into",
        "keeps",
    ]
)


def _content_words(text: str) -> set[str]:
    """Lower-case words of four letters or more, less a few function words."""
    return {w for w in re.findall(r"[a-z]+", text.lower()) if len(w) >= 4 and w not in _STOP}


def _examples(body: dict[str, Any]) -> list[tuple[str, str]]:
    """The few-shot (user text, assistant label) pairs before the last user message."""
    messages = _messages(body)
    pairs = []
    for first, second in itertools.pairwise(messages):
        if first.get("role") == "user" and second.get("role") == "assistant":
            try:
                label = json.loads(_text(second.get("content"))).get("label")
            except (ValueError, AttributeError):
                continue
            if isinstance(label, str):
                pairs.append((_text(first.get("content")), label))
    return pairs


def _words(text: str) -> int:
    return len(text.split())


def _error(status: int, message: str, type_: str, code: str, **headers: str) -> JSONResponse:
    body = {"error": {"message": message, "type": type_, "param": None, "code": code}}
    return JSONResponse(body, status_code=status, headers=headers or None)


def _completion(body: dict[str, Any], model: str, content: str) -> JSONResponse:
    prompt_tokens = max(1, sum(_words(_text(m.get("content"))) for m in _messages(body)))
    completion_tokens = _words(content)
    return JSONResponse(
        {
            "id": f"chatcmpl-{uuid.uuid4().hex[:24]}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": model,
            "system_fingerprint": "fp_fake",
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": content},
                    "logprobs": None,
                    "finish_reason": "stop",
                }
            ],
            "usage": {
                "prompt_tokens": prompt_tokens,
                "completion_tokens": completion_tokens,
                "total_tokens": prompt_tokens + completion_tokens,
            },
        }
    )


def _good(body: dict[str, Any], model: str) -> JSONResponse:
    return _completion(body, model, json.dumps({"label": choose_label(body)}))


def create_app() -> FastAPI:
    app = FastAPI(title="fake-openai")
    state = _State()
    app.state.fake = state

    @app.get("/health")
    async def health() -> dict[str, bool]:
        return {"ok": True}

    @app.get("/stats")
    async def stats() -> dict[str, Any]:
        return {
            "requests": dict(state.requests),
            "by_status": dict(state.by_status),
            "authorization_seen": state.authorization_seen,
        }

    @app.post("/reset")
    async def reset() -> dict[str, bool]:
        state.reset()
        return {"ok": True}

    @app.post("/v1/chat/completions")
    async def chat_completions(request: Request) -> JSONResponse:
        epoch = state.epoch
        response = await _answer(request)
        if state.epoch == epoch:
            state.by_status[str(response.status_code)] += 1
        return response

    async def _answer(request: Request) -> JSONResponse:
        authorization = request.headers.get("authorization", "")
        if authorization.lower().startswith("bearer ") and authorization[7:].strip():
            state.authorization_seen = True
        try:
            body = await request.json()
        except ValueError:
            return _error(400, "Could not parse the JSON body.", "invalid_request_error", "")
        if not isinstance(body, dict):
            return _error(400, "The body must be a JSON object.", "invalid_request_error", "")
        model = str(body.get("model", ""))
        state.requests[model] += 1
        n = body.get("n")
        if n is not None and n != 1:
            return _error(400, "Only n=1 is supported.", "invalid_request_error", "n")

        text = _last_user_text(body)
        if model == "good":
            return _good(body, model)
        if model == "malformed":
            return _completion(body, model, MALFORMED_CONTENT)
        if model == "sometimes-malformed":
            if re.search(r"(?<!\w)garble(?!\w)", text, re.IGNORECASE):
                return _completion(body, model, GARBLED_CONTENT)
            return _good(body, model)
        if model == "ratelimit-once":
            if (model, text) not in state.failed_once:
                state.failed_once.add((model, text))
                return _error(
                    429,
                    "Rate limit reached",
                    "rate_limit_error",
                    "rate_limit_exceeded",
                    **{"retry-after": "0"},
                )
            return _good(body, model)
        if model == "error-once":
            if (model, text) not in state.failed_once:
                state.failed_once.add((model, text))
                return _error(500, "The server had an error.", "server_error", "server_error")
            return _good(body, model)
        if model == "fails-on-flaky":
            if re.search(r"(?<!\w)flaky(?!\w)", text, re.IGNORECASE):
                return _error(500, "The server had an error.", "server_error", "server_error")
            return _good(body, model)
        if model == "slow":
            try:
                delay = float(request.headers.get("x-fake-delay", DEFAULT_DELAY_S))
            except ValueError:
                delay = DEFAULT_DELAY_S
            await asyncio.sleep(max(0.0, delay))
            if await request.is_disconnected():
                # The client gave up (timed out); nginx's "client closed request" status.
                return _error(499, "The client closed the request.", "client_closed", "")
            return _good(body, model)
        if model == "unauthorized":
            return _error(
                401, "Incorrect API key provided.", "invalid_request_error", "invalid_api_key"
            )
        return _error(
            404,
            f"The model `{model}` does not exist or you do not have access to it.",
            "invalid_request_error",
            "model_not_found",
        )

    return app


app = create_app()


def main(argv: list[str] | None = None) -> None:
    import uvicorn

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args(argv)
    uvicorn.run(app, host="127.0.0.1", port=args.port, log_level="warning")


if __name__ == "__main__":
    main()
