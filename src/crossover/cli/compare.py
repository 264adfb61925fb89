"""``crossover compare``: build and measure every strategy on the same test rows."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import typer

from crossover.cli._common import (
    print_decision,
    print_leaderboard,
    print_learning_curves,
    user_errors,
)

DEFAULT_MODEL = "sentence-transformers/all-MiniLM-L6-v2"


def _columns(value: str | None) -> list[str]:
    """``"a,b"`` -> ``["a", "b"]``; None -> ``[]``."""
    return [c.strip() for c in (value or "").split(",") if c.strip()]


@dataclass(frozen=True)
class TableOptions:
    """The options of ``--task tabular-classification`` (ignored for texts)."""

    task: str = "text-classification"
    categorical: list[str] = field(default_factory=list)
    text_columns: list[str] = field(default_factory=list)
    drop: list[str] = field(default_factory=list)
    time: str | None = None
    positive: str | None = None
    amount: str | None = None
    cost_fp: float | None = None
    fpr: float = 0.01
    repeats: int | None = None


@dataclass(frozen=True)
class RecommendationOptions:
    """The options of ``--task recommendation``: the interactions' columns and the items file."""

    user: str | None = None
    item: str | None = None
    items: Path | None = None
    item_id: str | None = None
    rating: str | None = None
    min_rating: float | None = None
    holdout: int = 5
    k: int = 10


def run_compare(
    data: Path,
    *,
    test: Path | None,
    text: str | None,
    label: str | None,
    strategies: str | None,
    model: str,
    label_descriptions: Path | None,
    out: Path,
    seed: int,
    use_cache: bool,
    strict: bool,
    budgets: str | None = None,
    seeds: int = 3,
    jobs: int | None = None,
    target: float | None = None,
    all_budgets: bool = False,
    time_budget: float | None = None,
    scenario: Path | None = None,
    table: TableOptions | None = None,
    recsys: RecommendationOptions | None = None,
    llm: Any = None,
    yes: bool = False,
) -> None:
    """Load, compare, price, decide, print and write; shared by ``compare`` and ``demo``."""
    from crossover._api import compare
    from crossover.costs import load_catalog, load_scenario
    from crossover.data import load

    assumptions = load_scenario(scenario).check(load_catalog())  # bad scenario: fail first

    table = table or TableOptions()
    if table.task == "recommendation":
        from crossover.tasks.recommendation.compare import compare_recommendation

        rec = recsys or RecommendationOptions()
        study = compare_recommendation(
            data,
            user=rec.user,
            item=rec.item,
            items=rec.items,
            item_id=rec.item_id,
            text_columns=table.text_columns or None,
            rating=rec.rating,
            min_rating=rec.min_rating,
            time=table.time,
            holdout=rec.holdout,
            k=rec.k,
            strategies=strategies,
            model=model,
            seed=seed,
            use_cache=use_cache,
            budgets=budgets,
            seeds=seeds,
            jobs=jobs,
            target=target,
            trials_dir=out / "trials",
            progress=True,
        )
        _finish(study, assumptions, out)
        return
    dataset = load(
        data,
        text=text,
        label=label,
        test=test,
        label_descriptions=label_descriptions,
        strict=strict,
        task=table.task,
        categorical=table.categorical,
        text_columns=table.text_columns,
        drop=table.drop,
        time=table.time,
        positive=table.positive,
        amount=table.amount,
    )
    for role, column in dataset.inferred.items():
        typer.secho(f"inferred --{role} {column}", fg="cyan", err=True)
    study = compare(
        dataset,
        strategies=strategies,
        model=model,
        seed=seed,
        use_cache=use_cache,
        budgets=budgets,
        seeds=seeds,
        jobs=jobs,
        target=target,
        all_budgets=all_budgets,
        time_budget_s=time_budget,
        trials_dir=out / "trials",
        progress=True,
        cost_fp=table.cost_fp,
        fpr=table.fpr,
        repeats=table.repeats,
        llm=llm,
        confirm=None if yes else _ask,
    )
    _finish(study, assumptions, out)


def _ask(message: str) -> bool:
    """Before spending money on an API: the estimate, and a yes/no on the terminal."""
    typer.secho(message, fg="yellow", err=True)
    return bool(typer.confirm("Spend it?", default=False, err=True))


def _finish(study: Any, assumptions: Any, out: Path) -> None:
    """Print the leaderboard, curves and decision; write every output file."""
    from crossover._api import decide, write_outputs

    print_leaderboard(study)
    print_learning_curves(study)
    pricing, recommendation = decide(study, assumptions)
    print_decision(pricing, recommendation)
    paths = write_outputs(study, out, pricing=pricing, recommendation=recommendation)
    typer.echo(f"wrote {', '.join(str(p) for p in paths.values())} ({study.duration_s:.1f} s)")


@user_errors
def compare_command(
    data: Path = typer.Argument(
        ...,
        readable=False,
        help="Labelled texts or a table (CSV, TSV, Parquet, JSON Lines); for "
        "--task recommendation, the interactions.",
    ),
    test: Path | None = typer.Option(
        None, "--test", readable=False, help="A fixed test set (same columns)."
    ),
    text: str | None = typer.Option(None, "--text", help="Text column (inferred if omitted)."),
    label: str | None = typer.Option(None, "--label", help="Label column (inferred if omitted)."),
    strategies: str | None = typer.Option(
        None,
        "--strategies",
        help="Comma-separated strategy keys (default: the four defaults; add text.setfit).",
    ),
    model: str = typer.Option(
        DEFAULT_MODEL, "--model", help="Sentence-transformers model: Hugging Face id or folder."
    ),
    label_descriptions: Path | None = typer.Option(
        None,
        "--label-descriptions",
        readable=False,
        help="YAML or JSON file: label -> description.",
    ),
    out: Path = typer.Option(Path("crossover-out"), "--out", help="Output folder."),
    seed: int = typer.Option(0, "--seed", help="Seed of the split, the models, the bootstrap."),
    no_cache: bool = typer.Option(
        False, "--no-cache", help="Do not read or write the on-disk embedding cache."
    ),
    strict: bool = typer.Option(
        False, "--strict", help="Fail on rows with empty texts instead of dropping them."
    ),
    budgets: str | None = typer.Option(
        None,
        "--budgets",
        help="Labelled rows per class for learning curves, and/or 'full' (default: "
        "2,4,8,16,32,64,full for texts, 8,16,32,64,128,256,full for tables; for "
        "recommendation, training interactions: 300,1000,3000,10000,30000,full).",
    ),
    seeds: int = typer.Option(3, "--seeds", help="Stratified subsamples per budget."),
    jobs: int | None = typer.Option(
        None, "--jobs", help="Worker processes for learning-curve trials (default: CPU count)."
    ),
    target: float | None = typer.Option(
        None, "--target", help="A metric value to reach, e.g. 0.9: labels needed to reach it."
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
        "text-classification",
        "--task",
        help="text-classification (one text column), tabular-classification (a table) or "
        "recommendation (interactions, with --user and --item).",
    ),
    categorical: str | None = typer.Option(
        None, "--categorical", help="Tables: comma-separated columns to treat as categorical."
    ),
    text_columns: str | None = typer.Option(
        None,
        "--text-columns",
        help="Tables: comma-separated free-text columns (embedded). Recommendation: the "
        "items file's text columns (default: every text column but the id).",
    ),
    drop: str | None = typer.Option(
        None, "--drop", help="Tables: comma-separated columns to leave out."
    ),
    time: str | None = typer.Option(
        None,
        "--time",
        help="Tables: train on the past, test on the most recent rows of COL. "
        "Recommendation: hold out each user's most recent interactions by COL.",
    ),
    positive: str | None = typer.Option(
        None, "--positive", help="Tables: the positive class (default: the rarer of two)."
    ),
    amount: str | None = typer.Option(
        None, "--amount", help="Tables: the money column a missed positive loses."
    ),
    cost_fp: float | None = typer.Option(
        None, "--cost-fp", help="Tables, with --amount: cost of reviewing one false alarm."
    ),
    fpr: float = typer.Option(
        0.01, "--fpr", help="Tables: false-positive rate at which recall is reported."
    ),
    repeats: int | None = typer.Option(
        None, "--repeats", help="Tables: stratified splits to average (default: 5 if small)."
    ),
    user: str | None = typer.Option(
        None, "--user", help="Recommendation: the user id column of the interactions."
    ),
    item: str | None = typer.Option(
        None, "--item", help="Recommendation: the item id column of the interactions."
    ),
    items: Path | None = typer.Option(
        None,
        "--items",
        readable=False,
        help="Recommendation: the items file (an item id and text columns such as title, "
        "description, category); the content and hybrid strategies need it.",
    ),
    item_id: str | None = typer.Option(
        None, "--item-id", help="Recommendation: the items file's id column (default: --item)."
    ),
    rating: str | None = typer.Option(
        None,
        "--rating",
        help="Recommendation: a rating column; ratings >= --min-rating are the positives "
        "(default: every interaction is a positive, implicit feedback).",
    ),
    min_rating: float | None = typer.Option(
        None, "--min-rating", help="Recommendation, with --rating: the positive threshold (4)."
    ),
    holdout: int = typer.Option(
        5, "--holdout", help="Recommendation: interactions held out per user (the most recent)."
    ),
    k: int = typer.Option(10, "--k", help="Recommendation: the length of each top-k list."),
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
) -> None:
    """Build the pretrained, custom and hybrid candidates and measure them side by side."""
    from crossover import tasks

    if task not in tasks.names():
        from crossover.errors import ConfigError

        raise ConfigError(f"--task {task!r}: use one of {', '.join(tasks.names())}")
    run_compare(
        data,
        test=test,
        text=text,
        label=label,
        strategies=strategies,
        model=model,
        label_descriptions=label_descriptions,
        out=out,
        seed=seed,
        use_cache=not no_cache,
        strict=strict,
        budgets=budgets,
        seeds=seeds,
        jobs=jobs,
        target=target,
        all_budgets=all_budgets,
        time_budget=time_budget,
        scenario=scenario,
        table=TableOptions(
            task=task,
            categorical=_columns(categorical),
            text_columns=_columns(text_columns),
            drop=_columns(drop),
            time=time,
            positive=positive,
            amount=amount,
            cost_fp=cost_fp,
            fpr=fpr,
            repeats=repeats,
        ),
        llm=_llm_options(
            llm,
            api_base,
            api_key_env,
            llm_price,
            max_spend_usd,
            llm_concurrency,
            embedding=(embedding_api, embedding_api_base, embedding_price),
        ),
        yes=yes,
        recsys=RecommendationOptions(
            user=user,
            item=item,
            items=items,
            item_id=item_id,
            rating=rating,
            min_rating=min_rating,
            holdout=holdout,
            k=k,
        ),
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
    from crossover.errors import ConfigError
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
