"""The ``eva`` program: the engine's command line (``eva_engine.cli``, every command but one)
plus the web layer's one command, ``serve``, added here so that the engine never imports the
web layer. The console script ``eva`` is ``main``."""

from __future__ import annotations

import click

from eva_engine.cli import cli
from eva_engine.cli.output import Unit, reported
from eva_engine.cli.params import WholeNumber


@cli.command("serve", unit=Unit.OWN)  # each request owns its unit of work (web.errors)
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", type=WholeNumber(1, 65535), default=5000, show_default=True)
@click.option(
    "--workers",
    type=WholeNumber(1, 64),
    help="Worker processes (default: EVA_WEB_WORKERS, else 2 x CPUs + 1, at most 8).",
)
@click.option("--threads", type=WholeNumber(1, 64), help="Threads per worker (default: 2).")
@click.option("--dev", is_flag=True, help="Flask's development server instead (not in production).")
def serve(host: str, port: int, workers: int | None, threads: int | None, dev: bool) -> None:
    """Serve the web UI with gunicorn (see docs/deployment.md); --dev: the development server."""
    from web import server  # noqa: PLC0415 - only this command needs Flask and gunicorn

    with reported():
        if dev:
            click.echo(f"Serving eva (development server) on http://{host}:{port}")
            server.serve_development(host, port)
        else:
            options = server.ServerOptions.from_env(
                host=host, port=port, workers=workers, threads=threads
            )
            server.serve(options)


def main() -> None:
    cli()
