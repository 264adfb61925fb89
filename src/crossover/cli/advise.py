"""``crossover advise``: pretrained, custom or hybrid, from eight answers, before any data.

Answers come from ``--answers FILE``, then the flags (a flag wins over the file), then a
prompt for each one still missing (on stderr, so that ``--json`` output stays clean). With
``--no-input`` a missing answer is an error naming its flag.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from crossover.cli._common import user_errors

if TYPE_CHECKING:
    from crossover.advise import Advice


def _read_answers(path: Path) -> dict[str, Any]:
    import yaml

    from crossover.errors import ConfigError

    try:
        text = path.read_text("utf-8")
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the answers ({exc.strerror})") from exc
    except UnicodeDecodeError as exc:
        raise ConfigError(
            f"{path}: byte {exc.start} is not UTF-8 text; the answers are a YAML or JSON file"
        ) from exc
    try:
        raw = yaml.safe_load(text)  # JSON is YAML too
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML or JSON: {exc}") from exc
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: expected a mapping of answers (name: value), got {raw!r}")
    return raw


def _ask(name: str) -> Any:
    """Ask for one answer on stderr until it parses; end of input is a ConfigError.

    Not ``typer.prompt``: click's prompt writes a space to stdout after the question, which
    would corrupt ``--json`` output.
    """
    from crossover.advise import QUESTIONS, parse_answer
    from crossover.errors import ConfigError

    question = next(q for q in QUESTIONS if q.name == name)
    text = question.prompt + (" [y/n]" if question.kind == "bool" else "") + " "
    while True:
        typer.echo(text, nl=False, err=True)
        try:
            line = input()
        except EOFError:
            typer.echo(err=True)  # end the prompt's line, so the error starts its own
            raise ConfigError(
                f"no answer for {question.flag} (input ended): pass it as a flag or in "
                "--answers FILE"
            ) from None
        try:
            return parse_answer(name, line)
        except ConfigError as exc:
            typer.secho(f"{exc}; try again", fg="yellow", err=True)


def collect_answers(
    flags: dict[str, Any], answers_file: Path | None, *, ask: bool
) -> dict[str, Any]:
    """The answers from the file, overridden by the flags, the rest asked (or an error)."""
    from crossover.advise import QUESTIONS, parse_answer
    from crossover.errors import ConfigError

    values: dict[str, Any] = {}
    if answers_file is not None:
        raw = _read_answers(answers_file)
        known = {q.name for q in QUESTIONS}
        unknown = sorted(set(raw) - known)
        if unknown:
            raise ConfigError(
                f"{answers_file}: unknown answer(s) {', '.join(map(str, unknown))}; the answers "
                f"are {', '.join(q.name for q in QUESTIONS)}"
            )
        for name, value in raw.items():
            if value is None:
                continue
            try:
                values[name] = parse_answer(name, value)
            except ConfigError as exc:
                raise ConfigError(f"{answers_file}: {exc}") from None
    for name, value in flags.items():
        if value is not None:
            values[name] = parse_answer(name, value)
    for question in QUESTIONS:
        if question.name in values:
            continue
        if not ask:
            raise ConfigError(
                f"missing answer: {question.flag} ({question.name}); pass it as a flag or in "
                "--answers FILE, or drop --no-input to be asked"
            )
        values[question.name] = _ask(question.name)
    return values


def print_advice(advice: Advice) -> None:
    """The advice on stdout: choice, reasons, cost ranges, what to collect, the next command."""
    from rich.console import Console
    from rich.table import Table

    from crossover.advise import scenario_yaml, usd_range

    console = Console(width=max(120, Console().width), highlight=False)
    console.print(f"[bold]Advice: {advice.choice}[/bold] ({advice.serving})", soft_wrap=True)
    console.print(advice.summary, markup=False, soft_wrap=True)
    console.print("\n[bold]Why[/bold]")
    for reason in advice.reasons:
        console.print(f"  • {reason}", markup=False, soft_wrap=True)
    volume = f"{advice.answers.monthly_volume:,.0f}"
    table = Table(title=f"cost ranges (estimates; price catalog of {advice.catalog_as_of})")
    table.add_column("option", no_wrap=True)
    table.add_column("setup", justify="right", no_wrap=True)
    table.add_column(f"monthly at {volume} predictions", justify="right", no_wrap=True)
    table.add_column("labels to buy", justify="right", no_wrap=True)
    for c in advice.cost_ranges:
        name = c.option if c.allowed else f"{c.option} (ruled out: data may not leave)"
        table.add_row(
            name,
            usd_range(c.setup_usd_low, c.setup_usd_high),
            usd_range(c.monthly_usd_low, c.monthly_usd_high),
            f"{c.labels_to_buy_low:,}–{c.labels_to_buy_high:,}",
        )
    console.print()
    console.print(table)
    console.print("[bold]Assumptions[/bold]")
    for c in advice.cost_ranges:
        for line in c.assumptions:
            console.print(f"  {c.option}: {line}", markup=False, soft_wrap=True)
    console.print("[bold]Sources[/bold]")
    sources = dict.fromkeys(s for c in advice.cost_ranges for s in c.sources)
    for source in sources:
        console.print(f"  {source}", markup=False, soft_wrap=True)
    console.print("\n[bold]What to collect before `crossover compare`[/bold]")
    for i, item in enumerate(advice.collect, 1):
        console.print(f"  {i}. {item}", markup=False, soft_wrap=True)
    console.print("\n[bold]Then run[/bold]")
    console.print(f"  {advice.compare_command}", markup=False, soft_wrap=True)
    console.print("\n[bold]scenario.yaml[/bold]")
    console.print(scenario_yaml(advice.scenario).rstrip(), markup=False, soft_wrap=True)


@user_errors
def advise_command(
    problem: str | None = typer.Option(
        None,
        "--problem",
        metavar="general|domain",
        help="General (translation, transcription, chat) or domain-specific.",
    ),
    labelled: str | None = typer.Option(
        None, "--labelled", metavar="N", help="Labelled examples you already have."
    ),
    ship_within_days: str | None = typer.Option(
        None, "--ship-within-days", metavar="DAYS", help="Calendar days until production."
    ),
    budget: str | None = typer.Option(
        None, "--budget", metavar="USD", help="Up-front budget: engineering and labels."
    ),
    accuracy_critical: bool | None = typer.Option(
        None,
        "--accuracy-critical/--no-accuracy-critical",
        help="Is accuracy critical or regulated?",
        show_default=False,
    ),
    core_product: bool | None = typer.Option(
        None,
        "--core-product/--no-core-product",
        help="Is AI the core of the product?",
        show_default=False,
    ),
    volume: str | None = typer.Option(
        None, "--volume", metavar="N", help="Expected predictions per month."
    ),
    data_may_leave: bool | None = typer.Option(
        None,
        "--data-may-leave/--on-premises",
        help="May the data be sent to an external API?",
        show_default=False,
    ),
    answers_file: Path | None = typer.Option(
        None,
        "--answers",
        metavar="FILE",
        help="YAML or JSON with the answers by name (problem, labelled_examples, "
        "ship_within_days, upfront_budget_usd, accuracy_critical, ai_is_core_product, "
        "monthly_volume, data_may_leave); flags win.",
    ),
    no_input: bool = typer.Option(
        False, "--no-input", help="Never prompt: a missing answer is an error."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the advice as JSON."),
    write_scenario: Path | None = typer.Option(
        None,
        "--write-scenario",
        metavar="FILE",
        help="Write the suggested scenario.yaml for `crossover compare`.",
    ),
) -> None:
    """Pretrained, custom or hybrid? Advice from a short questionnaire, before any data."""
    import json

    from crossover.advise import Answers, advise, scenario_yaml

    flags = {
        "problem": problem,
        "labelled_examples": labelled,
        "ship_within_days": ship_within_days,
        "upfront_budget_usd": budget,
        "accuracy_critical": accuracy_critical,
        "ai_is_core_product": core_product,
        "monthly_volume": volume,
        "data_may_leave": data_may_leave,
    }
    values = collect_answers(flags, answers_file, ask=not no_input)
    advice = advise(Answers(**values))
    if write_scenario is not None:
        write_scenario.write_text(scenario_yaml(advice.scenario), "utf-8")
        typer.secho(f"wrote {write_scenario}", err=True)
    if as_json:
        typer.echo(json.dumps(advice.to_dict(), indent=2))
    else:
        print_advice(advice)
