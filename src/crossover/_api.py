"""``compare``: the whole study in one call; the CLI is a thin layer over it."""

from __future__ import annotations

import json
import shlex
import sys
import tempfile
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from time import perf_counter
from typing import TYPE_CHECKING, Any

import pandas as pd

from crossover import tasks
from crossover.data import Dataset
from crossover.errors import ConfigError
from crossover.evaluation.backends import Backend
from crossover.evaluation.budgets import Budget, parse_budgets
from crossover.evaluation.environment import environment
from crossover.evaluation.execute import api_failure_lines
from crossover.evaluation.progress import Reporter
from crossover.evaluation.runner import TrialData, is_timed, plan, run
from crossover.evaluation.store import TrialStore
from crossover.models._resolve import DEFAULT_MODEL
from crossover.models.breaker import ApiUnreachable
from crossover.plan import (
    LlmOptions,
    StudyPlan,
    parse_strategies,
    settle_options,
    strategy_params,
)
from crossover.strategies import registry
from crossover.study import Study, _clean
from crossover.tasks import DEFAULT as DEFAULT_TASK

if TYPE_CHECKING:
    from crossover.costs import Scenario
    from crossover.costs.sheet import Pricing
    from crossover.evaluation.trials import TrialResult
    from crossover.recommend import Recommendation
    from crossover.tasks._base import StudyInputs, Task

__all__ = [
    "LlmOptions",
    "StudyPlan",
    "compare",
    "parse_strategies",
    "run_study",
    "write_outputs",
]


def compare(
    data: str | Path | pd.DataFrame | Dataset,
    *,
    text: str | None = None,
    label: str | None = None,
    test: str | Path | pd.DataFrame | None = None,
    strategies: str | list[str] | None = None,
    model: str = DEFAULT_MODEL,
    label_descriptions: str | Path | dict[str, str] | None = None,
    seed: int = 0,
    use_cache: bool = True,
    strict: bool = False,
    n_resamples: int = 2000,
    budgets: str | list[Budget] | None = None,
    seeds: int = 3,
    jobs: int | None = None,
    backend: str = "local",
    ray_address: str | None = None,
    target: float | None = None,
    all_budgets: bool = False,
    time_budget_s: float | None = None,
    trials_dir: str | Path | None = None,
    measure_speed: bool = True,
    progress: bool | Reporter = True,
    command: str | None = None,
    task: str = DEFAULT_TASK,
    categorical: list[str] | None = None,
    text_columns: list[str] | None = None,
    drop: list[str] | None = None,
    time: str | None = None,
    positive: str | None = None,
    amount: str | None = None,
    cost_fp: float | None = None,
    fpr: float = 0.01,
    repeats: int | None = None,
    user: str | None = None,
    item: str | None = None,
    items: str | Path | pd.DataFrame | None = None,
    item_id: str | None = None,
    rating: str | None = None,
    min_rating: float | None = None,
    holdout: int = 5,
    k: int = 10,
    llm: LlmOptions | str | None = None,
    confirm: Callable[[str], bool] | None = None,
    **task_options: Any,
) -> Study:
    """Build and measure every strategy on the same test rows; return the ``Study``.

    Parameters
    ----------
    data : path, DataFrame or Dataset
        Labelled texts (CSV, TSV, Parquet, JSON Lines) or an already loaded ``Dataset``.
    text, label : str, default=None
        Column names; inferred when unambiguous.
    test : path or DataFrame, default=None
        A fixed test set; otherwise a stratified 20 % holdout drawn with ``seed``.
    strategies : str or list of str, default=None
        Registry keys; by default every default candidate of the task.
    model : str, default="sentence-transformers/all-MiniLM-L6-v2"
        Hugging Face id or local folder of the sentence-embedding model.
    label_descriptions : path or dict, default=None
        Label -> description for the pretrained strategies.
    seed : int, default=0
        Seeds the split, the strategies and the bootstrap.
    use_cache : bool, default=True
        Keep embeddings on disk (``CROSSOVER_CACHE_DIR``) across runs.
    n_resamples : int, default=2000
        Bootstrap resamples for the intervals (at least 1000).
    budgets : str or list, default=None
        Label budgets for learning curves: counts per class and/or ``"full"``; None means
        the task's ladder fitted to the data (texts: 2 to 64 doubling, then x4 steps up to the
        largest class, then ``"full"``; see ``crossover.evaluation.budgets.span_budgets``).
        ``"full"`` alone: the leaderboard without curves.
    seeds : int, default=3
        Stratified subsamples per budget.
    jobs : int, default=None
        Worker processes for the learning-curve trials (None: the CPU count).
    backend : {"local", "ray"}, default="local"
        Where the learning-curve trials run: local worker processes (``jobs`` of them), or
        Ray tasks (``pip install 'crossover[ray]'``) on the cluster at ``ray_address``, else on
        a Ray started for the study. Results, resume and the study are the same.
    ray_address : str, default=None
        ``HOST:PORT`` of a running Ray cluster (``ray start --head``), or ``"auto"``.
    target : float, default=None
        A metric value to reach: the study says at which budget each strategy reaches it.
    all_budgets : bool, default=False
        Run strategies that limit their budgets by default (``text.setfit``) at every budget.
    time_budget_s : float, default=None
        Per-trial training time limit for strategies that take one (``text.setfit``).
    trials_dir : path, default=None
        Where finished trials are kept; a rerun with the same arguments resumes from them.
    progress : bool or Reporter, default=True
        Show a progress bar per stage (terminal and notebook).
    task : str, default="text-classification"
        What to predict from what: a name from ``crossover.tasks.names()`` (built in:
        text-classification, tabular-classification, recommendation); ignored when ``data``
        is a loaded ``Dataset``.
    categorical, text_columns, drop, time, positive, amount : optional
        Tables: column kinds to force, columns to leave out, the time column to split on,
        the positive class, and the money column (see ``crossover.data.load``).
    cost_fp : float, default=None
        Tables, with ``amount``: the cost of reviewing one flagged row; the study then reports
        each strategy's expected-loss threshold and the money it saves against no model.
    fpr : float, default=0.01
        Tables: the false-positive rate at which ``recall_at_fpr`` is read.
    repeats : int, default=None
        Tables: stratified splits to average over (None: 5 for a small table, else 1).
    user, item, items, item_id, rating, min_rating, holdout, k : optional
        ``task="recommendation"``: ``data`` is the interactions (``user`` and ``item`` id
        columns, ``time`` and ``rating`` optional), ``items`` the items file (``item_id`` and
        ``text_columns``); see ``crossover.tasks.recommendation.compare``.
    llm : LlmOptions or str, default=None
        An LLM behind an API (a LiteLLM model id, or ``LlmOptions``): texts also get
        ``text.llm-zero-shot`` and ``text.llm-few-shot``. Before any call the spend is
        estimated; above ``confirm_above_usd``, ``confirm(message)`` must return True.
    confirm : callable, default=None
        Asked before spending more than ``llm.confirm_above_usd``; None: no question.
    **task_options
        The options of a task not named above (its ``TaskOptions`` class,
        ``crossover.tasks.options_class(task)``). An option of another task than ``task``
        is a ``ConfigError``.

    Examples
    --------
    >>> study = crossover.compare("tickets.csv", text="text", label="label")  # doctest: +SKIP
    >>> study.leaderboard[["strategy", "score", "ci_low", "ci_high"]]  # doctest: +SKIP
    """
    values = {k: v for k, v in locals().items() if k not in ("data", "task", "task_options")}
    if isinstance(data, Dataset):  # a loaded Dataset knows its task
        task = data.spec.task
    return run_study(data, StudyPlan.of(task, **values, **task_options))


def run_study(data: Any, options: StudyPlan) -> Study:
    """The study pipeline of every task: read and split (the task), plan, run, ``Study``.

    ``data`` is what the task reads (a file, a DataFrame) or a loaded ``Dataset``, whose task
    then decides; ``options`` are checked first.
    """
    started = perf_counter()
    options.check()
    the_task = tasks.get(data.spec.task if isinstance(data, Dataset) else options.task)
    if the_task.prepare is None:
        raise ConfigError(f"the {the_task.name} task cannot run a study (it has no prepare)")
    n_jobs, reporter = settle_options(
        seeds=options.seeds,
        n_resamples=options.n_resamples,
        jobs=options.jobs,
        progress=options.progress,
    )
    inputs = the_task.prepare(data, options, reporter)
    keys = _strategies(the_task.name, inputs, options)
    # Said of the defaults left out; strategies the user named are all compared (or refused).
    unavailable = registry.unavailable(the_task.name) if options.strategies is None else {}
    for key, reason in unavailable.items():
        reporter.message(f"{key} is not compared: {reason}")
    if options.budgets is not None:  # the user's budgets, exactly as given
        budget_list = parse_budgets(options.budgets)
    else:
        budget_list = parse_budgets(the_task.default_budgets)
        if inputs.fit_default_budgets is not None:
            budget_list = inputs.fit_default_budgets(budget_list, reporter)
    if inputs.limit_budgets is not None:
        budget_list = inputs.limit_budgets(budget_list, reporter)
    results, plan_summary = _run_trials(
        the_task, inputs, options, keys, budget_list, reporter, n_jobs
    )
    failed = _failed_strategies(results)
    settings = {
        "strategies": keys,
        "model": options.model,
        "seed": options.seed,
        "n_resamples": options.n_resamples,
        "use_cache": options.use_cache,
        "budgets": [str(b) for b in budget_list],
        "budget_unit": the_task.present.budget_unit,
        "seeds": inputs.seeds or options.seeds,
        "jobs": n_jobs,
        "backend": options.backend,
        "target": options.target,
        "all_budgets": options.all_budgets,
        "plan": plan_summary,
        "command": options.command or shlex.join(sys.argv),
        "repeats": len(inputs.splits),
        "unavailable": unavailable,
        "failed": failed,
        **inputs.settings,
    }
    study = Study(
        results=results,
        y_true=inputs.y_true,
        x_test=inputs.x_test,
        task=the_task.name,
        headline=inputs.headline,
        spec=inputs.spec,
        dataset=inputs.dataset,
        split=inputs.split,
        environment=environment(),
        settings=settings,
        created_at=datetime.now(UTC).isoformat(timespec="seconds"),
    )
    if inputs.finish is not None:
        inputs.finish(study)
    study.duration_s = round(perf_counter() - started, 2)
    return study


def _run_trials(
    the_task: Task,
    inputs: StudyInputs,
    options: StudyPlan,
    keys: list[str],
    budget_list: list[Budget],
    reporter: Reporter,
    n_jobs: int,
) -> tuple[list[TrialResult], dict[str, Any]]:
    """Plan the trials, ask before an API spend, run them in ``n_jobs`` processes (resuming
    from the trial store): the results and the plan's summary."""
    split = inputs.splits[0]
    llm_options = options.llm_options
    with tempfile.TemporaryDirectory(prefix="crossover-nocache-") as scratch:
        # Without the persistent cache, texts are still embedded once per run: in a scratch cache.
        cache_dir = None if options.use_cache else scratch
        params = strategy_params(
            keys,
            options.model,
            cache_dir,
            options.time_budget_s,
            inputs.column_types,
            inputs.time_column,
            llm_options,
            options.encoder,
        )
        _calibrate_encoders(params, lambda: inputs.trial_data[split.split_id].texts("train"))
        if inputs.adjust is not None:
            inputs.adjust(keys, params)
        trials, plan_summary = plan(
            keys,
            params,
            split,
            options.seed,
            label=inputs.label,
            budgets=budget_list,
            seeds=inputs.seeds or options.seeds,
            all_budgets=options.all_budgets,
            extra_splits=[sp.split_id for sp in inputs.splits[1:]],
        )
        _say_plan(plan_summary, reporter)
        # A scratch cache dies with this run: keeping its trials would let a rerun reuse them
        # under a different cache path, which the trial hash would not match anyway.
        store = (
            TrialStore(options.trials_dir)
            if options.trials_dir is not None and options.use_cache
            else None
        )
        api_keys = [k for k in keys if registry.get(k).is_api]
        if api_keys and llm_options is not None:
            primary = inputs.trial_data[split.split_id]
            _approve_spend(api_keys, params, primary, llm_options, reporter, options.confirm)
        results = run(
            trials,
            inputs.trial_data,
            the_task,
            reporter=reporter,
            measure_speed=options.measure_speed,
            store=store,
            jobs=n_jobs,
            backend=_backend(options, n_jobs),
        )
    if not options.use_cache:
        for result in results:
            result.trial.params.pop("cache_dir", None)  # a scratch path means nothing later
    return results, plan_summary


def _backend(options: StudyPlan, n_jobs: int) -> Backend | None:
    """The study's ``Backend``: None for local worker processes (the runner's default)."""
    if options.backend != "ray":
        return None
    from crossover.evaluation.ray_backend import RayBackend

    # A local Ray gets the CPUs --jobs names, as the process pool would.
    return RayBackend(options.ray_address, num_cpus=None if options.ray_address else n_jobs)


def _calibrate_encoders(
    params: dict[str, dict[str, Any]], train_texts: Callable[[], list[str]]
) -> None:
    """Name the texts every static int8 encoder of the study is calibrated on: a sample of the
    training texts (never a test text), the same for every strategy and worker process."""
    from crossover.models.embeddings import default_cache_dir
    from crossover.models.runtimes import EncoderSetting, calibration_sample, save_calibration

    digests: dict[str, str] = {}
    sample: list[str] | None = None
    for p in params.values():
        if "encoder" not in p or not EncoderSetting.parse(p["encoder"]).calibrated:
            continue
        if sample is None:
            sample = calibration_sample(train_texts())
        if not sample:
            continue  # no texts (a table without one): the encoder calibrates on its first
        directory = Path(p["cache_dir"]) if p.get("cache_dir") else default_cache_dir()
        key = str(directory)
        if key not in digests:
            digests[key] = save_calibration(directory, sample)
        p["encoder_calibration"] = digests[key]


def _strategies(task: str, inputs: StudyInputs, options: StudyPlan) -> list[str]:
    """The strategies a study compares: those named, else the task's defaults plus those the
    APIs given (``--llm``, ``--embedding-api``) add; each API strategy with its model."""
    keys = parse_strategies(options.strategies, task, has_text=inputs.has_text)
    llm_options = options.llm_options
    if llm_options is not None and options.strategies is None:
        added: tuple[str, ...] = ()
        if llm_options.model:
            added += inputs.llm_strategies
        if llm_options.embedding_model:
            added += inputs.embedding_api_strategies
        keys += [k for k in added if k not in keys]
    if llm_options is not None:
        _check_api_options_used(keys, inputs, llm_options)
    _check_api_models([k for k in keys if registry.get(k).is_api], llm_options)
    return keys


def _failed_strategies(results: list[TrialResult]) -> dict[str, str]:
    """Strategies behind an API whose calls mostly failed, with the line that says so (the
    runner printed it); an error when no other strategy is left to compare."""
    lines = api_failure_lines([r for r in results if r.api_failed])
    compared = {r.trial.strategy for r in results if is_timed(r.trial)}
    if lines and compared <= set(lines):
        raise ApiUnreachable("; ".join(lines.values()))
    return lines


def _check_api_options_used(keys: list[str], inputs: StudyInputs, options: LlmOptions) -> None:
    """``--llm`` / ``--embedding-api`` with a ``--strategies`` list that names none of the
    strategies that use it: an error, not an option silently ignored."""
    for option, model, param, users in (
        ("--llm", options.model, "llm", inputs.llm_strategies),
        ("--embedding-api", options.embedding_model, "api_model", inputs.embedding_api_strategies),
    ):
        if not model or any(param in registry.get(k)._param_names() for k in keys):
            continue
        if not users:
            raise ConfigError(f"{option} {model}: no strategy of this task uses it; leave it out")
        raise ConfigError(
            f"{option} {model} is given, but --strategies names none of the strategies that use "
            f"it ({', '.join(users)}): add one of them to --strategies, or leave {option} out"
        )


def _say_plan(summary: dict[str, Any], reporter: Reporter) -> None:
    if summary["skipped_budgets"]:
        reporter.message(
            f"skipped budget(s) {summary['skipped_budgets']} per class: no class has "
            "more training rows than that (the full budget covers it)"
        )
    for key, limit in summary["limited"].items():
        reporter.message(
            f"{key} runs at budgets up to {limit} per class only (pass all_budgets / "
            "--all-budgets for more); it is not on the leaderboard"
        )


def _check_api_models(keys: list[str], options: LlmOptions | None) -> None:
    """Every strategy behind an API has its model: --llm for chat, --embedding-api for
    embeddings."""
    chat = [k for k in keys if "llm" in registry.get(k)._param_names()]
    embedding = [k for k in keys if "api_model" in registry.get(k)._param_names()]
    if chat and (options is None or not options.model):
        raise ConfigError(
            f"{', '.join(chat)} need an LLM behind an API: pass --llm MODEL (e.g. "
            "openai/gpt-4o-mini, or ollama/llama3.1 with --api-base http://localhost:11434)"
        )
    if embedding and (options is None or not options.embedding_model):
        raise ConfigError(
            f"{', '.join(embedding)} need an embeddings API: pass --embedding-api MODEL (e.g. "
            "openai/text-embedding-3-small)"
        )


def _approve_spend(
    keys: list[str],
    params: dict[str, dict[str, Any]],
    data: TrialData,
    options: LlmOptions,
    reporter: Reporter,
    confirm: Callable[[str], bool] | None,
) -> None:
    """Estimate the API spend before any call, say it, ask above the threshold, set the cap."""
    from crossover.models.llm import limit_spend

    total, calls, lines, sources = 0.0, 0, [], []
    for key in keys:
        strategy: Any = registry.get(key)(**params[key])
        if "api_model" in strategy.get_params():
            # An embeddings API: fitting would already pay (it embeds the training texts).
            # Every text it will embed: the test rows, and the training rows for a head.
            texts = list(data.test_x) + (list(data.train_x) if strategy.needs_labels else [])
            estimate = strategy.estimate(texts)
        else:
            # A chat LLM: fitting makes no call (the label set, the few-shot examples).
            strategy.fit(data.train_x, data.train_y, label_descriptions=data.label_descriptions)
            estimate = strategy.estimate(data.test_x)
        total += estimate["usd"]
        calls += int(estimate["calls"])
        lines.append(f"{key} ~${estimate['usd']:.4f}")
        source = strategy.price()[2]
        if source not in sources:
            sources.append(source)
    source = "; ".join(sources)
    cap = options.max_spend_usd
    models = ", ".join(m for m in (options.model, options.embedding_model) if m)
    message = (
        f"API spend estimate for {models}: {calls:,} calls, about ${total:.4f} "
        f"({'; '.join(lines)}; prices: {source}); answers already in the response cache are "
        "free" + (f"; hard cap --max-spend-usd {cap:g}" if cap is not None else "")
    )
    reporter.message(message)
    if cap is not None and total > cap:
        reporter.message(
            f"the estimate is above --max-spend-usd {cap:g}: the run will stop cleanly when the "
            "cap is reached, keeping every answer paid for"
        )
    if total > options.confirm_above_usd and confirm is not None and not confirm(message):
        raise ConfigError("the API spend was not confirmed; nothing was spent")
    limit_spend(cap)


def write_outputs(
    study: Study,
    out: str | Path,
    *,
    pricing: Pricing | None = None,
    recommendation: Recommendation | None = None,
    report: bool = True,
) -> dict[str, Path]:
    """Write ``study.json``, ``leaderboard.csv``, ``learning_curve.csv`` and the task's own
    files (a forecasting study's ``forecasts.csv``) into ``out``; with a pricing,
    ``decision.json`` and ``costs.csv`` (see :func:`write_decision`); and unless ``report``
    is false, ``report.html`` and ``summary.md``."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    paths = {
        "study": study.to_json(out / "study.json"),
        "leaderboard": out / "leaderboard.csv",
        "learning_curve": out / "learning_curve.csv",
    }
    study.leaderboard.to_csv(paths["leaderboard"], index=False, float_format="%.6g")
    study.learning_curve.to_csv(paths["learning_curve"], index=False, float_format="%.6g")
    paths.update(tasks.get(study.task).present.write_files(study, out))
    if pricing is not None and recommendation is not None:
        paths.update(write_decision(pricing, recommendation, out))
    if report:
        from crossover.report import render

        paths.update(render(study, out, pricing=pricing, recommendation=recommendation))
    return paths


def decide(
    study: Study, scenario: Scenario | str | Path | None = None
) -> tuple[Pricing, Recommendation]:
    """Price ``study`` under ``scenario`` (a Scenario, a YAML path, or None for the defaults)
    and apply the recommendation rule; nothing is recomputed."""
    from crossover.costs import Scenario, load_scenario
    from crossover.costs.sheet import price
    from crossover.recommend import decide as apply_rule

    if not isinstance(scenario, Scenario):
        scenario = load_scenario(scenario)
    pricing = price(study, scenario)
    return pricing, apply_rule(study, pricing)


def write_decision(
    pricing: Pricing, recommendation: Recommendation, out: str | Path
) -> dict[str, Path]:
    """Write ``decision.json`` (scenario, assumptions, cost sheets, break-evens, the
    recommendation) and ``costs.csv`` (one row per candidate) into ``out``."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    decision = out / "decision.json"
    payload = {
        "schema_version": 1,
        "pricing": pricing.to_dict(),
        "recommendation": recommendation.to_dict(),
    }
    tmp = decision.with_suffix(".json.part")
    tmp.write_text(json.dumps(_clean(payload), indent=2, allow_nan=False))
    tmp.replace(decision)
    costs = out / "costs.csv"
    pricing.table().to_csv(costs, index=False, float_format="%.6g")
    return {"decision": decision, "costs": costs}
