"""The ``oyren`` command line: a thin shell that parses, calls one library function, renders."""

from __future__ import annotations

import sys
from pathlib import Path

import click
import orjson
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from oyren import __version__
from oyren.campaign import load_campaign
from oyren.errors import OyrenError
from oyren.moderation import latest_decisions, read_decisions
from oyren.observations import SkipReport, read_observations
from oyren.report import render_results
from oyren.results import Results, results_to_dict

__all__ = ["cli", "main"]

FORMATS = click.Choice(["table", "json"])


class UserError(click.ClickException):
    """An :class:`OyrenError` shown as ``error: …`` with exit status 2."""

    exit_code = 2

    def format_message(self) -> str:
        return self.message

    def show(self, file: object = None) -> None:
        click.echo(f"error: {self.format_message()}", err=True)


class _Group(click.Group):
    """Turns the library's user errors into a one-line message and exit status 2."""

    def invoke(self, ctx: click.Context) -> object:
        try:
            return super().invoke(ctx)
        except OyrenError as exc:
            raise UserError(str(exc)) from exc


@click.group(cls=_Group)
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
@click.option(
    "--campaign",
    "campaign_path",
    required=True,
    type=click.Path(path_type=Path),
    help="Campaign TOML file.",
)
@click.option(
    "--observations",
    "observations_path",
    required=True,
    type=click.Path(path_type=Path),
    help="Observations as JSONL or CSV in the TikTok Research API's field names.",
)
@click.option(
    "--decisions",
    "decisions_path",
    type=click.Path(path_type=Path),
    help="Moderation decisions as JSONL.",
)
@click.option("--format", "fmt", type=FORMATS, default="table", show_default=True)
@click.option("--skip-invalid", is_flag=True, help="Pass over bad lines and report them.")
def run(
    campaign_path: Path,
    observations_path: Path,
    decisions_path: Path | None,
    fmt: str,
    skip_invalid: bool,
) -> None:
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


@cli.command()
@click.option(
    "--campaign",
    "campaign_path",
    required=True,
    type=click.Path(path_type=Path),
    help="Campaign TOML file whose rules the sandbox follows.",
)
@click.option(
    "--out",
    "out_path",
    required=True,
    type=click.Path(path_type=Path),
    help="Where to write the observations (.jsonl, or .csv).",
)
@click.option(
    "--videos",
    default=2000,
    show_default=True,
    type=click.IntRange(min=1),
    help="How many videos to invent.",
)
@click.option("--seed", default=1, show_default=True, type=int, help="Random seed.")
@click.option(
    "--observations-per-video",
    default=10,
    show_default=True,
    type=click.IntRange(min=1),
    help="About how many crawls see each video.",
)
def simulate(
    campaign_path: Path, out_path: Path, videos: int, seed: int, observations_per_video: int
) -> None:
    """Write a realistic, deterministic sandbox campaign as observations."""
    from oyren.simulate import write_simulation

    campaign = load_campaign(campaign_path)
    with _progress() as progress:
        task = progress.add_task("inventing videos", total=videos)
        written = write_simulation(
            campaign,
            out_path,
            videos=videos,
            seed=seed,
            observations_per_video=observations_per_video,
            progress=lambda n: progress.advance(task, n),
        )
    _err().print(f"wrote {written:,} observations of {videos:,} videos to {out_path}")


@cli.command()
@click.option(
    "--videos",
    default=3000,
    show_default=True,
    type=click.IntRange(min=1),
    help="How many videos the sandbox campaign has.",
)
@click.option("--seed", default=1, show_default=True, type=int, help="Random seed.")
def demo(videos: int, seed: int) -> None:
    """Generate the bundled sandbox campaign, decide it and print standings and winners."""
    from oyren.engine import evaluate_observations
    from oyren.simulate import observations, sandbox_campaign
    from oyren.simulate import simulate as simulate_campaign

    campaign = sandbox_campaign()
    with _progress() as progress:
        task = progress.add_task("inventing videos", total=videos)
        sim = simulate_campaign(
            campaign, videos=videos, seed=seed, progress=lambda n: progress.advance(task, n)
        )
        results = evaluate_observations(campaign, observations(sim))
    render_results(results, Console(), top=10)


def _progress() -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=_err(),
        transient=True,
    )


def main() -> None:
    """Entry point of the ``oyren`` command."""
    cli(prog_name="oyren")
