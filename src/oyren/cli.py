"""The ``oyren`` command line: a thin shell that parses, calls one library function, renders."""

from __future__ import annotations

import sys
from pathlib import Path

import click
import orjson
from rich.console import Console

from oyren import __version__
from oyren.campaign import load_campaign
from oyren.errors import OyrenError
from oyren.moderation import latest_decisions, read_decisions
from oyren.observations import SkipReport, read_observations
from oyren.report import render_results
from oyren.results import Results, results_to_dict

__all__ = ["cli", "main"]

FORMATS = click.Choice(["table", "json"])


@click.group()
@click.version_option(__version__, prog_name="oyren")
def cli() -> None:
    """Öyrən: run hashtag short-video contests end to end."""


def _err() -> Console:
    return Console(stderr=True)


def _print_results(results: Results, fmt: str) -> None:
    if fmt == "json":
        sys.stdout.buffer.write(orjson.dumps(results_to_dict(results), option=orjson.OPT_INDENT_2))
        sys.stdout.buffer.write(b"\n")
    else:
        render_results(results, Console())


def _report_skips(skip: SkipReport) -> None:
    if skip.count:
        console = _err()
        console.print(f"skipped {skip.count:,} invalid line(s); the first ones:")
        for error in skip.errors:
            console.print(f"  {error}", markup=False, highlight=False)


@cli.command()
@click.option("--campaign", "campaign_path", required=True, type=click.Path(path_type=Path),
              help="Campaign TOML file.")  # fmt: skip
@click.option("--observations", "observations_path", required=True, type=click.Path(path_type=Path),
              help="Observations as JSONL or CSV in the TikTok Research API's field names.")  # fmt: skip
@click.option("--decisions", "decisions_path", type=click.Path(path_type=Path),
              help="Moderation decisions as JSONL.")  # fmt: skip
@click.option("--format", "fmt", type=FORMATS, default="table", show_default=True)
@click.option("--skip-invalid", is_flag=True, help="Pass over bad lines and report them.")
def run(campaign_path: Path, observations_path: Path, decisions_path: Path | None, fmt: str,
        skip_invalid: bool) -> None:  # fmt: skip
    """Decide every video and the prizes from a file of observations (no database)."""
    from oyren.engine import evaluate_observations

    campaign = load_campaign(campaign_path)
    decisions = latest_decisions(read_decisions(decisions_path)) if decisions_path else None
    skip = SkipReport() if skip_invalid else None
    results = evaluate_observations(
        campaign, read_observations(observations_path, skip=skip), decisions=decisions
    )
    if skip is not None:
        _report_skips(skip)
    _print_results(results, fmt)


def main() -> None:
    """Entry point: run the CLI, turning user errors into a message and exit status 2."""
    try:
        code = cli(standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("Aborted.", err=True)
        sys.exit(1)
    except click.exceptions.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except OyrenError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(2)
    sys.exit(code if isinstance(code, int) else 0)
