"""``crossover prices``: the price catalog the cost sheets use, with sources and dates."""

from __future__ import annotations

import json

import typer

from crossover.cli._common import user_errors


@user_errors
def prices_command(
    as_json: bool = typer.Option(False, "--json", help="Print the catalog as JSON."),
) -> None:
    """List hardware per hour, API prices per 1M tokens, label and engineer-day prices."""
    from rich.console import Console
    from rich.table import Table

    from crossover.costs import load_catalog

    catalog = load_catalog()
    api = {name: catalog.api_price(name) for name in catalog.api}
    if as_json:
        data = catalog.to_dict()
        data["api"] = {k: v.to_dict() for k, v in api.items()}
        typer.echo(json.dumps(data, indent=2))
        return
    console = Console(width=max(120, Console().width))
    hardware = Table(title=f"hardware, on demand (catalog of {catalog.as_of})")
    for column in ("machine", "$ / hour", "vCPUs", "memory GiB", "GPU", "source"):
        hardware.add_column(column, overflow="fold")
    for h in catalog.hardware.values():
        hardware.add_row(
            h.name,
            f"{h.usd_per_hour:g}",
            str(h.vcpus),
            f"{h.memory_gib:g}",
            h.gpu or "-",
            h.source,
        )
    console.print(hardware)
    tokens = Table(title="API models, $ per 1M tokens")
    for column in ("model", "mode", "input", "output", "source"):
        tokens.add_column(column, overflow="fold")
    for p in api.values():
        tokens.add_row(
            p.model, p.mode, f"{p.input_usd_per_mtok:g}", f"{p.output_usd_per_mtok:g}", p.source
        )
    console.print(tokens)
    try:
        import litellm  # noqa: F401
    except ImportError:
        console.print("API prices: from the catalog (install litellm for its maintained map).")
    console.print(f"labels: ${catalog.usd_per_label:g} each - {catalog.labels_source}")
    console.print(
        f"engineering: ${catalog.engineer_usd_per_day:g} a day - {catalog.engineering_source}"
    )
