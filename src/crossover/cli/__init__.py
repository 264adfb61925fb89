"""The ``crossover`` command: one module per sub-command, joined here.

Heavy imports happen inside the commands, so ``crossover --help`` is instant.
"""

from __future__ import annotations

import typer

from crossover.cli import advise, compare, costs, demo, export, prices, report, serve
from crossover.cli._common import version_callback

__all__ = ["app", "main"]

app = typer.Typer(
    name="crossover",
    help="Pre-trained, custom, or hybrid? Measure it on your own data, then ship the winner.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


@app.callback()
def _root(
    version: bool = typer.Option(
        False, "--version", callback=version_callback, is_eager=True, help="Print the version."
    ),
) -> None:
    """Pre-trained, custom, or hybrid? Measure it on your own data, then ship the winner."""


app.command("advise")(advise.advise_command)
app.command("compare")(compare.compare_command)
app.command("costs")(costs.costs_command)
app.command("demo")(demo.demo_command)
app.command("export")(export.export_command)
app.command("prices")(prices.prices_command)
app.command("report")(report.report_command)
app.command("serve")(serve.serve_command)


def main() -> None:
    app()
