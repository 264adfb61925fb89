"""``text.llm-zero-shot`` (pretrained) and ``text.llm-few-shot`` (hybrid): an LLM behind an API.

The LLM is prompted with the label set (and the descriptions when given) and asked for one
label per text as JSON ``{"label": ...}``. Where LiteLLM says the model supports a response
schema, the request carries a JSON schema whose ``label`` is an ``enum`` of the labels (a
constrained choice); otherwise the prompt asks for that JSON. Parsing is forgiving (code fences,
extra keys, a bare label, quotes, case) but never guesses: an answer that names no label, or
more than one, is **unparseable** and predicted as ``UNPARSEABLE`` (no class: it counts as an
error in every metric); a call that failed after its retries is predicted as ``NO_ANSWER``.
Both counts go into the trial's ``api`` record and the report (with the first few failures'
messages); a study leaves out a strategy whose calls mostly failed
(``TrialResult.api_failed``). A server that is down stops the run instead
(``crossover.models.breaker``).

``text.llm-few-shot`` puts ``examples_per_class`` labelled training texts of each class in the
prompt (user/assistant turns, chosen with the seed): labelled data adapts a pre-trained model,
which makes it a hybrid in our vocabulary.

Every call goes through ``crossover.models.llm.LlmClient``: bounded concurrency, retries,
timeouts, the response cache, and the process's spend cap. The tokens of each answer come from
the response's ``usage``; the trial records tokens per prediction so the cost model prices the
strategy per million predictions. Latency is measured per call (p50 / p95), not by re-running
rows: that would pay again.
"""

from __future__ import annotations

import json
import re
import time
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from crossover.errors import ConfigError
from crossover.models.llm import (
    ApiCall,
    LlmClient,
    SpendLimitReached,
    estimate_tokens,
    import_litellm,
    spend_ledger,
)
from crossover.strategies.base import Strategy
from crossover.strategies.registry import register

__all__ = [
    "NO_ANSWER",
    "UNPARSEABLE",
    "LlmFewShot",
    "LlmZeroShot",
    "parse_label",
]

UNPARSEABLE = "<unparseable answer>"
NO_ANSWER = "<no answer>"
_FENCE = re.compile(r"^```(?:json)?\s*|\s*```$", re.IGNORECASE)
_LABEL_FIELD = re.compile(r'"label"\s*:\s*"((?:[^"\\]|\\.)*)"', re.IGNORECASE)


def parse_label(answer: str, labels: list[str]) -> str | None:
    """The label an answer names, or None when it names none or several.

    Accepts ``{"label": "x"}`` (also inside a code fence or with other keys), a bare label, a
    quoted label, any case; otherwise, exactly one label appearing as a whole word.
    """
    by_lower = {label.lower(): label for label in labels}
    text = _FENCE.sub("", answer.strip()).strip()
    candidates: list[str] = []
    try:
        data = json.loads(text)
    except ValueError:
        data = None
    if isinstance(data, dict) and isinstance(data.get("label"), str):
        candidates.append(data["label"])
    elif isinstance(data, str):
        candidates.append(data)
    match = _LABEL_FIELD.search(text)
    if match:
        candidates.append(match.group(1))
    candidates.append(text.strip("\"'` .\n"))
    for candidate in candidates:
        found = by_lower.get(candidate.strip().lower())
        if found is not None:
            return found
    named = [
        label
        for label in labels
        if re.search(rf"(?<![\w-]){re.escape(label.lower())}(?![\w-])", text.lower())
    ]
    return named[0] if len(named) == 1 else None


class _LlmClassifier(Strategy):
    """The shared prompt, client, parsing and bookkeeping of the two LLM strategies."""

    packages: ClassVar[tuple[str, ...]] = ("litellm",)

    task = "text-classification"
    has_proba = False
    default = False  # runs when asked for (--llm MODEL): it spends money
    #: No learning-curve trials: each would pay for the whole test set again.
    learning_curve: ClassVar[bool] = False
    is_api: ClassVar[bool] = True
    examples_per_class: int

    def __init__(
        self,
        llm: str = "",
        *,
        api_base: str | None = None,
        api_key_env: str | None = None,
        input_usd_per_mtok: float | None = None,
        output_usd_per_mtok: float | None = None,
        max_tokens: int = 32,
        timeout_s: float = 30.0,
        max_retries: int = 4,
        max_concurrency: int = 4,
        cache_dir: str | None = None,
        use_cache: bool = True,
        random_state: int = 0,
    ) -> None:
        self.llm = llm
        self.api_base = api_base
        self.api_key_env = api_key_env
        self.input_usd_per_mtok = input_usd_per_mtok
        self.output_usd_per_mtok = output_usd_per_mtok
        self.max_tokens = max_tokens
        self.timeout_s = timeout_s
        self.max_retries = max_retries
        self.max_concurrency = max_concurrency
        self.cache_dir = cache_dir
        self.use_cache = use_cache
        self.random_state = random_state

    # -- price and client ---------------------------------------------------------------------

    def price(self) -> tuple[float, float, str]:
        """US dollars per million input and output tokens, and where the price comes from."""
        if self.input_usd_per_mtok is not None or self.output_usd_per_mtok is not None:
            return (
                float(self.input_usd_per_mtok or 0.0),
                float(self.output_usd_per_mtok or 0.0),
                "given (--llm-price)",
            )
        from crossover.costs.catalog import load_catalog

        try:
            found = load_catalog().api_price(self.llm)
        except ConfigError:
            raise ConfigError(
                f"no token price known for {self.llm!r}; pass --llm-price IN,OUT (US dollars "
                "per million input and output tokens; 0,0 for a server of your own)"
            ) from None
        return found.input_usd_per_mtok, found.output_usd_per_mtok, found.source

    def _client(self) -> LlmClient:
        price_in, price_out, _ = self.price()
        return LlmClient(
            self.llm,
            api_base=self.api_base,
            api_key_env=self.api_key_env,
            timeout_s=self.timeout_s,
            max_retries=self.max_retries,
            max_concurrency=self.max_concurrency,
            cache_dir=self.cache_dir,
            use_cache=self.use_cache,
            price=(price_in, price_out),
            spend=spend_ledger(),
        )

    def _response_format(self, labels: list[str]) -> dict[str, Any] | None:
        """A JSON schema with the labels as an enum, where the model supports one."""
        litellm = import_litellm()
        try:
            supported = bool(litellm.supports_response_schema(model=self.llm))
        except Exception:  # unknown to LiteLLM's model map: ask in the prompt instead
            supported = False
        if not supported:
            return None
        return {
            "type": "json_schema",
            "json_schema": {
                "name": "classification",
                "strict": True,
                "schema": {
                    "type": "object",
                    "properties": {"label": {"type": "string", "enum": labels}},
                    "required": ["label"],
                    "additionalProperties": False,
                },
            },
        }

    # -- prompt -------------------------------------------------------------------------------

    def _system_prompt(self) -> str:
        labels = [str(c) for c in self.classes_]
        lines = [
            "You classify a text into exactly one of the labels below.",
            "Labels: " + ", ".join(labels),
        ]
        described = [c for c in labels if c in self.label_descriptions_]
        if described:
            lines.append("What the labels mean:")
            lines += [f"- {c}: {self.label_descriptions_[c]}" for c in described]
        lines.append(
            'Answer with JSON only, {"label": "<one of the labels, spelled exactly>"}, and '
            "nothing else."
        )
        return "\n".join(lines)

    def _messages(self, text: str) -> list[dict[str, str]]:
        messages = [{"role": "system", "content": self._system_prompt()}]
        for example, label in self.examples_:
            messages.append({"role": "user", "content": example})
            messages.append({"role": "assistant", "content": json.dumps({"label": label})})
        messages.append({"role": "user", "content": text})
        return messages

    # -- fit and predict ----------------------------------------------------------------------

    def _fit(self, X: list[str] | None, y: list[str] | None) -> None:
        self.price()  # an unknown price fails here, before any call
        self.examples_: list[tuple[str, str]] = []
        if self.examples_per_class and X is not None and y is not None:
            rng = np.random.default_rng(self.random_state)
            by_class: dict[str, list[int]] = {}
            for i, label in enumerate(y):
                by_class.setdefault(label, []).append(i)
            chosen: list[int] = []
            for label in sorted(by_class):
                rows = by_class[label]
                take = min(self.examples_per_class, len(rows))
                chosen += [int(i) for i in rng.choice(rows, size=take, replace=False)]
            order = rng.permutation(len(chosen))  # classes interleaved, not in blocks
            self.examples_ = [(X[chosen[i]], y[chosen[i]]) for i in order]
        self.usage_: dict[str, Any] = _empty_usage()

    def estimate(self, texts: list[str]) -> dict[str, float]:
        """Calls, tokens and US dollars to classify ``texts`` (before any call; the cache may
        make it cheaper)."""
        prompt = sum(estimate_tokens(m["content"]) for m in self._messages(""))
        input_tokens = sum(prompt + estimate_tokens(t) for t in texts)
        output_tokens = len(texts) * min(self.max_tokens, 12)
        price_in, price_out, _ = self.price()
        usd = (input_tokens * price_in + output_tokens * price_out) / 1e6
        return {"calls": len(texts), "input_tokens": input_tokens, "usd": usd}

    def _predict(self, X: list[str]) -> np.ndarray:
        labels = [str(c) for c in self.classes_]
        client = self._client()
        start = time.perf_counter()
        results = client.complete_many(
            [self._messages(t) for t in X],
            max_tokens=self.max_tokens,
            response_format=self._response_format(labels),
        )
        wall = time.perf_counter() - start
        stopped = [r for r in results if isinstance(r, SpendLimitReached)]
        if stopped:
            raise stopped[0]
        out = np.empty(len(X), dtype=object)
        usage = self.usage_
        for i, result in enumerate(results):
            if isinstance(result, ApiCall):
                label = parse_label(result.text, labels)
                out[i] = label if label is not None else UNPARSEABLE
                usage["unparseable"] += label is None
                usage["input_tokens"] += result.input_tokens
                usage["output_tokens"] += result.output_tokens
                usage["latencies_s"].append(result.latency_s)
                usage["cached"] += result.cached
                if label is None and len(usage["unparseable_examples"]) < 5:
                    usage["unparseable_examples"].append(result.text[:200])
            else:
                out[i] = NO_ANSWER
                usage["failed"] += 1
                reason = str(result)[:300]
                if reason not in usage["failed_examples"] and len(usage["failed_examples"]) < 3:
                    usage["failed_examples"].append(reason)
        usage["predictions"] += len(X)
        usage["paid_calls"] += client.calls_made
        usage["wall_s"] += wall
        return out

    def api_usage(self) -> dict[str, Any] | None:
        """What the predictions so far cost: tokens per prediction, calls, failures, latency
        per call; None before any prediction. No key, no URL credentials."""
        usage = getattr(self, "usage_", None)
        if not usage or not usage["predictions"]:
            return None
        n = usage["predictions"]
        latencies = np.asarray(usage["latencies_s"], dtype=np.float64) * 1000.0
        price_in, price_out, source = self.price()
        return {
            "model": self.llm,
            "api_base": self.api_base,
            "predictions": n,
            "paid_calls": usage["paid_calls"],
            "cached_answers": usage["cached"],
            "unparseable": usage["unparseable"],
            "unparseable_examples": list(usage["unparseable_examples"]),
            "failed": usage["failed"],
            "failed_examples": list(usage["failed_examples"]),
            "input_tokens_per_prediction": usage["input_tokens"] / n,
            "output_tokens_per_prediction": usage["output_tokens"] / n,
            "latency_p50_ms_per_call": _percentile(latencies, 50),
            "latency_p95_ms_per_call": _percentile(latencies, 95),
            "rows_per_s": n / usage["wall_s"] if usage["wall_s"] > 0 else None,
            "input_usd_per_mtok": price_in,
            "output_usd_per_mtok": price_out,
            "price_source": source,
            "max_concurrency": self.max_concurrency,
        }

    # -- persistence --------------------------------------------------------------------------

    def _save_state(self, path: Path) -> None:
        (path / "prompt.json").write_text(
            json.dumps({"examples": self.examples_, "system": self._system_prompt()}, indent=2)
        )

    def _load_state(self, path: Path) -> None:
        data = json.loads((path / "prompt.json").read_text())
        self.examples_ = [(str(t), str(label)) for t, label in data["examples"]]
        self.usage_ = _empty_usage()


def _percentile(values: np.ndarray, q: float) -> float | None:
    return float(np.percentile(values, q)) if len(values) else None


def _empty_usage() -> dict[str, Any]:
    return {
        "predictions": 0,
        "paid_calls": 0,
        "cached": 0,
        "unparseable": 0,
        "unparseable_examples": [],
        "failed": 0,
        "failed_examples": [],
        "input_tokens": 0,
        "output_tokens": 0,
        "latencies_s": [],
        "wall_s": 0.0,
    }


@register
class LlmZeroShot(_LlmClassifier):
    """Pretrained: the LLM gets the label set (and descriptions), never a training row."""

    key = "text.llm-zero-shot"
    kind = "pretrained"
    summary = "an LLM behind an API, prompted with the label names and descriptions"
    needs_labels = False
    examples_per_class = 0


@register
class LlmFewShot(_LlmClassifier):
    """Hybrid: the LLM's prompt also holds ``examples_per_class`` labelled texts per class."""

    key = "text.llm-few-shot"
    kind = "hybrid"
    summary = "an LLM behind an API, prompted with labelled examples of each class"

    def __init__(
        self,
        llm: str = "",
        *,
        examples_per_class: int = 2,
        api_base: str | None = None,
        api_key_env: str | None = None,
        input_usd_per_mtok: float | None = None,
        output_usd_per_mtok: float | None = None,
        max_tokens: int = 32,
        timeout_s: float = 30.0,
        max_retries: int = 4,
        max_concurrency: int = 4,
        cache_dir: str | None = None,
        use_cache: bool = True,
        random_state: int = 0,
    ) -> None:
        super().__init__(
            llm,
            api_base=api_base,
            api_key_env=api_key_env,
            input_usd_per_mtok=input_usd_per_mtok,
            output_usd_per_mtok=output_usd_per_mtok,
            max_tokens=max_tokens,
            timeout_s=timeout_s,
            max_retries=max_retries,
            max_concurrency=max_concurrency,
            cache_dir=cache_dir,
            use_cache=use_cache,
            random_state=random_state,
        )
        self.examples_per_class = examples_per_class
