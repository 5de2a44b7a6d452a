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
def serve(host: str, port: int) -> None:
    """Serve the web UI (development server)."""
    from web.app import create_app  # noqa: PLC0415 - only this command needs Flask

    with reported():
        app = create_app()
        click.echo(f"Serving eva on http://{host}:{port}")
        app.run(host=host, port=port)


def main() -> None:
    cli()
