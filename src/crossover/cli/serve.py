"""``crossover serve``: answer HTTP requests with an exported model directory."""

from __future__ import annotations

import ipaddress
from pathlib import Path

import typer

from crossover.cli._common import user_errors


def _is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


@user_errors
def serve_command(
    model_dir: Path = typer.Argument(..., help="A model directory written by export."),
    host: str = typer.Option("127.0.0.1", "--host", help="Address to listen on."),
    port: int = typer.Option(8000, "--port", min=1, max=65535, help="TCP port to listen on."),
    workers: int = typer.Option(
        1, "--workers", min=1, help="Server processes; each loads its own copy of the model."
    ),
    api_key_env: str | None = typer.Option(
        None,
        "--api-key-env",
        help="Name of the environment variable holding the API key; the /v1 routes then need "
        "it (Authorization: Bearer KEY). The key itself never goes on the command line.",
    ),
    max_batch: int | None = typer.Option(
        None,
        "--max-batch",
        help="Most texts, table rows, item ids or series per request (default 256).",
    ),
    max_text_chars: int | None = typer.Option(
        None, "--max-text-chars", help="Most characters per text (default 10000)."
    ),
    max_wait_ms: float | None = typer.Option(
        None,
        "--max-wait-ms",
        help="Longest a request to an embedding model waits to share a model call (default 5).",
    ),
    micro_batch: int | None = typer.Option(
        None, "--micro-batch", help="Most texts or rows in one model call (default 64)."
    ),
    max_body_mb: float | None = typer.Option(
        None,
        "--max-body-mb",
        help="Largest request body in MiB, checked while it is read: 413 beyond, the rest "
        "dropped unread by the app (default 4).",
    ),
    request_timeout_s: float | None = typer.Option(
        None,
        "--request-timeout-s",
        help="Longest wait for a request's headers, then for its body: 408 beyond, and the "
        "connection closed (default 30).",
    ),
    max_connections: int | None = typer.Option(
        None,
        "--max-connections",
        help="Most open connections each server process serves at once: a request beyond "
        "them gets 503 (default 512).",
    ),
) -> None:
    """Serve MODEL_DIR over HTTP: /v1/predict (or /v1/recommend for a recommendation model,
    /v1/forecast for a forecasting model), /v1/embeddings, /metrics, docs at /docs."""
    from crossover.artifacts.load import load_model
    from crossover.serve.server import run
    from crossover.serve.settings import ServeSettings

    settings = ServeSettings.build(
        max_batch=max_batch,
        max_text_chars=max_text_chars,
        api_key_env=api_key_env,
        max_wait_ms=max_wait_ms,
        max_size=micro_batch,
        max_body_mb=max_body_mb,
        request_timeout_s=request_timeout_s,
        max_connections=max_connections,
    )
    settings.api_key()  # an unset variable is an error now, not after startup
    # A bad or tampered folder stops here, before any socket. With several workers each loads
    # its own copy, so the supervisor keeps none.
    checked = load_model(model_dir)
    preloaded = checked if workers == 1 else None
    del checked
    if not _is_loopback(host) and settings.api_key_env is None:
        typer.secho(
            f"warning: serving on {host} without an API key; anyone who can reach it can use "
            "the model (see --api-key-env)",
            fg="yellow",
            err=True,
        )
    run(
        model_dir,
        settings,
        host=host,
        port=port,
        workers=workers,
        model=preloaded,
    )
