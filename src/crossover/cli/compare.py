"""``crossover compare``: build and measure every strategy on the same test rows."""

from __future__ import annotations

import inspect
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from crossover._encoders import DEFAULT_ENCODER, SETTINGS
from crossover.cli._common import (
    print_decision,
    print_leaderboard,
    print_learning_curves,
    user_errors,
)
from crossover.cli._task_options import task_parameters, task_values
from crossover.errors import ConfigError
from crossover.tasks import DEFAULT as DEFAULT_TASK

if TYPE_CHECKING:
    from crossover.plan import StudyPlan

DEFAULT_MODEL = "sentence-transformers/all-MiniLM-L6-v2"


def run_compare(
    data: Path,
    options: StudyPlan,
    *,
    out: Path,
    scenario: Path | None = None,
    yes: bool = False,
    mlflow: str | None = None,
    mlflow_experiment: str | None = None,
) -> None:
    """Compare, price, decide, print and write; shared by ``compare`` and ``demo``.

    The trials are kept in ``out/trials`` (a rerun resumes), with a progress bar; an API
    spend above the threshold is asked for unless ``yes``. With ``mlflow`` (a tracking URI),
    the study is logged there afterwards (``crossover.tracking.log_study``)."""
    from crossover._api import run_study
    from crossover.costs import load_catalog, load_scenario

    assumptions = load_scenario(scenario).check(load_catalog())  # bad scenario: fail first
    if mlflow is not None:
        from crossover.tracking import check_tracking_uri

        mlflow = check_tracking_uri(mlflow)  # an address nothing answers at: fail first
    options = replace(
        options, trials_dir=out / "trials", progress=True, confirm=None if yes else _ask
    )
    study = run_study(data, options)
    _finish(study, assumptions, out, mlflow=mlflow, mlflow_experiment=mlflow_experiment)


def _ask(message: str) -> bool:
    """Before spending money on an API: the estimate, and a yes/no on the terminal."""
    typer.secho(message, fg="yellow", err=True)
    return bool(typer.confirm("Spend it?", default=False, err=True))


def _finish(
    study: Any,
    assumptions: Any,
    out: Path,
    *,
    mlflow: str | None = None,
    mlflow_experiment: str | None = None,
) -> None:
    """Print the leaderboard, curves and decision; write every output file; log to MLflow."""
    from crossover._api import decide, write_outputs

    print_leaderboard(study)
    print_learning_curves(study)
    pricing, recommendation = decide(study, assumptions)
    print_decision(study, pricing, recommendation)
    paths = write_outputs(study, out, pricing=pricing, recommendation=recommendation)
    typer.echo(f"wrote {', '.join(str(p) for p in paths.values())} ({study.duration_s:.1f} s)")
    if mlflow is not None:
        from crossover.tracking import EXPERIMENT, log_study

        try:
            logged = log_study(
                study,
                mlflow,
                experiment=mlflow_experiment or EXPERIMENT,
                pricing=pricing,
                recommendation=recommendation,
                artifacts=paths.values(),
                out=out,
            )
        except ConfigError as exc:
            raise ConfigError(
                f"{exc} (the study is written in {out}; the same command logs it again without "
                "rerunning a trial)"
            ) from None
        where = logged.url or f"run {logged.run_id} at {logged.tracking_uri}"
        typer.echo(
            f"logged to MLflow: {where} ({len(logged.strategy_runs)} strategy runs, experiment "
            f"{mlflow_experiment or EXPERIMENT})"
        )
    for line in _next_steps(recommendation.choice, out):
        typer.echo(line)


def _next_steps(choice: str | None, out: Path) -> list[str]:
    """The commands that ship the recommended strategy: export it, then serve the folder.

    Named by ``--strategy`` rather than ``--recommended``, so that the export trains what this
    run printed whatever scenario it is given later.
    """
    import shlex

    model_dir = out / "model"
    n = 1
    while model_dir.exists() and any(model_dir.iterdir()):  # export wants a new or empty folder
        n += 1
        model_dir = out / f"model-{n}"
    if choice is None:
        key = "KEY"
        lines = ["next: no strategy was recommended; to ship one anyway, pick its KEY above:"]
    else:
        key = shlex.quote(choice)
        lines = [f"next: ship {choice}:"]
    export = f"crossover export {shlex.quote(str(out))} --strategy {key}"
    lines.append(f"  {export} --out {shlex.quote(str(model_dir))}")
    lines.append(f"  crossover serve {shlex.quote(str(model_dir))}")
    return lines


@user_errors
def compare_command(
    data: Path = typer.Argument(
        ...,
        readable=False,
        help="Labelled texts or a table (CSV, TSV, Parquet, JSON Lines); for "
        "--task recommendation, the interactions.",
    ),
    strategies: str | None = typer.Option(
        None,
        "--strategies",
        help="Comma-separated strategy keys (default: the four defaults; add text.setfit).",
    ),
    model: str = typer.Option(
        DEFAULT_MODEL, "--model", help="Sentence-transformers model: Hugging Face id or folder."
    ),
    encoder: str | None = typer.Option(
        None,
        "--encoder",
        help="How the pre-trained encoder runs: RUNTIME-PRECISION, one of "
        f"{', '.join(SETTINGS)} (default: {DEFAULT_ENCODER} for texts, calibrated on the "
        "training texts; openvino-bf16 for images; torch-fp32 runs the model as it is). "
        "KEY@SETTING in --strategies adds a strategy at another setting.",
    ),
    out: Path = typer.Option(Path("crossover-out"), "--out", help="Output folder."),
    seed: int = typer.Option(0, "--seed", help="Seed of the split, the models, the bootstrap."),
    no_cache: bool = typer.Option(
        False, "--no-cache", help="Do not read or write the on-disk embedding cache."
    ),
    budgets: str | None = typer.Option(
        None,
        "--budgets",
        help="Labelled rows per class for learning curves, and/or 'full' (default: doubling "
        "from 2 for texts, from 8 for tables, six steps, then x4 steps up to the largest "
        "class, then full; for recommendation, training interactions: "
        "300,1000,3000,10000,30000,full).",
    ),
    seeds: int = typer.Option(3, "--seeds", help="Stratified subsamples per budget."),
    jobs: int | None = typer.Option(
        None, "--jobs", help="Worker processes for learning-curve trials (default: CPU count)."
    ),
    backend: str = typer.Option(
        "local",
        "--backend",
        help="Where learning-curve trials run: local (worker processes) or ray (Ray tasks; "
        "pip install 'crossover\\[ray]').",
    ),
    ray_address: str | None = typer.Option(
        None,
        "--ray-address",
        help="With --backend ray: HOST:PORT of a running cluster (ray start --head), or auto "
        "(default: start a local Ray for the study).",
    ),
    target: float | None = typer.Option(
        None,
        "--target",
        help="A metric value to reach, e.g. 0.9: labels needed to reach it (for an error such "
        "as MASE, a value to get down to).",
    ),
    all_budgets: bool = typer.Option(
        False, "--all-budgets", help="Run text.setfit (limited to <= 16 per class) at every budget."
    ),
    time_budget: float | None = typer.Option(
        None, "--time-budget", help="Seconds of training per text.setfit trial."
    ),
    scenario: Path | None = typer.Option(
        None,
        "--scenario",
        readable=False,
        help="YAML: volume, hardware, label and engineer prices, constraints (default: the "
        "documented defaults; see `crossover prices`).",
    ),
    task: str = typer.Option(
        DEFAULT_TASK,
        "--task",
        help="text-classification (one text column), tabular-classification (a table) or "
        "recommendation (interactions, with --user and --item).",
    ),
    llm: str | None = typer.Option(
        None,
        "--llm",
        help="Texts: also compare an LLM behind an API (text.llm-zero-shot, text.llm-few-shot): "
        "a LiteLLM model id such as openai/gpt-4o-mini, anthropic/claude-3-5-haiku-20241022, "
        "ollama/llama3.1, or openai/NAME with --api-base for any OpenAI-compatible server.",
    ),
    api_base: str | None = typer.Option(
        None, "--api-base", help="With --llm: the server's base URL (Ollama, vLLM, a proxy)."
    ),
    api_key_env: str | None = typer.Option(
        None,
        "--api-key-env",
        help="With --llm: the environment variable holding the key (default: the provider's, "
        "e.g. OPENAI_API_KEY). Keys are read from the environment only.",
    ),
    llm_price: str | None = typer.Option(
        None,
        "--llm-price",
        help="With --llm: IN,OUT US dollars per million input and output tokens (default: "
        "LiteLLM's price map; 0,0 for a server of your own).",
    ),
    max_spend_usd: float | None = typer.Option(
        None, "--max-spend-usd", help="With --llm: a hard cap on this run's API spend."
    ),
    llm_concurrency: int = typer.Option(
        4, "--llm-concurrency", help="With --llm: API calls in flight at once."
    ),
    embedding_api: str | None = typer.Option(
        None,
        "--embedding-api",
        help="Texts: also compare embeddings from an API (text.api-embeddings, "
        "text.api-embedding-head): a LiteLLM model id such as openai/text-embedding-3-small, "
        "or openai/NAME with --embedding-api-base for an OpenAI-compatible server.",
    ),
    embedding_api_base: str | None = typer.Option(
        None, "--embedding-api-base", help="The embeddings server's base URL (default: --api-base)."
    ),
    embedding_price: float | None = typer.Option(
        None,
        "--embedding-price",
        help="With --embedding-api: US dollars per million input tokens (default: LiteLLM's "
        "price map; 0 for a server of your own).",
    ),
    yes: bool = typer.Option(
        False, "--yes", help="With an API model: do not ask before spending more than $1."
    ),
    mlflow: str | None = typer.Option(
        None,
        "--mlflow",
        envvar="MLFLOW_TRACKING_URI",
        show_envvar=True,
        help="Log the study to MLflow at this tracking URI (a server such as "
        "http://127.0.0.1:5000, or a local store): a run, a nested run per strategy, the "
        "report and decision as artifacts (pip install 'crossover\\[mlflow]').",
    ),
    mlflow_experiment: str | None = typer.Option(
        None, "--mlflow-experiment", help="With --mlflow: the experiment (default: crossover)."
    ),
    **task_options: Any,
) -> None:
    """Build the pretrained, custom and hybrid candidates and measure them side by side."""
    from crossover import tasks

    if task not in tasks.names():
        raise ConfigError(f"--task {task!r}: use one of {', '.join(tasks.names())}")
    from crossover.plan import StudyPlan

    options = StudyPlan.of(
        task,
        **task_values(task_options),
        strategies=strategies,
        model=model,
        encoder=encoder,
        seed=seed,
        use_cache=not no_cache,
        budgets=budgets,
        seeds=seeds,
        jobs=jobs,
        backend=backend,
        ray_address=ray_address,
        target=target,
        all_budgets=all_budgets,
        time_budget_s=time_budget,
        llm=_llm_options(
            llm,
            api_base,
            api_key_env,
            llm_price,
            max_spend_usd,
            llm_concurrency,
            embedding=(embedding_api, embedding_api_base, embedding_price),
        ),
    )
    run_compare(
        data,
        options,
        out=out,
        scenario=scenario,
        yes=yes,
        mlflow=mlflow,
        mlflow_experiment=mlflow_experiment,
    )


# The task options (each task's TaskOptions, crossover.tasks.options_class) follow the common
# ones; typer reads the parameters from the signature.
_common = inspect.signature(compare_command).parameters.values()
compare_command.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
    [p for p in _common if p.kind is not inspect.Parameter.VAR_KEYWORD] + task_parameters()
)


def _llm_options(
    model: str | None,
    api_base: str | None,
    api_key_env: str | None,
    price: str | None,
    max_spend_usd: float | None,
    concurrency: int,
    embedding: tuple[str | None, str | None, float | None] = (None, None, None),
) -> Any:
    """``--llm``, ``--embedding-api`` and their options as ``LlmOptions`` (None without
    either)."""
    from crossover.plan import LlmOptions

    given: dict[str, object] = {
        "--api-base": api_base,
        "--api-key-env": api_key_env,
        "--llm-price": price,
        "--max-spend-usd": max_spend_usd,
    }
    embedding_model, embedding_base, embedding_price = embedding
    if embedding_model is None:
        stray = [
            name
            for name, value in (
                ("--embedding-api-base", embedding_base),
                ("--embedding-price", embedding_price),
            )
            if value is not None
        ]
        if stray:
            raise ConfigError(f"{', '.join(stray)} only apply with --embedding-api MODEL")
    if embedding_price is not None and embedding_price < 0:
        raise ConfigError(f"--embedding-price {embedding_price}: give a non-negative price")
    if model is None and embedding_model is None:
        stray = [name for name, value in given.items() if value is not None]
        if stray:
            raise ConfigError(
                f"{', '.join(stray)} only apply with --llm MODEL or --embedding-api MODEL"
            )
        return None
    prices = None
    if price is not None:
        try:
            prices = tuple(float(v) for v in price.split(","))
        except ValueError:
            prices = ()
        if len(prices) != 2 or min(prices) < 0:
            raise ConfigError(
                f"--llm-price {price!r}: give IN,OUT US dollars per million tokens, e.g. 0.15,0.6"
            )
    if concurrency < 1:
        raise ConfigError(f"--llm-concurrency {concurrency}: use 1 or more")
    return LlmOptions(
        model=model,
        api_base=api_base,
        api_key_env=api_key_env,
        price=prices,  # type: ignore[arg-type]
        max_spend_usd=max_spend_usd,
        max_concurrency=concurrency,
        embedding_model=embedding_model,
        embedding_api_base=embedding_base,
        embedding_price=embedding_price,
    )
