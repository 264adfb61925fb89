"""A study's plan before anything runs: which strategies, with which shared parameters, and
the options every study checks (seeds, resamples, workers, progress).

``StudyPlan`` holds every option of a study, whatever the task; the pipeline
(``crossover.compare``) and each task's ``prepare`` read it.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from crossover._encoders import EncoderSetting
from crossover.errors import ConfigError
from crossover.evaluation.progress import Reporter, RichReporter, SilentReporter
from crossover.models._resolve import DEFAULT_MODEL
from crossover.strategies import registry
from crossover.tasks import DEFAULT as DEFAULT_TASK
from crossover.tasks._options import TaskOptions, plain

__all__ = [
    "LlmOptions",
    "StudyPlan",
    "parse_strategies",
    "settle_options",
    "strategy_params",
]


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
        if key.partition("@")[0] not in known:
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
    encoder: str | None = None,
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
        if "encoder" in names:
            # The variant's (KEY@SETTING), else the study's, else the strategy's own default
            # (the text encoders' and the image networks' differ); said in every trial.
            given = registry.variant(key) or encoder or _default_of(registry.get(key), "encoder")
            p["encoder"] = EncoderSetting.parse(given).tag
        if "cache_dir" in names and cache_dir is not None:
            p["cache_dir"] = cache_dir
        if "time_budget_s" in names and time_budget_s is not None:
            p["time_budget_s"] = time_budget_s
        params[key] = p
    return params


def _default_of(cls: type, name: str) -> Any:
    """The default of ``cls``'s constructor parameter ``name``."""
    import inspect

    return inspect.signature(cls).parameters[name].default


#: What ``StudyPlan.to_dict`` leaves out: live objects, not settings.
_NOT_SETTINGS = frozenset({"progress", "confirm", "task_options"})


#: Where learning-curve trials can run (``--backend``).
BACKENDS = ("local", "ray")


@dataclass
class StudyPlan:
    """Every option of a study, in one checked object: what ``crossover.compare`` takes besides
    the data (see its docstring for each).

    The fields here are those of every task (strategies, budgets, seeds, the run);
    ``task_options`` holds the task's own (its columns, split, metrics; a ``TaskOptions`` of
    ``crossover.tasks.options_class(task)``, its defaults when None). ``of`` sorts keyword
    arguments between the two. ``check`` refuses impossible values with the option's name;
    ``to_dict`` / ``from_dict`` round-trip the plain ones.
    """

    task: str = DEFAULT_TASK
    task_options: TaskOptions | None = None
    strategies: str | list[str] | None = None
    model: str = DEFAULT_MODEL
    encoder: str | None = None
    seed: int = 0
    use_cache: bool = True
    n_resamples: int = 2000
    budgets: Any = None
    seeds: int = 3
    jobs: int | None = None
    backend: str = "local"
    ray_address: str | None = None
    target: float | None = None
    all_budgets: bool = False
    time_budget_s: float | None = None
    trials_dir: str | Path | None = None
    measure_speed: bool = True
    command: str | None = None
    llm: LlmOptions | str | None = None
    progress: Any = True
    confirm: Callable[[str], bool] | None = field(default=None, repr=False)

    @classmethod
    def of(cls, task: str = DEFAULT_TASK, **values: Any) -> StudyPlan:
        """A plan from keyword arguments, the task's own options among them.

        An option of another task is a ``ConfigError`` naming the tasks that take it, unless
        it has that task's default (``crossover.compare`` passes every keyword it has).
        """
        from crossover import tasks

        own = tasks.options_class(task)
        own_names = {f.name for f in fields(own)}
        common = {f.name for f in fields(cls)} - {"task", "task_options"}
        plan_values: dict[str, Any] = {}
        task_values: dict[str, Any] = {}
        for name, value in values.items():
            if name in own_names:
                task_values[name] = value
            elif name in common:
                plan_values[name] = value
            else:
                _refuse_foreign(task, name, value)
        return cls(task=task, task_options=own(**task_values), **plan_values)

    @property
    def options(self) -> Any:
        """The task's own options (``task_options``, or the task's defaults)."""
        if self.task_options is None:
            from crossover import tasks

            self.task_options = tasks.options_class(self.task)()
        return self.task_options

    def check(self) -> StudyPlan:
        """Refuse impossible values, naming the option; returns ``self``."""
        try:
            if self.encoder is not None:
                EncoderSetting.parse(self.encoder)
        except ConfigError as exc:
            raise ConfigError(f"--encoder {self.encoder}: {exc}") from None
        if self.backend not in BACKENDS:
            raise ConfigError(f"--backend {self.backend}: use one of {', '.join(BACKENDS)}")
        if self.ray_address is not None and self.backend != "ray":
            raise ConfigError(
                f"--ray-address {self.ray_address}: it is the address of a Ray cluster; "
                "add --backend ray"
            )
        if self.target is not None and not 0.0 < self.target <= 1.0:
            from crossover import tasks

            task = tasks.get(self.task)
            # An error such as MASE has no upper bound: a target is any positive value.
            if task.headline not in task.lower_is_better or self.target <= 0.0:
                raise ConfigError(
                    f"--target {self.target}: give a metric value between 0 and 1, e.g. 0.9"
                    if task.headline not in task.lower_is_better
                    else f"--target {self.target}: give the {task.headline} to get down to, "
                    "above 0, e.g. 0.9"
                )
        self.options.check()
        return self

    @property
    def llm_options(self) -> LlmOptions | None:
        return LlmOptions(self.llm) if isinstance(self.llm, str) else self.llm

    def to_dict(self) -> dict[str, Any]:
        """The options that are plain values, the task's own under ``task_options`` (paths
        as text; data frames are left out)."""
        out: dict[str, Any] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name in _NOT_SETTINGS or not plain(value):
                continue
            out[f.name] = str(value) if isinstance(value, Path) else value
        out["task_options"] = self.options.to_dict()
        return out

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> StudyPlan:
        """Options from ``to_dict``'s output; an unknown key is a ``ConfigError``."""
        values = dict(values)
        own = values.pop("task_options", None) or {}
        known = {f.name for f in fields(cls)} - {"task_options"}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ConfigError(f"unknown study option(s) {unknown}; known: {sorted(known)}")
        return cls.of(**values, **own)


def _refuse_foreign(task: str, name: str, value: Any) -> None:
    """``name`` is no option of ``task``: fine at another task's default, else an error."""
    from crossover import tasks

    takers = {}
    for other in tasks.names():
        defaults = tasks.options_class(other).defaults()
        if name in defaults:
            takers[other] = defaults[name]
    if not takers:
        raise ConfigError(f"unknown study option {name!r}")
    given = value is not None and not (
        plain(value) and (value in ((), []) or value in takers.values())
    )
    if not given:
        return
    flag = "--" + name.replace("_", "-")
    raise ConfigError(
        f"{flag} is an option of the {' and '.join(takers)} task(s), not of {task}; "
        f"leave it out or add --task {next(iter(takers))}"
    )
