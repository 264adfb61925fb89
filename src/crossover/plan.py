"""A study's plan before anything runs: which strategies, with which shared parameters, and
the options every study checks (seeds, resamples, workers, progress).

Shared by every task's pipeline (``crossover.compare`` and the recommendation study), so that
neither imports the other.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

from crossover.errors import ConfigError
from crossover.evaluation.progress import Reporter, RichReporter, SilentReporter
from crossover.strategies import registry

__all__ = [
    "API_EMBEDDING_STRATEGIES",
    "LLM_STRATEGIES",
    "TABLE_LLM_STRATEGIES",
    "LlmOptions",
    "parse_strategies",
    "settle_options",
    "strategy_params",
]

#: The strategies ``--llm MODEL`` adds to a text study's defaults.
LLM_STRATEGIES = ("text.llm-zero-shot", "text.llm-few-shot")
TABLE_LLM_STRATEGIES = ("tabular.llm-zero-shot",)
#: The strategies ``--embedding-api MODEL`` adds to a text study's defaults.
API_EMBEDDING_STRATEGIES = ("text.api-embeddings", "text.api-embedding-head")


@dataclass(frozen=True)
class LlmOptions:
    """Models behind a paid API: a chat LLM (``--llm``) and/or an embeddings model
    (``--embedding-api``), with their options.

    ``price`` is US dollars per million input and output tokens of the LLM, ``embedding_price``
    per million input tokens of the embeddings model (default for both: LiteLLM's price map,
    then the catalog); ``max_spend_usd`` a hard cap on the run's whole API spend;
    ``confirm_above_usd`` the estimate above which ``compare`` asks before spending. The
    embeddings model uses ``api_base`` and ``api_key_env`` unless it has its own.
    """

    model: str | None = None
    api_base: str | None = None
    api_key_env: str | None = None
    price: tuple[float, float] | None = None
    max_spend_usd: float | None = None
    max_concurrency: int = 4
    confirm_above_usd: float = 1.0
    embedding_model: str | None = None
    embedding_api_base: str | None = None
    embedding_price: float | None = None

    def params(self, names: list[str]) -> dict[str, Any]:
        """The parameters of a strategy with constructor parameters ``names``."""
        out: dict[str, Any] = {}
        if "llm" in names and self.model:
            out = {"llm": self.model, "max_concurrency": self.max_concurrency}
            if self.price is not None:
                out["input_usd_per_mtok"], out["output_usd_per_mtok"] = self.price
            base = self.api_base
        elif "api_model" in names and self.embedding_model:
            out = {"api_model": self.embedding_model, "max_concurrency": self.max_concurrency}
            if self.embedding_price is not None:
                out["input_usd_per_mtok"] = self.embedding_price
            base = self.embedding_api_base or self.api_base
        else:
            return out
        if base:
            out["api_base"] = base
        if self.api_key_env:
            out["api_key_env"] = self.api_key_env
        return out


def parse_strategies(
    value: str | list[str] | None, task: str, *, has_text: bool = True
) -> list[str]:
    """Strategy keys from a list or a comma-separated string; defaults to the task's."""
    if value is None:
        return registry.candidates(task, has_text=has_text)
    keys = [k.strip() for k in value.split(",")] if isinstance(value, str) else list(value)
    keys = [k for k in keys if k]
    if not keys:
        raise ConfigError("--strategies is empty; give keys such as text.tfidf-linear")
    known = set(registry.keys(task))
    for key in keys:
        cls = registry.get(key)  # raises with the list of known keys
        if key not in known:
            raise ConfigError(f"strategy {key!r} does not solve {task}; use one of {sorted(known)}")
        reason = cls.unavailable_reason()
        if reason is not None:
            raise ConfigError(f"strategy {key!r} is unavailable on this machine: {reason}")
    if len(set(keys)) != len(keys):
        raise ConfigError(f"--strategies names a strategy twice: {keys}")
    return keys


def settle_options(
    *, seeds: int, n_resamples: int, jobs: int | None, progress: bool | Reporter
) -> tuple[int, Reporter]:
    """Check the options every study shares; the worker count and the progress reporter."""
    if n_resamples < 1000:
        raise ConfigError(f"n_resamples={n_resamples} is too few; use at least 1000")
    if seeds < 1:
        raise ConfigError(f"--seeds {seeds}: use 1 or more")
    n_jobs = jobs if jobs is not None else (os.cpu_count() or 1)
    if n_jobs < 1:
        raise ConfigError(f"--jobs {n_jobs}: use 1 or more")
    if isinstance(progress, bool):
        return n_jobs, RichReporter() if progress else SilentReporter()
    return n_jobs, progress


def strategy_params(
    keys: list[str],
    model: str,
    cache_dir: str | None,
    time_budget_s: float | None,
    column_types: dict[str, str] | None = None,
    time_column: str | None = None,
    llm: LlmOptions | None = None,
) -> dict[str, dict[str, Any]]:
    """The options a user sets once for every strategy that takes them."""
    params: dict[str, dict[str, Any]] = {}
    for key in keys:
        names = registry.get(key)._param_names()
        p: dict[str, Any] = {}
        if llm is not None:
            p.update(llm.params(names))
        if "column_types" in names and column_types is not None:
            p["column_types"] = column_types
        if "time_column" in names and time_column in (column_types or {}):
            p["time_column"] = time_column
        if "model" in names:
            p["model"] = model
        if "cache_dir" in names and cache_dir is not None:
            p["cache_dir"] = cache_dir
        if "time_budget_s" in names and time_budget_s is not None:
            p["time_budget_s"] = time_budget_s
        params[key] = p
    return params
