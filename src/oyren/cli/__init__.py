"""The ``oyren`` command line: a thin shell that parses, calls one library function, renders.

No SQL and no contest rules here: it may import every library layer and the sandbox."""

from __future__ import annotations

import dataclasses
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click
import orjson
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    Task,
    TaskID,
    TaskProgressColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.text import Text

from oyren import __version__
from oyren.batch.exports import FORMATS as FORMATS_EXPORT
from oyren.cli.report import (
    render_audit,
    render_campaigns,
    render_ingest,
    render_queue,
    render_results,
    render_summary,
    render_verification,
    render_winners,
)
from oyren.errors import OyrenError
from oyren.inputs.observations import SkipReport
from oyren.rules.campaign import load_campaign
from oyren.rules.engine import collector_paused
from oyren.rules.results import Results, results_json
from oyren.settings import Settings, load_settings

if TYPE_CHECKING:
    from oyren.batch.stream import Phase
    from oyren.collect.connectors import TikTokClient
    from oyren.collect.dbstore import DbCrawlStore
    from oyren.store.db import Session

# The store's commands import oyren.store (and so SQLAlchemy) when they run: `run` and
# `verify` start without it.

__all__ = ["cli", "main"]

FORMATS = click.Choice(["table", "json"])
# The queue's kinds and orders (oyren.screening.triage.REVIEW_KINDS and QUEUE_SORTS, which a test
# holds these to), spelled here so that no command starts by importing the screener's modules.
QUEUE_WHYS = ("soft_reasons", "flagged", "topic")
QUEUE_SORTS = ("priority", "views", "posted")


class _Group(click.Group):
    """A group that reports user errors as a message and exit status 2, under any runner."""

    def invoke(self, ctx: click.Context) -> object:
        try:
            return super().invoke(ctx)
        except OyrenError as exc:
            click.echo(f"error: {exc}", err=True)
            ctx.exit(2)


@click.group(cls=_Group)
@click.version_option(__version__, prog_name="oyren")
@click.option(
    "--config",
    "config",
    type=click.Path(path_type=Path),
    help="Settings file (default: oyren.toml in the working folder).",
)
@click.pass_context
def cli(ctx: click.Context, config: Path | None) -> None:
    """Öyrən: run hashtag short-video contests end to end."""
    ctx.obj = config  # settings are read only by the commands that need them


def _err() -> Console:
    return Console(stderr=True)


# How wide tables written to a file or a pipe may be: wide enough that no row of the results,
# the queue or the audit log is wrapped or cut, since no one's screen is the limit there.
_FILE_WIDTH = 200


def _out() -> Console:
    """Standard output: a terminal's own width; a file or a pipe :data:`_FILE_WIDTH` columns."""
    console = Console()
    return console if console.is_terminal else Console(width=_FILE_WIDTH)


def _print_results(results: Results, fmt: str) -> None:
    if fmt == "json":
        sys.stdout.buffer.write(results_json(results))
    else:
        render_results(results, _out())


# Inputs past this size show how far reading has got, on a terminal.
_PROGRESS_MIN_BYTES = 64 << 20


@contextmanager
def _run_progress(
    path: Path, *, steps: bool
) -> Iterator[tuple[Callable[[int], None] | None, Phase | None]]:
    """Bars on a terminal's stderr, unless ``steps`` is off: reading ``path`` when it is big
    (bytes, or rows of Parquet), then each step of the run (deciding, ranking, writing)."""
    try:
        size = path.stat().st_size
    except OSError:
        size = 0
    reading = size >= _PROGRESS_MIN_BYTES
    if not sys.stderr.isatty() or not steps:
        yield None, None
        return
    columns = (TextColumn("{task.description}"), BarColumn(), TaskProgressColumn(),
               TimeElapsedColumn(), TimeRemainingColumn())  # fmt: skip
    with Progress(*columns, console=_err(), transient=True) as bar:
        read_task = None
        if reading:
            total = size
            if path.suffix.lower() == ".parquet":
                from oyren.inputs.columnar import parquet_rows

                total = parquet_rows(path)
            read_task = bar.add_task(f"reading {path.name}", total=total)
        tasks: dict[str, TaskID] = {}

        def read(done: int) -> None:
            if read_task is not None:
                bar.update(read_task, completed=done)

        def phase(description: str, done: int, total: int | None) -> None:
            if read_task is not None and not tasks:
                # The file has entered: read, or (Öyrən's Parquet) checked as it stands.
                bar.update(read_task, completed=bar.tasks[read_task].total)
            task = tasks.get(description)
            if task is None:
                task = tasks[description] = bar.add_task(description, total=total)
            bar.update(task, completed=done, total=total)

        yield (read if reading else None), phase


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
    help="Observations as JSONL, CSV or Parquet in the TikTok Research API's field names.",
)
@click.option(
    "--decisions",
    "decisions_path",
    type=click.Path(path_type=Path),
    help="Moderation decisions as JSONL.",
)
@click.option(
    "--removed",
    "removed_path",
    type=click.Path(path_type=Path),
    help="Confirmed removals as JSONL.",
)
@click.option(
    "--judgments",
    "judgments_path",
    type=click.Path(path_type=Path),
    help="The jury's judgments as JSONL (pairs, ties, rankings) for the most creative prize.",
)
@click.option("--format", "fmt", type=FORMATS, default="table", show_default=True)
@click.option("--skip-invalid", is_flag=True, help="Pass over bad lines and report them.")
@click.option(
    "--screen/--no-screen",
    default=True,
    show_default=True,
    help="Integrity flags and topics for moderators (they never change the prizes).",
)
@click.option(
    "--engine",
    type=click.Choice(["duckdb", "python", "spark"]),
    default="duckdb",
    show_default=True,
    help="The query plan on DuckDB (any size) or on Spark (pip install 'oyren[spark]'), or the "
    "pure rules in memory: the same results.",
)
def run(
    campaign_path: Path,
    observations_path: Path,
    decisions_path: Path | None,
    removed_path: Path | None,
    judgments_path: Path | None,
    fmt: str,
    skip_invalid: bool,
    screen: bool,
    engine: str,
) -> None:
    """Decide every video and the prizes from a file of observations (no database)."""
    from oyren.batch.runs import RunInputs, decided_files

    campaign = load_campaign(campaign_path)
    skip = SkipReport() if skip_invalid else None
    inputs = RunInputs(observations_path, decisions_path, removed_path, judgments_path)
    json_out = fmt == "json"
    summary = None
    # No bars over JSON going to the same terminal.
    steps = not (json_out and sys.stdout.isatty())
    # A one-shot command building an object per video: the cycle collector would walk them all
    # again and again while they pile up (a third of the JSON's time), and they form no cycles.
    with (
        collector_paused(),
        _run_progress(observations_path, steps=steps) as (progress, phase),
        decided_files(
            campaign, inputs, skip=skip, screen=screen, engine=engine, progress=progress,
            phase=phase,
        ) as decided,
    ):  # fmt: skip
        if json_out:
            decided.write_json(sys.stdout.buffer)
        else:
            summary = decided.summary()
    if skip is not None:
        _report_skips(skip)
    if summary is not None:
        render_summary(summary, _out())


# --- The store: a campaign's workflow in a database (OYREN_DATABASE_URL) ---

CAMPAIGN_ID = click.option(
    "--campaign",
    "campaign_id",
    required=True,
    metavar="ID",
    help="Campaign id, as in its file's 'id'.",
)
BY = click.option("--by", help="Who is acting, for the audit log (default: setting 'user').")


def _settings(ctx: click.Context) -> Settings:
    return load_settings(config=ctx.find_root().obj)


@contextmanager
def _store(ctx: click.Context, *, create: bool = False) -> Iterator[Session]:
    """Open the configured database and yield a session in one transaction."""
    from oyren.store.db import open_database, transaction

    engine = open_database(_settings(ctx).database_url, create=create)
    try:
        with transaction(engine) as session:
            yield session
    finally:
        engine.dispose()


def _by(ctx: click.Context, by: str | None) -> str:
    return by.strip() if by and by.strip() else _settings(ctx).user


def _note(text: str) -> None:
    click.echo(text, err=True)


@cli.command()
@click.pass_context
def migrate(ctx: click.Context) -> None:
    """Create the database's tables, or upgrade them to this version of Öyrən."""
    from oyren.store.db import migrate as migrate_database
    from oyren.store.db import show_url

    url = _settings(ctx).database_url
    before, after = migrate_database(url)
    state = "already at" if before == after else f"upgraded from {before or 'empty'} to"
    click.echo(f"{show_url(url)}: {state} schema revision {after}")


@cli.command()
@click.option(
    "--campaign",
    "campaign_path",
    required=True,
    type=click.Path(path_type=Path),
    help="Campaign TOML file.",
)
@BY
@click.pass_context
def init(ctx: click.Context, campaign_path: Path, by: str | None) -> None:
    """Create the database if needed and register (or update) a campaign's rules."""
    from oyren import store

    campaign = load_campaign(campaign_path)
    with _store(ctx, create=True) as session:
        outcome = store.register_campaign(session, campaign=campaign, by=_by(ctx, by))
    click.echo(
        f"{campaign.id}: {outcome.status} (rules {campaign.rules_version}, "
        f"digest {campaign.digest[:12]})"
    )
    if outcome.after_start:
        _note("warning: the rules changed after the contest began; this is flagged in the log")
    if outcome.awarded:
        _note("warning: prizes were already awarded; the award stays as it is until superseded")


@cli.command()
@click.pass_context
def campaigns(ctx: click.Context) -> None:
    """List the campaigns in the database."""
    from oyren import store

    with _store(ctx) as session:
        render_campaigns(store.list_campaigns(session), _out())


@cli.command()
@CAMPAIGN_ID
@click.option(
    "--observations",
    "observations_path",
    required=True,
    type=click.Path(path_type=Path),
    help="Observations as JSONL, CSV or Parquet in the TikTok Research API's field names.",
)
@click.option("--skip-invalid", is_flag=True, help="Pass over bad lines and report them.")
@BY
@click.pass_context
def ingest(
    ctx: click.Context,
    campaign_id: str,
    observations_path: Path,
    skip_invalid: bool,
    by: str | None,
) -> None:
    """Import a JSONL, CSV or Parquet file of observations, all or nothing."""
    from oyren import store

    skip = SkipReport() if skip_invalid else None
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
    )
    err = _err()
    bar = Progress(*columns, console=err, transient=True, disable=not err.is_terminal)
    with _store(ctx) as session, bar:
        task = bar.add_task(f"Importing {observations_path.name}", total=None)
        summary = store.ingest_observations(
            session,
            campaign_id=campaign_id,
            path=observations_path,
            by=_by(ctx, by),
            skip=skip,
            progress=lambda done, total: bar.update(task, completed=done, total=total),
        )
    if skip is not None:
        _report_skips(skip)
    render_ingest(summary, _out())


@cli.command()
@CAMPAIGN_ID
@click.option("--format", "fmt", type=FORMATS, default="table", show_default=True)
@click.pass_context
def standings(ctx: click.Context, campaign_id: str, fmt: str) -> None:
    """Show the results: frozen by the award once prizes are awarded, else as they stand now."""
    from oyren import store

    with _store(ctx) as session:
        current = store.standings(session, campaign_id=campaign_id)
    if current.award is not None:
        a = current.award
        _note(
            f"Frozen by award {a.number} of {_iso(a.awarded_at)} by {a.by}; "
            "data added since is not counted until an award supersedes it."
        )
    _print_results(current.results, fmt)


@cli.command()
@CAMPAIGN_ID
@click.option(
    "--flags/--no-flags",
    default=True,
    help="Also recompute the integrity flags and the charts' daily views (default: yes).",
)
@click.pass_context
def rebuild(ctx: click.Context, campaign_id: str, flags: bool) -> None:
    """Bring a campaign's kept verdicts up to its rules, and recompute its flags.

    After a change of rules the verdicts are rebuilt in batches while pages keep showing the
    last complete ones; run it again after a crash and it starts over.
    """
    from oyren.store import decided
    from oyren.store.db import open_database

    engine = open_database(_settings(ctx).database_url)
    try:
        with _progress() as bar:
            task = bar.add_task(f"Recomputing {campaign_id}", total=None)
            done = decided.rebuild(
                engine,
                campaign_id,
                progress=lambda n, total: bar.update(task, completed=n, total=total),
            )
        _note("Verdicts rebuilt." if done else "Verdicts already follow the rules in force.")
        if flags:
            raised = decided.refresh_flags(engine, campaign_id)
            _note(f"Integrity flags recomputed: {raised} videos flagged.")
    finally:
        engine.dispose()


@cli.command()
@CAMPAIGN_ID
@click.option(
    "--why",
    type=click.Choice(QUEUE_WHYS),
    help="Only the videos waiting for this: reasons only a person can clear, integrity flags, "
    "or a doubtful topic.",
)
@click.option(
    "--flag", "flag_code", default="", metavar="CODE", help="Only videos with a flag of this code."
)
@click.option(
    "--theme", default="", metavar="ID", help="Only videos of this topic ('none': none found)."
)
@click.option(
    "--sort",
    type=click.Choice(QUEUE_SORTS),
    default="priority",
    show_default=True,
    help="What a decision could change first, most views first, or oldest post first.",
)
@click.option("--limit", default=50, show_default=True, type=click.IntRange(1, 10_000))
@click.option("--offset", default=0, show_default=True, type=click.IntRange(min=0))
@click.option("--format", "fmt", type=FORMATS, default="table", show_default=True)
@click.pass_context
def queue(
    ctx: click.Context,
    campaign_id: str,
    why: str | None,
    flag_code: str,
    theme: str,
    sort: str,
    limit: int,
    offset: int,
    fmt: str,
) -> None:
    """List videos waiting for a moderator's decision, a page at a time."""
    from oyren import store

    with _store(ctx) as session:
        chosen = store.QueueChoice(
            why=why or "", flag=flag_code.strip(), theme=theme.strip(), sort=sort
        )
        page = store.current_queue(
            session, campaign_id=campaign_id, choice=chosen, offset=offset, limit=limit
        )
    if fmt == "json":
        click.echo(orjson.dumps(page).decode())
    else:
        render_queue(page, _out(), offset=offset)


@cli.command()
@CAMPAIGN_ID
@click.option("--video", "video_id", metavar="VID", help="The video's id.")
@click.option("--exclude", "action", flag_value="exclude", help="Keep the video out.")
@click.option(
    "--include",
    "action",
    flag_value="include",
    help="Let it count despite reasons a person can clear.",
)
@click.option("--reason", default="", help="Why; required to exclude, shown to the creator.")
@click.option(
    "--from",
    "from_path",
    type=click.Path(path_type=Path),
    help="Import decisions from a JSONL file instead.",
)
@BY
@click.pass_context
def moderate(
    ctx: click.Context,
    campaign_id: str,
    video_id: str | None,
    action: str | None,
    reason: str,
    from_path: Path | None,
    by: str | None,
) -> None:
    """Exclude or include a video (or import a file of decisions)."""
    from oyren import store

    if from_path is not None:
        with _store(ctx) as session:
            count = store.import_decisions(
                session, campaign_id=campaign_id, path=from_path, by=_by(ctx, by)
            )
        click.echo(f"{campaign_id}: stored {count} decision(s) from {from_path.name}")
        return
    if not video_id or not action:
        raise click.UsageError("give --video VID and --exclude or --include (or --from FILE)")
    with _store(ctx) as session:
        decision = store.moderate(
            session,
            campaign_id=campaign_id,
            video_id=video_id,
            action=action,
            reason=reason,
            by=_by(ctx, by),
        )
    click.echo(f"{campaign_id}: video {video_id} {decision.action}d by {decision.by}")


@cli.command()
@CAMPAIGN_ID
@click.option("--video", "video_id", metavar="VID", help="The removed video's id.")
@click.option("--reason", default="", help="How it was confirmed gone.")
@click.option(
    "--from",
    "from_path",
    type=click.Path(path_type=Path),
    help="Import removals from a JSONL file instead.",
)
@BY
@click.pass_context
def remove(
    ctx: click.Context,
    campaign_id: str,
    video_id: str | None,
    reason: str,
    from_path: Path | None,
    by: str | None,
) -> None:
    """Record that a video is confirmed deleted or private (or import a file of removals)."""
    from oyren import store

    if from_path is not None:
        with _store(ctx) as session:
            count = store.import_removals(
                session, campaign_id=campaign_id, path=from_path, by=_by(ctx, by)
            )
        click.echo(f"{campaign_id}: stored {count} removal(s) from {from_path.name}")
        return
    if not video_id:
        raise click.UsageError("give --video VID and --reason TEXT (or --from FILE)")
    with _store(ctx) as session:
        store.remove_video(
            session, campaign_id=campaign_id, video_id=video_id, reason=reason, by=_by(ctx, by)
        )
    click.echo(f"{campaign_id}: video {video_id} recorded as removed")


@cli.command()
@CAMPAIGN_ID
@click.option("--supersede", is_flag=True, help="Replace the award in force.")
@click.option("--reason", default="", help="Why the award is superseded (required with it).")
@click.option(
    "--despite-jury",
    is_flag=True,
    help="Award although the jury's leader is below its round's threshold (published).",
)
@click.option(
    "--out",
    "out",
    type=click.Path(path_type=Path),
    help="New folder to write the award's audit bundle into.",
)
@BY
@click.pass_context
def award(
    ctx: click.Context,
    campaign_id: str,
    supersede: bool,
    reason: str,
    out: Path | None,
    by: str | None,
    despite_jury: bool,
) -> None:
    """Award the prizes: freeze the results as they stand now (and write the audit bundle)."""
    from oyren import store
    from oyren.batch.signing import load_signer

    key_file = _settings(ctx).signing_key
    signer = load_signer(key_file) if key_file else None
    with _store(ctx) as session:
        # The same count as the organizer's pages: videos with no decision yet that a person
        # should look at (checks only a person can make, integrity flags, doubtful topics).
        waiting = store.waiting(session, campaign_id=campaign_id)
        certainty = store.jury_certainty(session, campaign_id=campaign_id)
    if waiting:
        these = "1 video still waits" if waiting == 1 else f"{waiting:,} videos still wait"
        _note(
            f"warning: {these} for a person (see: oyren queue --campaign {campaign_id}); "
            "awarding now freezes them as they stand"
        )
    if certainty is not None and certainty.below:
        p = certainty.progress
        warning = (
            f"warning: the jury has not settled the most creative prize: its leader "
            f"{p.leader} is {p.leader_p_best:.0%} likely to be the best, under round "
            f"{certainty.round_id}'s threshold of {certainty.threshold:.0%} "
            f"({p.jurors} jurors, {p.answers} answers)"
        )
        if not despite_jury:
            raise click.ClickException(
                f"{warning}. Ask more questions, break the tie (oyren jury tiebreak), or "
                "award anyway with --despite-jury: the winners page and the audit bundle "
                "will say so."
            )
        click.echo(f"{warning}; awarded anyway, as the winners page and bundle say", err=True)
    with _store(ctx) as session:
        frozen = store.award(
            session,
            campaign_id=campaign_id,
            by=_by(ctx, by),
            supersede=supersede,
            reason=reason,
            signer=signer,
        )
    manifest = None
    if out is not None:
        with _store(ctx) as session:
            manifest = store.export_bundle(session, campaign_id=campaign_id, out=out)
    record = frozen.award
    assert record is not None
    click.echo(
        f"{campaign_id}: award {record.number} by {record.by} at "
        f"{_iso(record.awarded_at)}, results digest {record.results_digest}"
    )
    render_winners(frozen.results, _out())
    click.echo(f"audit bundle digest {record.bundle_digest}")
    if record.signed_by is not None:
        click.echo(f"signed with key {record.signed_by} ({record.public_key})")
    else:
        _note("warning: the award is not signed: set OYREN_SIGNING_KEY (see `oyren keys generate`)")
    if manifest is not None:
        check = f"oyren verify {out} --expect {manifest['digest']}"
        if record.public_key is not None:
            check += f" --key {record.public_key}"
        click.echo(f"{out}: written; check it with: {check}")


@cli.command()
@CAMPAIGN_ID
@click.option(
    "--out",
    "out",
    required=True,
    type=click.Path(path_type=Path),
    help="New folder to write the bundle into.",
)
@click.pass_context
def bundle(ctx: click.Context, campaign_id: str, out: Path) -> None:
    """Write the audit bundle anyone can recompute the results from."""
    from oyren import store

    with _store(ctx) as session:
        manifest = store.export_bundle(session, campaign_id=campaign_id, out=out)
    click.echo(f"{out}: bundle digest {manifest['digest']}")


@cli.command()
@click.argument("folder", metavar="DIR", type=click.Path(path_type=Path))
@click.option(
    "--expect",
    metavar="DIGEST",
    help="The bundle digest the organizer published (the winners page): anything else fails.",
)
@click.option(
    "--key",
    "keys",
    multiple=True,
    metavar="KEY",
    help="A public key of the organizer's you trust (its base64, or a file holding it), as "
    "published on the winners page; repeatable. The bundle must be signed by one of them.",
)
def verify(folder: Path, expect: str | None, keys: tuple[str, ...]) -> None:
    """Check an audit bundle's digests and signature and recompute its results; exit 1 if not."""
    from oyren.batch.signing import parse_public_key

    trusted = tuple(parse_public_key(k, where=f"--key {k}") for k in keys)
    from oyren.batch.bundle import verify_bundle

    verification = verify_bundle(folder, expect=expect, trusted=trusted)
    render_verification(verification, _out())
    if not verification.ok:
        sys.exit(1)


@cli.group()
def keys() -> None:
    """The organizer's signing keys: generate, publish, list, retire."""


@keys.command("generate")
@click.option(
    "--out",
    "out",
    required=True,
    type=click.Path(path_type=Path),
    help="New file for the private key (its public key goes to FILE.pub).",
)
def keys_generate(out: Path) -> None:
    """Make a new Ed25519 key pair for signing awards (the private key stays in this file)."""
    from oyren.batch.signing import generate_key

    public = generate_key(out)
    click.echo(f"private key: {out} (readable by you only; back it up offline)")
    click.echo(f"public key:  {public.text}  (id {public.key_id}, also in {out}.pub)")
    _note(f"to sign awards with it: export OYREN_SIGNING_KEY={out}")


@keys.command("publish")
@click.option("--key", "key", required=True, metavar="KEY", help="The public key or its file.")
@BY
@click.pass_context
def keys_publish(ctx: click.Context, key: str, by: str | None) -> None:
    """Publish a public key before it signs (announce a new key when rotating)."""
    from oyren.batch.signing import parse_public_key
    from oyren.store.keys import publish_key

    public = parse_public_key(key, where=f"--key {key}")
    with _store(ctx) as session:
        published = publish_key(session, key=public, by=_by(ctx, by))
    click.echo(f"published key {published.key_id}: {published.public_key}")


@keys.command("list")
@click.pass_context
def keys_list(ctx: click.Context) -> None:
    """List the published keys, retired ones too (they still verify older awards)."""
    from oyren.store.keys import list_keys

    with _store(ctx) as session:
        found = list_keys(session)
    if not found:
        click.echo("no published keys: awards are signed once OYREN_SIGNING_KEY is set")
    for k in found:
        state = f"retired {_iso(k.retired_at)}" if k.retired_at else "in use"
        click.echo(f"{k.key_id}  {k.public_key}  published {_iso(k.published_at)}  {state}")


@keys.command("retire")
@click.option("--key-id", "key_id", required=True, help="The id of the key to retire.")
@BY
@click.pass_context
def keys_retire(ctx: click.Context, key_id: str, by: str | None) -> None:
    """Retire a key: it signs no new award; the awards it signed still verify."""
    from oyren.store.keys import retire_key

    with _store(ctx) as session:
        retired = retire_key(session, key_id=key_id, by=_by(ctx, by))
    click.echo(f"key {retired.key_id} retired; awards it signed still verify with it")


@cli.command()
@CAMPAIGN_ID
@click.option(
    "--format",
    "fmt",
    type=click.Choice([*FORMATS_EXPORT, "jsonl", "parquet"]),
    required=True,
    help="Standings: csv or json. Observations: jsonl, csv or parquet.",
)
@click.option(
    "--observations",
    "observations",
    is_flag=True,
    help="Export the campaign's observations (what engines at scale read) instead of standings.",
)
@click.option(
    "--out", "out", type=click.Path(path_type=Path), help="File to write (default: stdout)."
)
@click.pass_context
def export(
    ctx: click.Context, campaign_id: str, fmt: str, observations: bool, out: Path | None
) -> None:
    """Export the standings (one row per video) as CSV or JSON, or the observations."""
    from oyren import store

    if observations:
        from oyren.inputs.columnar import OBSERVATION_FORMATS, write_observation_file
        from oyren.store.rows import require_campaign, stored_observations

        if fmt not in OBSERVATION_FORMATS:
            raise click.UsageError(f"observations are exported as {', '.join(OBSERVATION_FORMATS)}")
        if out is None:
            raise click.UsageError("observations need --out FILE")
        with _store(ctx) as session:
            require_campaign(session, campaign_id)
            written = write_observation_file(stored_observations(session, campaign_id), out, fmt)
        _err().print(f"wrote {written:,} observations to {out}")
        return
    if fmt not in FORMATS_EXPORT:
        raise click.UsageError(f"standings are exported as {', '.join(FORMATS_EXPORT)}")
    with _store(ctx) as session:
        data = store.export_standings(session, campaign_id=campaign_id, fmt=fmt)
    if out is None:
        sys.stdout.buffer.write(data)
    else:
        out.write_bytes(data)


@cli.command()
@CAMPAIGN_ID
@click.option("--limit", default=50, show_default=True, type=click.IntRange(1, 10_000))
@click.option("--before", type=int, help="Show entries older than this entry id.")
@click.option("--format", "fmt", type=FORMATS, default="table", show_default=True)
@click.pass_context
def log(ctx: click.Context, campaign_id: str, limit: int, before: int | None, fmt: str) -> None:
    """Show the campaign's audit log, newest first."""
    from oyren import store

    with _store(ctx) as session:
        page = store.audit_page(session, campaign_id=campaign_id, before=before, limit=limit)
    if fmt == "json":
        for e in page.entries:
            click.echo(orjson.dumps(dataclasses.asdict(e)).decode())
    else:
        render_audit(page, _out())


# --- The sandbox campaign ---


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
    help="Where to write the observations (.jsonl, .csv or .parquet).",
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
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["jsonl", "csv", "parquet"]),
    help="File format (default: from --out's suffix). Parquet is invented in bulk with numpy, "
    "streamed in chunks: a hundred million observations in minutes.",
)
def simulate(
    campaign_path: Path,
    out_path: Path,
    videos: int,
    seed: int,
    observations_per_video: int,
    fmt: str | None,
) -> None:
    """Write a realistic, deterministic sandbox campaign as observations."""
    from oyren.sandbox.simulate import write_simulation

    campaign = load_campaign(campaign_path)
    suffix = out_path.suffix.lower().lstrip(".")
    fmt = fmt or (suffix if suffix in ("csv", "parquet") else "jsonl")
    if fmt != (suffix if suffix in ("csv", "parquet") else "jsonl"):
        raise click.UsageError(f"--out {out_path.name} does not end in .{fmt}")
    if fmt == "parquet":
        from oyren.sandbox.bulk import write_bulk

        with _progress() as progress:
            task = progress.add_task("inventing videos", total=videos)
            written = write_bulk(campaign, out_path, videos=videos, seed=seed,
                                 observations_per_video=observations_per_video,
                                 progress=lambda n: progress.advance(task, n))  # fmt: skip
        _err().print(f"wrote {written:,} observations of {videos:,} videos to {out_path}")
        return
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
@click.option(
    "--folder",
    default="oyren-demo",
    show_default=True,
    type=click.Path(path_type=Path),
    help="Where the demo's SQLite store is built (an earlier demo there is replaced).",
)
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to serve on.")
@click.option("--port", default=8000, show_default=True, type=int, help="Port (0: any free one).")
@click.option("--serve/--no-serve", default=True, show_default=True, help="Open the web app.")
def demo(videos: int, seed: int, folder: Path, host: str, port: int, serve: bool) -> None:
    """Build the sandbox campaign's store, print the standings, and serve the web app."""
    from oyren.sandbox.demo import build_demo

    if serve and port and not _port_free(host, port):
        raise click.UsageError(
            f"port {port} on {host} is taken (another Öyrən demo or server?); pick another "
            f"with --port {port + 1}, or --port 0 for any free one"
        )
    with _progress() as bar:
        tasks: dict[str, TaskID] = {}

        def show(stage: str, done: int, total: int | None) -> None:
            if stage not in tasks:
                tasks[stage] = bar.add_task(stage, total=total)
            bar.update(tasks[stage], completed=done, total=total)

        built = build_demo(folder, videos=videos, seed=seed, progress=show)
    found, invented = len(built.results.entries), len(built.simulation.videos)
    _note(
        f"the sandbox invented {invented:,} videos; the crawl found {found:,} of them: it asks "
        "the sandbox API, as it would TikTok's, for the contest's hashtags in the contest's "
        "countries on the contest's dates"
        + (
            f", and the other {invented - found:,} (other hashtags, countries or dates) are not "
            "part of the contest"
            if invented > found
            else ""
        )
    )
    click.echo("Standings now (not awarded yet):")
    render_results(built.results, _out(), top=10)
    _note(
        f"{built.thumbnails:,} thumbnails cached from the sandbox's oEmbed and images, so the "
        "pages show them from the demo site itself"
    )
    _note(
        f"demo store: {built.settings.database_url} ({built.observations:,} observations); "
        f"organizer sign-in: {built.organizer} / {built.password}"
    )
    _note(
        "nothing is awarded yet: sign in on the site as the organizer and open Award (or run "
        f"OYREN_DATABASE_URL={built.settings.database_url} oyren award --campaign "
        f"{built.campaign.id}); the winners page shows the prizes once they are frozen"
    )
    if serve:
        from oyren.web import serve as serve_web

        with _creators_demo(built.settings, host, port) as options:
            serve_web(
                built.settings,
                host=host,
                port=port,
                options=options,
                on_ready=lambda url: click.echo(
                    f"Öyrən demo: {url}campaigns/{built.campaign.id} · creators take part at "
                    f"{url}campaigns/sandbox-creators/take-part"
                ),
            )


@contextmanager
def _creators_demo(settings: Settings, host: str, port: int) -> Iterator[Any]:
    """A campaign open now and a sandbox Login Kit and Display API on the real clock, so a
    sandbox creator (lala.learns, samir.explains) can take part from the demo site."""
    import time

    import httpx
    from cryptography.fernet import Fernet

    from oyren.clock import SystemClock
    from oyren.collect.connectors.login import login_settings
    from oyren.sandbox.api import SandboxAPI
    from oyren.sandbox.demo import add_creators_campaign
    from oyren.sandbox.login import SANDBOX_LOGIN_KEY, SANDBOX_LOGIN_SECRET, creator_videos
    from oyren.sandbox.server import serve
    from oyren.store.tokens import TokenCipher
    from oyren.web.app import WebOptions
    from oyren.web.creators import CreatorServices

    campaign = add_creators_campaign(settings, int(time.time()))
    api = SandboxAPI(creator_videos(campaign), SystemClock())
    with serve(api) as sandbox_url, httpx.Client(timeout=20.0) as http:
        login = login_settings(
            public_url=f"http://{host}:{port}",
            auth_url=sandbox_url + "/v2/auth/authorize/",
            api_base=sandbox_url,
            oembed_url=sandbox_url + "/oembed",
            environ={
                "TIKTOK_LOGIN_CLIENT_KEY": SANDBOX_LOGIN_KEY,
                "TIKTOK_LOGIN_CLIENT_SECRET": SANDBOX_LOGIN_SECRET,
            },
        )
        assert login is not None
        # A key for this run only: the demo's creators' tokens are not meant to outlive it.
        cipher = TokenCipher([Fernet.generate_key().decode()])
        # The sandbox's player stand-in, so that clicking "play" plays without the internet.
        yield WebOptions(creators=CreatorServices(login, cipher, http), player_origin=sandbox_url)


def _port_free(host: str, port: int) -> bool:
    """Tell whether ``host:port`` can be listened on now."""
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError:
            return False
    return True


class _Counts(ProgressColumn):
    """Done and total with thousands separators: ``312/3,000`` (only the count without one)."""

    def render(self, task: Task) -> Text:
        done = f"{int(task.completed):,}"
        return Text(done if task.total is None else f"{done}/{int(task.total):,}")


def _progress() -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        _Counts(),
        TimeElapsedColumn(),
        console=_err(),
        transient=True,
    )


def _iso(ts: int) -> str:
    return datetime.fromtimestamp(ts, tz=UTC).isoformat().replace("+00:00", "Z")


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


# --- The web app and its accounts (database from the settings) ---


@cli.command()
@click.option(
    "--host",
    default="127.0.0.1",
    show_default=True,
    help="Address to listen on; 0.0.0.0 listens on every interface.",
)
@click.option(
    "--port",
    default=8000,
    show_default=True,
    type=click.IntRange(0, 65535),
    help="Port to listen on; 0 takes any free one.",
)
@click.option(
    "--workers",
    default=1,
    show_default=True,
    type=click.IntRange(1, 64),
    help="Web processes sharing the port (use PostgreSQL for more than one).",
)
@click.pass_context
def serve(ctx: click.Context, host: str, port: int, workers: int) -> None:
    """Serve the web app (public pages, JSON API, organizer's pages) until Ctrl-C."""
    from oyren.web import serve as serve_web

    serve_web(
        _settings(ctx),
        host=host,
        port=port,
        workers=workers,
        on_ready=lambda url: _err().print(f"serving {url} (Ctrl-C stops)", highlight=False),
    )


@cli.group()
def creators() -> None:
    """Creators who take part by signing in with TikTok."""


@creators.command("refresh")
@click.option("--campaign", "campaign_id", required=True, help="The campaign's id.")
@click.option(
    "--until",
    "until_s",
    default=None,
    help="Keep running cycles for this long (e.g. 30d), waking for the deadline sweeps.",
)
@click.pass_context
def creators_refresh(ctx: click.Context, campaign_id: str, until_s: str | None) -> None:
    """Read the creators' registered entries with their own tokens (Display API)."""
    import httpx

    from oyren.clock import SystemClock, parse_duration
    from oyren.collect.connectors.display import DisplayClient
    from oyren.collect.connectors.login import LoginClient, login_settings
    from oyren.collect.creators import follow_creators, refresh_creators
    from oyren.store.creators import DbCreatorStore
    from oyren.store.db import open_database
    from oyren.store.tokens import TokenCipher

    settings = _settings(ctx)
    login = login_settings(
        public_url=settings.public_url,
        auth_url=settings.tiktok_auth_url,
        api_base=settings.tiktok_api_base,
        oembed_url=settings.tiktok_oembed_url,
    )
    if login is None:
        raise click.UsageError("set TIKTOK_LOGIN_CLIENT_KEY and TIKTOK_LOGIN_CLIENT_SECRET")
    cipher = TokenCipher.from_env()
    engine = open_database(settings.database_url)
    clock = SystemClock()
    try:
        with httpx.Client(timeout=30.0) as http:
            store = DbCreatorStore(engine, cipher)
            client = LoginClient(http, login, clock=clock)
            display = DisplayClient(http, login.api_base, clock=clock)
            from oyren.store import get_campaign
            from oyren.store.db import transaction

            with transaction(engine) as session:
                campaign = get_campaign(session, campaign_id)
            if until_s is None:
                reports = [refresh_creators(store, client, display, campaign, clock=clock)]
            else:
                try:
                    span = parse_duration(until_s)
                except ValueError as exc:
                    raise click.BadParameter(str(exc), param_hint="--until") from None
                until = int(clock.now()) + span
                reports = follow_creators(
                    store, client, display, campaign, clock=clock, until=until
                )
            # The covers just read expire within hours: keep them and fetch the images now.
            covers = {k: v for report in reports for k, v in report.covers.items()}
            if covers:
                from oyren.collect.thumbnails import record_covers

                record_covers(engine, campaign_id, covers, at=int(clock.now()))
                _fetch_thumbnails(engine, campaign_id, http, settings, video_ids=list(covers))
    finally:
        engine.dispose()
    for report in reports:
        lost = ", ".join(f"creator {k}: {v}" for k, v in report.access_lost.items()) or "none"
        _err().print(
            f"{report.creators} creators, {report.requests} requests, "
            f"{report.observations} new observations; access lost: {lost}; "
            f"gone: {', '.join(report.gone) or 'none'}"
            + ("; rate limited, the rest next cycle" if report.rate_limited else ""),
            highlight=False,
        )


@cli.command()
@click.option("--campaign", "campaign_id", required=True, help="The campaign's id.")
@click.option(
    "--limit",
    default=500,
    show_default=True,
    type=click.IntRange(1, 100_000),
    help="At most this many videos this run, the most viewed first.",
)
@click.option(
    "--image-origin",
    "origins",
    multiple=True,
    metavar="URL",
    help="Another origin images may come from (e.g. the sandbox's http://127.0.0.1:8766); "
    "by default only https on TikTok's image hosts.",
)
@click.pass_context
def thumbnails(ctx: click.Context, campaign_id: str, limit: int, origins: tuple[str, ...]) -> None:
    """Fetch and cache videos' thumbnails (oEmbed), so pages show them from this site."""
    import httpx

    from oyren.store.db import open_database

    settings = _settings(ctx)
    engine = open_database(settings.database_url)
    try:
        with httpx.Client(timeout=30.0) as http:
            _fetch_thumbnails(engine, campaign_id, http, settings, limit=limit, origins=origins)
    finally:
        engine.dispose()


def _fetch_thumbnails(
    engine: Any,
    campaign_id: str,
    http: Any,
    settings: Settings,
    *,
    limit: int = 500,
    origins: tuple[str, ...] = (),
    video_ids: list[str] | None = None,
) -> None:
    """Fetch the thumbnails due, with a bar, and say what happened."""
    from oyren.collect.connectors.oembed import OEmbedClient
    from oyren.collect.thumbnails import ImageFetcher, ImagePolicy, refresh_thumbnails
    from oyren.store import get_campaign
    from oyren.store.db import transaction

    with transaction(engine) as session:
        get_campaign(session, campaign_id)  # a clear error for an unknown campaign
    fetcher = ImageFetcher(http, policy=ImagePolicy(origins=tuple(o.rstrip("/") for o in origins)))
    oembed = OEmbedClient(http, settings.tiktok_oembed_url)
    with _progress() as bar:
        task = bar.add_task("fetching thumbnails", total=None)
        report = refresh_thumbnails(
            engine, campaign_id, fetcher, oembed=oembed, limit=limit, video_ids=video_ids,
            progress=lambda done, total: bar.update(task, completed=done, total=total),
        )  # fmt: skip
    _err().print(
        f"thumbnails: {report.fetched:,} fetched of {report.due:,} due, "
        f"{report.looked_up:,} addresses looked up, {report.failed:,} failed"
        + "".join(f"\n  {p}" for p in report.problems[:5]),
        highlight=False,
    )


@creators.command("rotate-keys")
@click.pass_context
def creators_rotate_keys(ctx: click.Context) -> None:
    """Re-encrypt every stored TikTok token with the first key in TIKTOK_TOKEN_KEYS."""
    from oyren.store.creators import rotate_keys
    from oyren.store.tokens import TokenCipher

    cipher = TokenCipher.from_env()
    with _store(ctx) as session:
        count = rotate_keys(session, cipher)
    _err().print(f"re-encrypted {count} stored secrets with the newest key", highlight=False)


@cli.group()
def user() -> None:
    """Accounts for the organizer's pages."""


@user.command("add")
@click.option("--username", required=True, help="Lowercase letters, digits, '_', '.' or '-'.")
@click.option(
    "--role",
    type=click.Choice(["organizer", "moderator", "juror"]),
    default="organizer",
    show_default=True,
    help="What the account may do.",
)
@click.password_option(help="At least 10 characters; asked twice when not given (prefer that).")
@click.pass_context
def user_add(ctx: click.Context, username: str, role: str, password: str) -> None:
    """Create an account that can sign in to the organizer's pages."""
    from oyren.store.accounts import create_user

    with _store(ctx) as session:
        made = create_user(
            session, username=username, password=password, role=role, by=_by(ctx, None)
        )
    _err().print(f"created the {made.role} account '{made.username}'", highlight=False)


# --- The jury: rounds for the most creative prize ---


@cli.group()
def jury() -> None:
    """Jury rounds that decide the most creative video."""


@jury.group("round")
def jury_round() -> None:
    """Open rounds on a shortlist of eligible entries."""


@jury_round.command("create")
@CAMPAIGN_ID
@click.option("--name", required=True, help="The round's name, shown to jurors.")
@click.option("--top", type=click.IntRange(2), help="Shortlist the N most viewed eligible entries.")
@click.option("--topic", help="Shortlist the eligible entries of one topic.")
@click.option("--videos", help="Shortlist these eligible video ids (comma-separated).")
@click.option("--all", "everything", is_flag=True, help="Shortlist every eligible entry.")
@click.option(
    "--batch",
    default=2,
    show_default=True,
    type=click.IntRange(2, 8),
    help="Entries per question: 2 asks for pairs, more for a batch to order.",
)
@click.option(
    "--threshold",
    default=0.9,
    show_default=True,
    type=click.FloatRange(0.5, 1.0, max_open=True),
    help="The round can stop once the leader is the best with this probability.",
)
@BY
@click.pass_context
def jury_round_create(
    ctx: click.Context,
    campaign_id: str,
    name: str,
    top: int | None,
    topic: str | None,
    videos: str | None,
    everything: bool,
    batch: int,
    threshold: float,
    by: str | None,
) -> None:
    """Open a round; jurors invited to it answer on the jury page."""
    from oyren import store

    if sum((top is not None, topic is not None, videos is not None, everything)) != 1:
        raise click.UsageError("give one shortlist rule: --top N, --topic T, --videos IDS or --all")
    picked = None if videos is None else [v.strip() for v in videos.split(",") if v.strip()]
    with _store(ctx) as session:
        made = store.create_round(
            session,
            campaign_id=campaign_id,
            name=name,
            by=_by(ctx, by),
            top=top,
            topic=topic,
            videos=picked,
            size=batch,
            threshold=threshold,
        )
    click.echo(f"{campaign_id}: opened jury round {made.id} '{made.name}' on "
               f"{len(made.shortlist)} entries")  # fmt: skip


@jury.command("invite")
@click.option("--round", "round_id", required=True, type=int, help="The round's number.")
@click.option("--juror", required=True, help="A juror account (oyren user add --role juror).")
@click.option(
    "--conflict",
    "conflicts",
    multiple=True,
    metavar="NAME",
    help="A creator's username or a video id the juror must not judge (repeatable).",
)
@BY
@click.pass_context
def jury_invite(
    ctx: click.Context, round_id: int, juror: str, conflicts: tuple[str, ...], by: str | None
) -> None:
    """Invite a juror to a round, with their conflicts of interest."""
    from oyren import store

    with _store(ctx) as session:
        invited = store.invite_juror(
            session, round_id=round_id, juror=juror, conflicts=conflicts, by=_by(ctx, by)
        )
    kept = f" (kept away from {', '.join(invited.conflicts)})" if invited.conflicts else ""
    click.echo(f"round {round_id}: invited {invited.username}{kept}")


@jury.command("progress")
@click.option("--round", "round_id", required=True, type=int, help="The round's number.")
@click.pass_context
def jury_progress(ctx: click.Context, round_id: int) -> None:
    """Show a round's answers, coverage, leader and whether it can stop."""
    from oyren import store

    with _store(ctx) as session:
        info = store.get_round(session, round_id=round_id)
        p = store.round_progress(session, round_id=round_id)
    by_juror = ", ".join(f"{name} {count}" for name, count in p.by_juror) or "none yet"
    click.echo(f"round {info.id} '{info.name}' ({info.status}): {p.answers} answers ({by_juror})")
    click.echo(f"covered: {p.covered} of {p.entries} entries")
    if p.leader is not None and p.answers:
        click.echo(
            f"leader: {p.leader} ({info.creators.get(p.leader, '?')}), "
            f"P(best) {p.leader_p_best:.2f} of {p.threshold:.2f} needed (the current estimate,"
            " not a certainty)"
        )
        bar = p.threshold / (1.0 - p.threshold)
        click.echo(f"evidence that the leader is ahead of the runner-up: Bayes factor "
                   f"{min(p.evidence, 1e6):.3g} of {bar:.3g} needed")  # fmt: skip
    if p.runner_up is not None and p.answers:
        click.echo(
            f"runner-up: {p.runner_up} ({info.creators.get(p.runner_up, '?')}), "
            f"P(best) {p.runner_up_p_best:.2f}; seen side by side with the leader by "
            f"{p.jurors_on_top} juror(s), {p.jurors_needed} needed"
        )
    if p.done:
        click.echo("the stop rule is met: the round can be closed")
    else:
        more = "unknown (too close)" if p.to_decide is None else f"about {p.to_decide}"
        click.echo(f"questions still needed: {p.to_cover} to cover every entry, {more} to decide")
    if info.focus is not None:
        a, b = info.focus.entries
        what = "a final face-off by every juror" if info.focus.mode == "faceoff" else (
            "more questions")  # fmt: skip
        click.echo(f"focus: {what} on {a} and {b} (end it with: oyren jury focus --round "
                   f"{round_id} --off)")  # fmt: skip
    if p.tiebreak is not None:
        first, second, reason, who = p.tiebreak
        click.echo(f"tie-break by {who}: {first} ahead of {second} ({reason})")
    elif p.close and p.leader is not None and p.runner_up is not None:
        a, b = p.leader, p.runner_up
        both = p.leader_p_best + p.runner_up_p_best
        click.echo(
            f"close race: {a} and {b} stay close (together {both:.0%}"
            f" of the chance of being best, neither at {p.threshold:.0%}). The jury cannot "
            "yet say which is better. Options:\n"
            f"  more questions on the two:   oyren jury focus --round {round_id} {a} {b}\n"
            f"  a final face-off by every juror:   oyren jury focus --round {round_id} {a} {b} "
            "--faceoff\n"
            f"  your tie-break, with its reason:   oyren jury tiebreak --round {round_id} "
            f"--first {a} --second {b} --reason TEXT"
        )


@jury.command("focus")
@click.option("--round", "round_id", required=True, type=int, help="The round's number.")
@click.argument("entries", nargs=-1)
@click.option(
    "--faceoff", is_flag=True, help="Ask every juror the pair once more (a final face-off)."
)
@click.option("--off", is_flag=True, help="End the focus: questions as usual.")
@BY
@click.pass_context
def jury_focus(
    ctx: click.Context,
    round_id: int,
    entries: tuple[str, ...],
    faceoff: bool,
    off: bool,
    by: str | None,
) -> None:
    """In a close race, ask more about two entries (or hold a final face-off)."""
    from oyren import store

    if off == bool(entries) or (entries and len(entries) != 2):
        raise click.UsageError("name the two entries (or --off to end the focus)")
    with _store(ctx) as session:
        store.focus_round(
            session,
            round_id=round_id,
            entries=None if off else list(entries),
            mode="faceoff" if faceoff else "more",
            by=_by(ctx, by),
        )
    if off:
        click.echo(f"round {round_id}: questions as usual")
    elif faceoff:
        click.echo(f"round {round_id}: every juror is asked {entries[0]} against {entries[1]}")
    else:
        click.echo(f"round {round_id}: every question now holds {entries[0]} and {entries[1]}")


@jury.command("tiebreak")
@click.option("--round", "round_id", required=True, type=int, help="The round's number.")
@click.option("--first", required=True, help="The entry you put ahead.")
@click.option("--second", required=True, help="The entry it goes ahead of.")
@click.option("--reason", required=True, help="Why (published with the award).")
@BY
@click.pass_context
def jury_tiebreak(
    ctx: click.Context, round_id: int, first: str, second: str, reason: str, by: str | None
) -> None:
    """Break a tie the jury could not: FIRST goes ahead of SECOND, for REASON."""
    from oyren import store

    with _store(ctx) as session:
        store.break_tie(
            session, round_id=round_id, first=first, second=second, reason=reason, by=_by(ctx, by)
        )
    click.echo(f"round {round_id}: tie-break recorded, {first} ahead of {second}")


@jury.command("close")
@click.option("--round", "round_id", required=True, type=int, help="The round's number.")
@BY
@click.pass_context
def jury_close(ctx: click.Context, round_id: int, by: str | None) -> None:
    """Close a round: its judgments decide the most creative prize."""
    from oyren import store

    with _store(ctx) as session:
        closed = store.close_round(session, round_id=round_id, by=_by(ctx, by))
    click.echo(f"round {closed.id} '{closed.name}' closed by {closed.closed_by}")


@jury.command("remove-votes")
@click.option("--round", "round_id", required=True, type=int, help="The round's number.")
@click.option("--juror", required=True, help="The juror whose answers no longer count.")
@click.option("--reason", required=True, help="Why (written to the audit log).")
@BY
@click.pass_context
def jury_remove_votes(
    ctx: click.Context, round_id: int, juror: str, reason: str, by: str | None
) -> None:
    """Drop every answer of a careless or conflicted juror; the ranking is refitted without them."""
    from oyren import store

    with _store(ctx) as session:
        count = store.remove_juror_votes(
            session, round_id=round_id, juror=juror, reason=reason, by=_by(ctx, by)
        )
    click.echo(f"round {round_id}: {count} answer(s) of {juror} no longer count")


# --- Collecting from the TikTok Research API (database from the settings) ---


@contextmanager
def _collector(
    ctx: click.Context, daily_requests: int
) -> Iterator[tuple[DbCrawlStore, TikTokClient]]:
    """Open the database's crawl store and a Research API client whose quota it keeps."""
    from oyren.collect.connectors import QuotaLimits, connect, tiktok_settings
    from oyren.collect.dbstore import DbCrawlStore
    from oyren.store.db import open_database

    settings = _settings(ctx)
    # The base URL is a setting (environment, file or default); the credentials only come from
    # the environment, under the names TikTok's own tools use.
    api = tiktok_settings({**os.environ, "OYREN_TIKTOK_API_BASE": settings.tiktok_api_base})
    engine = open_database(settings.database_url)
    try:
        store = DbCrawlStore(engine)
        limits = QuotaLimits(requests=daily_requests)
        with connect(api, book=store, limits=limits) as client:
            yield store, client
    finally:
        engine.dispose()


WAIT_LEASE = click.option(
    "--wait-lease",
    is_flag=True,
    help="If another crawl or track of the campaign is running, wait for it to end instead of "
    "refusing.",
)
DAILY_REQUESTS = click.option(
    "--daily-requests",
    default=1000,
    show_default=True,
    type=click.IntRange(min=1),
    help="Research API requests allowed per UTC day, for every campaign together.",
)


@cli.command()
@CAMPAIGN_ID
@DAILY_REQUESTS
@click.option(
    "--span-days",
    default=30,
    show_default=True,
    type=click.IntRange(1, 30),
    help="UTC dates per query (the API allows at most 30).",
)
@click.option(
    "--wait/--no-wait",
    default=True,
    show_default=True,
    help="When the day's quota is spent, wait for 00:00 UTC, or stop (run again to resume).",
)
@WAIT_LEASE
@BY
@click.pass_context
def crawl(
    ctx: click.Context,
    campaign_id: str,
    daily_requests: int,
    span_days: int,
    wait: bool,
    wait_lease: bool,
    by: str | None,
) -> None:
    """Discover a registered campaign's entries through the Research API into the database."""
    from oyren.cli.collect_view import progress_line, render_crawl
    from oyren.collect.dbstore import crawl_campaign
    from oyren.collect.discover import CrawlSettings

    settings = CrawlSettings(span_days=span_days, wait_for_quota=wait)
    with _collector(ctx, daily_requests) as (store, client), progress_line(_err()) as progress:
        report = crawl_campaign(
            client,
            store,
            campaign_id=campaign_id,
            by=_by(ctx, by),
            settings=settings,
            progress=progress,
            wait_for_lease=wait_lease,
        )
    render_crawl(report, _out())


@cli.command()
@CAMPAIGN_ID
@click.option(
    "--every",
    metavar="DURATION",
    help="Keep running: a cycle this often (e.g. 2h) and on both sides of the deadline, "
    "until every entry's views at the deadline are bracketed. Without it: one cycle.",
)
@click.option(
    "--strategy",
    type=click.Choice(["priority", "round_robin"]),
    default="priority",
    show_default=True,
    help="Spend the quota on the entries that decide prizes, or refresh all in turn.",
)
@click.option(
    "--discover/--no-discover",
    default=True,
    show_default=True,
    help="After each cycle, crawl for new entries with the requests the plan leaves.",
)
@DAILY_REQUESTS
@WAIT_LEASE
@BY
@click.pass_context
def track(
    ctx: click.Context,
    campaign_id: str,
    every: str | None,
    strategy: str,
    discover: bool,
    daily_requests: int,
    wait_lease: bool,
    by: str | None,
) -> None:
    """Refresh the counts of a registered campaign's known entries under the daily quota."""
    from oyren.cli.collect_view import progress_line, render_track
    from oyren.clock import parse_duration
    from oyren.collect.dbstore import track_campaign
    from oyren.collect.plan import PlannerSettings
    from oyren.collect.track import TrackSettings

    planner = PlannerSettings()
    if every is not None:
        try:
            planner = PlannerSettings(every_s=parse_duration(every))
        except ValueError as exc:
            raise click.BadParameter(str(exc), param_hint="'--every'") from None
    settings = TrackSettings(planner=planner, strategy=strategy, discover=discover)
    with _collector(ctx, daily_requests) as (store, client), progress_line(_err()) as progress:
        report = track_campaign(
            client,
            store,
            campaign_id=campaign_id,
            by=_by(ctx, by),
            settings=settings,
            keep_running=every is not None,
            progress=progress,
            wait_for_lease=wait_lease,
        )
    render_track(report, _out())


# --- Background jobs (procrastinate's queue on PostgreSQL; in-process on SQLite) ---


@cli.command()
@click.argument("job", type=click.Choice(["crawl", "track", "screen", "rebuild"]))
@CAMPAIGN_ID
@click.option(
    "--every",
    metavar="DURATION",
    help="track only: queue the next cycle this long after each one ends (e.g. 30m).",
)
@DAILY_REQUESTS
@BY
@click.pass_context
def enqueue(
    ctx: click.Context,
    job: str,
    campaign_id: str,
    every: str | None,
    daily_requests: int,
    by: str | None,
) -> None:
    """Queue a campaign's job for the workers; on SQLite, run it here and now."""
    from oyren.clock import parse_duration
    from oyren.jobs import open_queue

    arguments: dict[str, Any] = {}
    if job in ("crawl", "track"):
        arguments["by"] = _by(ctx, by)
    if every is not None:
        if job != "track":
            raise click.BadParameter("only a track job repeats", param_hint="'--every'")
        try:
            arguments["every_s"] = parse_duration(every)
        except ValueError as exc:
            raise click.BadParameter(str(exc), param_hint="'--every'") from None
    queue = open_queue(_settings(ctx), daily_requests=daily_requests)
    try:
        done = queue.enqueue(job, campaign_id, **arguments)
    finally:
        queue.runtime.engine.dispose()
    if done.state == "queued":
        click.echo(f"queued {job} of {campaign_id} (job {done.job_id})")
    elif done.state == "waiting":
        click.echo(f"a {job} of {campaign_id} is already waiting in the queue; nothing added")
    else:
        click.echo(f"ran {job} of {campaign_id} here: {orjson.dumps(done.result).decode()}")


@cli.command()
@click.option(
    "--queue",
    "queues",
    multiple=True,
    type=click.Choice(["collect", "screening", "rebuild", "maintenance"]),
    help="Take jobs from this queue only (repeat for several; default: all).",
)
@click.option(
    "--concurrency",
    default=1,
    show_default=True,
    type=click.IntRange(1, 32),
    help="Jobs this worker runs at once.",
)
@click.option("--burst", is_flag=True, help="Stop once the queue is empty instead of waiting.")
@DAILY_REQUESTS
@click.pass_context
def worker(
    ctx: click.Context, queues: tuple[str, ...], concurrency: int, burst: bool, daily_requests: int
) -> None:
    """Run queued jobs (crawl, track, screening, rebuild) until stopped; needs PostgreSQL."""
    from oyren.jobs import open_queue

    queue = open_queue(_settings(ctx), daily_requests=daily_requests)
    try:
        queue.work(queues=list(queues), concurrency=concurrency, burst=burst)
    finally:
        queue.runtime.engine.dispose()
    for result in queue.runtime.results:
        click.echo(orjson.dumps(result).decode())
    for error in queue.runtime.errors:
        click.echo(f"error: {error}", err=True)


@cli.command("sandbox-api")
@click.option(
    "--campaign",
    "campaign_path",
    required=True,
    type=click.Path(path_type=Path),
    help="Campaign TOML file whose rules the simulated campaign follows.",
)
@click.option("--port", default=8000, show_default=True, type=click.IntRange(0, 65535))
@click.option(
    "--faults",
    default="none",
    show_default=True,
    metavar="none|typical|SPEC",
    help="Faults of the real API to inject, e.g. 500=0.05,504=0.02,429=0.03,expired=0.05.",
)
@click.option(
    "--speed",
    default=1.0,
    show_default=True,
    type=click.FloatRange(min=0, min_open=True),
    help="How much faster than real time the sandbox's clock runs (1440: a day a minute).",
)
@click.option(
    "--videos",
    default=3000,
    show_default=True,
    type=click.IntRange(min=1),
    help="How many videos the simulated campaign has.",
)
@click.option("--seed", default=1, show_default=True, type=int, help="Random seed.")
@click.option(
    "--start",
    metavar="ISO",
    help="The sandbox clock's first instant, e.g. 2024-04-20T12:00:00+04:00 "
    "(default: the window's opening; without an offset, UTC).",
)
def sandbox_api(
    campaign_path: Path,
    port: int,
    faults: str,
    speed: float,
    videos: int,
    seed: int,
    start: str | None,
) -> None:
    """Serve a simulated campaign through the Research API's endpoints, on a fast clock."""
    from oyren.sandbox.api import Faults, SandboxConfig
    from oyren.sandbox.server import sandbox_for, serve_forever

    try:
        chosen = Faults.parse(faults)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="'--faults'") from None
    start_ts = None
    if start is not None:
        try:
            when = datetime.fromisoformat(start)
        except ValueError:
            raise click.BadParameter(
                f"'{start}' is not an ISO 8601 time like 2024-04-20T12:00:00+04:00",
                param_hint="'--start'",
            ) from None
        start_ts = int((when if when.tzinfo else when.replace(tzinfo=UTC)).timestamp())
    campaign = load_campaign(campaign_path)
    config = SandboxConfig(faults=chosen, seed=seed)
    api = sandbox_for(
        campaign, videos=videos, seed=seed, speed=speed, start=start_ts, config=config
    )
    _note(
        f"sandbox API for {campaign.id} on http://127.0.0.1:{port}: set "
        f"OYREN_TIKTOK_API_BASE=http://127.0.0.1:{port} "
        f"TIKTOK_CLIENT_KEY={config.client_key} TIKTOK_CLIENT_SECRET={config.client_secret}; "
        f"creators sign in with OYREN_TIKTOK_AUTH_URL=http://127.0.0.1:{port}/v2/auth/authorize/ "
        f"OYREN_TIKTOK_OEMBED_URL=http://127.0.0.1:{port}/oembed "
        f"TIKTOK_LOGIN_CLIENT_KEY={config.login.client_key} "
        f"TIKTOK_LOGIN_CLIENT_SECRET={config.login.client_secret}"
    )
    serve_forever(api, port=port)
