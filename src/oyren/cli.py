"""The ``oyren`` command line: a thin shell that parses, calls one library function, renders."""

from __future__ import annotations

import sys

import click

from oyren import __version__
from oyren.errors import OyrenError

__all__ = ["cli", "main"]


@click.group()
@click.version_option(__version__, prog_name="oyren")
def cli() -> None:
    """Öyrən: run hashtag short-video contests end to end."""


def main() -> None:
    """Entry point: run the CLI, turning user errors into a message and exit status 2."""
    try:
        cli(standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("Aborted.", err=True)
        sys.exit(1)
    except click.exceptions.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except OyrenError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(2)
