"""The store's commands: the organizer's workflow end to end, errors, and run == standings."""

from __future__ import annotations

import itertools
import os
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import oyren
from oyren.rules.campaign import Campaign

CID = "tiktokdan-oyren-2024"
SRC = str(Path(oyren.__file__).resolve().parent.parent)


def jsonl(path: Path, records: list[dict[str, Any]]) -> Path:
    path.write_bytes(b"".join(orjson.dumps(r) + b"\n" for r in records))
    return path


@pytest.fixture
def files(
    tmp_path: Path, campaign: Campaign, make_record: Callable[..., dict[str, Any]]
) -> dict[str, Path]:
    """Observations of three videos, a decision excluding video 2, a removal of video 3."""
    at = campaign.cutoff_ts
    return {
        "observations": jsonl(
            tmp_path / "observations.jsonl",
            [
                make_record(id=1, view_count=1000),
                make_record(id=1, view_count=3000, collected_at=at + 3600),
                make_record(id=2, username="nigar", view_count=5000),
                make_record(id=3, username="leyla", view_count=9000),
            ],
        ),
        "decisions": jsonl(
            tmp_path / "decisions.jsonl",
            [
                {"video_id": "2", "action": "exclude", "reason": "re-upload", "at": at + 60},
            ],
        ),
        "removed": jsonl(
            tmp_path / "removed.jsonl",
            [
                {"video_id": "3", "reason": "deleted", "at": "2024-04-23T10:00:00+04:00"},
            ],
        ),
    }


@pytest.fixture
def loaded(cli: Callable[..., Any], campaign_file: Path, files: dict[str, Path]) -> None:
    """The campaign registered, its observations ingested, moderated and one removal stored."""
    for args in (
        ("init", "--campaign", campaign_file),
        ("ingest", "--campaign", CID, "--observations", files["observations"]),
        ("moderate", "--campaign", CID, "--from", files["decisions"]),
        ("remove", "--campaign", CID, "--from", files["removed"]),
    ):
        assert cli(*args).exit_code == 0


def test_cli_standings_equal_run(
    cli: Callable[..., Any], loaded: None, campaign_file: Path, files: dict[str, Path]
) -> None:
    run = cli(
        "run",
        "--campaign",
        campaign_file,
        "--observations",
        files["observations"],
        "--decisions",
        files["decisions"],
        "--removed",
        files["removed"],
        "--format",
        "json",
    )
    stored = cli("standings", "--campaign", CID, "--format", "json")
    assert (stored.exit_code, stored.stdout) == (0, run.stdout)
    assert orjson.loads(run.stdout)["winners"]["best_video"]["video_id"] == "1"


def test_cli_award_freezes_and_second_needs_supersede(
    cli: Callable[..., Any], loaded: None
) -> None:
    before = cli("standings", "--campaign", CID, "--format", "json").stdout
    first = cli("award", "--campaign", CID, "--by", "director")
    assert (first.exit_code, first.stdout.splitlines()[1]) == (
        0,
        "best_video     @aysel_teaches, video 1, 2,000 views",
    )
    cli("moderate", "--campaign", CID, "--video", "1", "--exclude", "--reason", "bought views")
    frozen = cli("standings", "--campaign", CID, "--format", "json")
    assert (frozen.stdout, frozen.stderr.startswith("Frozen by award 1")) == (before, True)
    again = cli("award", "--campaign", CID)
    assert (again.exit_code, "--supersede --reason" in again.stderr) == (2, True)
    second = cli("award", "--campaign", CID, "--supersede", "--reason", "winner bought views")
    assert (second.exit_code, "award 2 by tester" in second.stdout) == (0, True)
    log = cli("log", "--campaign", CID, "--format", "json", "--limit", "1")
    entry = orjson.loads(log.stdout)
    assert (entry["action"], entry["by"], entry["details"]["reason"]) == (
        "award.supersede",
        "tester",
        "winner bought views",
    )


def test_cli_bundle_verifies_in_a_fresh_process(
    cli: Callable[..., Any], loaded: None, tmp_path: Path
) -> None:
    assert cli("award", "--campaign", CID).exit_code == 0
    out = tmp_path / "bundle"
    assert cli("bundle", "--campaign", CID, "--out", out).exit_code == 0
    env = {**os.environ, "PYTHONPATH": SRC}
    verify = [sys.executable, "-m", "oyren", "verify", str(out)]
    done = subprocess.run(verify, capture_output=True, text=True, env=env, check=False)
    assert (done.returncode, done.stdout.splitlines()[0]) == (0, f"verified: {out}")
    (out / "removed.jsonl").write_text("")
    done = subprocess.run(verify, capture_output=True, text=True, env=env, check=False)
    assert (done.returncode, done.stdout.splitlines()[1]) == (
        1,
        "  - removed.jsonl: changed since the bundle was made "
        "(SHA-256 e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855, manifest "
        f"says {orjson.loads((out / 'manifest.json').read_bytes())['files']['removed.jsonl']})",
    )


def test_cli_award_out_writes_the_same_bundle_as_bundle(
    cli: Callable[..., Any], loaded: None, tmp_path: Path
) -> None:
    awarded = cli("award", "--campaign", CID, "--out", tmp_path / "at-award")
    assert awarded.exit_code == 0
    assert cli("bundle", "--campaign", CID, "--out", tmp_path / "later").exit_code == 0
    names = sorted(p.name for p in (tmp_path / "at-award").iterdir())
    assert names == sorted(p.name for p in (tmp_path / "later").iterdir())
    assert [(tmp_path / "at-award" / n).read_bytes() for n in names] == [
        (tmp_path / "later" / n).read_bytes() for n in names
    ]
    digest = orjson.loads((tmp_path / "at-award" / "manifest.json").read_bytes())["digest"]
    assert f"bundle digest {digest}" in awarded.stdout


def test_cli_export_csv_to_file(cli: Callable[..., Any], loaded: None, tmp_path: Path) -> None:
    out = tmp_path / "standings.csv"
    assert cli("export", "--campaign", CID, "--format", "csv", "--out", out).exit_code == 0
    lines = out.read_text(encoding="utf-8").splitlines()
    assert lines[0].startswith("rank,video_id,username,eligible,reasons")
    assert [line.split(",")[:5] for line in lines[1:]] == [
        ["1", "1", "aysel_teaches", "true", ""],
        ["", "3", "leyla", "false", "removed"],
        ["", "2", "nigar", "false", "excluded_by_moderator"],
    ]


def test_cli_export_json_is_the_standings(cli: Callable[..., Any], loaded: None) -> None:
    exported = cli("export", "--campaign", CID, "--format", "json")
    assert exported.stdout == cli("standings", "--campaign", CID, "--format", "json").stdout


def test_cli_queue_and_campaigns(
    cli: Callable[..., Any], campaign_file: Path, tmp_path: Path, make_record: Callable[..., Any]
) -> None:
    observations = jsonl(tmp_path / "o.jsonl", [make_record(id=5, region_code=None)])
    cli("init", "--campaign", campaign_file)
    cli("ingest", "--campaign", CID, "--observations", observations)
    assert "region_unknown" in cli("queue", "--campaign", CID).stdout
    assert CID[:10] in cli("campaigns").stdout


def test_cli_queue_pages_filters_and_speaks_json(
    cli: Callable[..., Any], campaign_file: Path, tmp_path: Path, make_record: Callable[..., Any]
) -> None:
    records = [
        make_record(id=n, username=f"creator{n}", view_count=100 * n, region_code=None)
        for n in range(1, 8)
    ]
    cli("init", "--campaign", campaign_file)
    cli("ingest", "--campaign", CID, "--observations", jsonl(tmp_path / "o.jsonl", records))
    whole = orjson.loads(cli("queue", "--campaign", CID, "--format", "json").stdout)
    assert (whole["total"], whole["matching"], len(whole["items"])) == (7, 7, 7)
    assert dict(whole["whys"]) == {"soft_reasons": 7}
    paged = cli("queue", "--campaign", CID, "--sort", "views", "--limit", "2", "--offset", "1")
    assert paged.exit_code == 0
    assert "Waiting for a moderator: 7" in paged.stdout
    assert "2–3 of 7 (the next: --offset 3)" in paged.stdout
    # Most views first: the 2nd and 3rd most viewed.
    shown = [line.split("│")[2].strip() for line in paged.stdout.splitlines() if "@" in line]
    assert shown == ["@creator6", "@creator5"]
    as_json = orjson.loads(cli("queue", "--campaign", CID, "--sort", "views", "--limit", "2",
                               "--offset", "1", "--format", "json").stdout)  # fmt: skip
    assert [i["entry"]["username"] for i in as_json["items"]] == ["creator6", "creator5"]
    # A flag or a theme no video has keeps nothing, whatever its text; the counts stay whole.
    for hostile in ("[bold]x[/]", "' OR 1=1 --", "%", "none\x00"):
        kept = orjson.loads(cli("queue", "--campaign", CID, "--flag", hostile,
                                "--format", "json").stdout)  # fmt: skip
        assert (kept["total"], kept["matching"], kept["items"]) == (7, 0, [])
    assert (
        "none here of 0 kept by the filters"
        in cli("queue", "--campaign", CID, "--theme", "[red]x").stdout
    )
    for bad in (("--why", "bought"), ("--sort", "random"), ("--limit", "0"), ("--offset", "-1")):
        refused = cli("queue", "--campaign", CID, *bad)
        assert refused.exit_code == 2 and bad[0] in refused.stderr + refused.stdout, bad
    unknown = cli("queue", "--campaign", "no-such-campaign")
    assert unknown.exit_code != 0 and "no-such-campaign" in unknown.stderr


def test_cli_queue_offers_the_kinds_and_orders_of_the_queue() -> None:
    from oyren import cli
    from oyren.screening import triage

    assert (cli.QUEUE_WHYS, cli.QUEUE_SORTS) == (triage.REVIEW_KINDS, triage.QUEUE_SORTS)


def test_cli_ingest_bad_line_names_it_and_stores_nothing(
    cli: Callable[..., Any], campaign_file: Path, tmp_path: Path, make_record: Callable[..., Any]
) -> None:
    cli("init", "--campaign", campaign_file)
    bad = jsonl(tmp_path / "bad.jsonl", [make_record(id=1), make_record(id=2, view_count="many")])
    result = cli("ingest", "--campaign", CID, "--observations", bad)
    assert (result.exit_code, result.stderr) == (
        2,
        f"error: {bad}, line 2, field 'view_count': must be a whole number, not a string\n",
    )
    assert (
        orjson.loads(cli("standings", "--campaign", CID, "--format", "json").stdout)["entries"]
        == []
    )


def test_cli_ingest_summary(
    cli: Callable[..., Any], campaign_file: Path, files: dict[str, Path]
) -> None:
    cli("init", "--campaign", campaign_file)
    result = cli("ingest", "--campaign", CID, "--observations", files["observations"])
    assert re.search(r"new observations\s+│\s+4 ", result.stdout)
    again = cli("ingest", "--campaign", CID, "--observations", files["observations"])
    assert re.search(r"duplicates\s+│\s+4 ", again.stdout)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("standings", "--campaign", "nope"), "error: no campaign 'nope'"),
        (
            ("moderate", "--campaign", CID, "--video", "9", "--exclude", "--reason", "x"),
            "error: campaign 'tiktokdan-oyren-2024' has no video '9'",
        ),
        (("remove", "--campaign", CID, "--video", "1", "--reason", " "), "error: a removal needs"),
    ],
)
def test_cli_store_errors_exit_2(
    cli: Callable[..., Any], campaign_file: Path, args: tuple[str, ...], message: str
) -> None:
    cli("init", "--campaign", campaign_file)
    result = cli(*args)
    assert (result.exit_code, result.stderr.startswith(message)) == (2, True)


def test_cli_without_database_says_init(cli: Callable[..., Any], tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'none.db'}"
    result = cli("standings", "--campaign", CID, env={"OYREN_DATABASE_URL": url})
    assert (result.exit_code, "oyren init" in result.stderr) == (2, True)
    assert not (tmp_path / "none.db").exists()


def test_cli_migrate_creates_then_reports_current(cli: Callable[..., Any], tmp_path: Path) -> None:
    env = {"OYREN_DATABASE_URL": f"sqlite:///{tmp_path / 'new' / 'oyren.db'}"}
    assert "upgraded from empty to schema revision" in cli("migrate", env=env).stdout
    assert "already at schema revision" in cli("migrate", env=env).stdout


def test_cli_config_file_names_database(
    cli: Callable[..., Any], campaign_file: Path, tmp_path: Path
) -> None:
    path = tmp_path / "from-config.db"
    config = tmp_path / "settings.toml"
    config.write_text(f'database_url = "sqlite:///{path}"\n')
    result = cli(
        "--config", config, "init", "--campaign", campaign_file, env={"OYREN_DATABASE_URL": None}
    )
    assert (result.exit_code, path.exists()) == (0, True)


def test_cli_run_with_removed_file(
    cli: Callable[..., Any], campaign_file: Path, files: dict[str, Path]
) -> None:
    result = cli(
        "run",
        "--campaign",
        campaign_file,
        "--observations",
        files["observations"],
        "--removed",
        files["removed"],
        "--format",
        "json",
    )
    entries = orjson.loads(result.stdout)["entries"]
    assert [(e["video_id"], e["reasons"]) for e in entries] == [
        ("2", []),
        ("1", []),
        ("3", ["removed"]),
    ]


# --- run and standings agree on any input ---

_counter = itertools.count()
IDS = ["1", "2", "3", "10"]


@st.composite
def contest_inputs(draw: st.DrawFn, campaign: Campaign) -> dict[str, list[dict[str, Any]]]:
    """Observations (with exact duplicates and same-instant sightings), decisions, removals."""
    cut, start = campaign.cutoff_ts, campaign.window_start_ts
    # Mostly eligible videos, so that decisions and removals change the outcome.
    record = st.fixed_dictionaries(
        {
            "id": st.sampled_from(IDS),
            "username": st.sampled_from(["aysel", "Aysel", "nigar", "leyla"]),
            "create_time": st.sampled_from([cut - 86400, cut, start, start - 1, cut + 1]),
            "view_count": st.integers(0, 5000),
            "collected_at": st.sampled_from([cut - 7200, cut - 1, cut, cut + 1, cut + 7200]),
            "region_code": st.sampled_from(["AZ", "AZ", "TR", None]),
            "video_duration": st.sampled_from([45, 45, 10, None]),
            "video_description": st.sampled_from(["Elm #TikTokdanOyren", "#tiktokdanöyrən", "x"]),
        }
    ).map(lambda r: {k: v for k, v in r.items() if v is not None})
    seen_after_posting = record.filter(lambda r: r["collected_at"] >= r["create_time"])
    records = draw(st.lists(seen_after_posting, min_size=1, max_size=12))
    records += draw(st.lists(st.sampled_from(records), max_size=4))  # exact duplicates
    records = draw(st.permutations(records))
    present = sorted({r["id"] for r in records})
    decision = st.fixed_dictionaries(
        {
            "video_id": st.sampled_from(present[:2]),  # few videos, so decisions conflict
            "action": st.sampled_from(["exclude", "include"]),
            "reason": st.sampled_from(["spam", "checked by hand"]),
            "at": st.sampled_from([cut + 10, cut + 10, cut + 20]),  # on a tie the later wins
        }
    )
    removal = st.fixed_dictionaries(
        {
            "video_id": st.sampled_from(present),
            "reason": st.just("deleted"),
            "at": st.just(cut + 100),
        }
    )
    return {
        "observations": records,
        "decisions": draw(st.lists(decision, max_size=5)),
        "removed": draw(st.lists(removal, max_size=2)),
    }


@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
@given(data=st.data())
def test_cli_standings_equal_run_for_any_input(
    cli: Callable[..., Any],
    campaign: Campaign,
    tmp_path_factory: pytest.TempPathFactory,
    data: st.DataObject,
) -> None:
    inputs = data.draw(contest_inputs(campaign))
    folder = tmp_path_factory.mktemp("contest")
    campaign_id = f"c-{next(_counter)}"
    campaign_file = folder / "campaign.toml"
    campaign_file.write_text(
        campaign.source_text.replace(f'id = "{campaign.id}"', f'id = "{campaign_id}"', 1),
        encoding="utf-8",
    )
    paths = {name: jsonl(folder / f"{name}.jsonl", records) for name, records in inputs.items()}
    run = cli(
        "run",
        "--campaign",
        campaign_file,
        "--observations",
        paths["observations"],
        "--decisions",
        paths["decisions"],
        "--removed",
        paths["removed"],
        "--format",
        "json",
    )
    for args in (
        ("init", "--campaign", campaign_file),
        ("ingest", "--campaign", campaign_id, "--observations", paths["observations"]),
        ("moderate", "--campaign", campaign_id, "--from", paths["decisions"]),
        ("remove", "--campaign", campaign_id, "--from", paths["removed"]),
    ):
        assert cli(*args).exit_code == 0
    stored = cli("standings", "--campaign", campaign_id, "--format", "json")
    assert (run.exit_code, stored.stdout) == (0, run.stdout)


@pytest.mark.parametrize("command", ["init", "run"])
def test_cli_deeply_nested_campaign_exits_2_naming_the_file(
    cli: Callable[..., Any], tmp_path: Path, command: str
) -> None:
    hostile = tmp_path / "deep.toml"
    hostile.write_text('id = "x"\nx = ' + "[" * 5000 + "]" * 5000 + "\n")
    args: tuple[object, ...] = ("--campaign", hostile)
    if command == "run":
        args += ("--observations", jsonl(tmp_path / "o.jsonl", []))
    result = cli(command, *args)
    assert result.exit_code == 2
    assert (
        result.stderr == f"error: {hostile}: not valid TOML: arrays or tables nested too deeply\n"
    )
    assert "Traceback" not in result.output


def test_cli_award_warns_when_videos_still_wait_for_a_person(
    cli: Callable[..., Any],
    loaded: None,
    tmp_path: Path,
    make_record: Callable[..., dict[str, Any]],
) -> None:
    quiet = cli("award", "--campaign", CID, "--by", "director")
    assert (quiet.exit_code, "for a person" in quiet.stderr) == (0, False)
    unknown = jsonl(tmp_path / "more.jsonl", [make_record(id=4, username="rauf",
                                                          region_code=None)])  # fmt: skip
    assert cli("ingest", "--campaign", CID, "--observations", unknown).exit_code == 0
    assert "Waiting for a moderator: 1" in cli("queue", "--campaign", CID).stdout
    again = cli("award", "--campaign", CID, "--supersede", "--reason", "a late video")
    assert again.exit_code == 0
    assert again.stderr.startswith(
        f"warning: 1 video still waits for a person (see: oyren queue --campaign {CID}); "
        "awarding now freezes them as they stand"
    )


def test_cli_observations_export_as_parquet_and_import_into_another_store(
    cli: Callable[..., Any],
    loaded: None,
    tmp_path: Path,
    campaign_file: Path,
    files: dict[str, Path],
) -> None:
    out = tmp_path / "observations.parquet"
    exported = cli("export", "--campaign", CID, "--observations", "--format", "parquet",
                   "--out", out)  # fmt: skip
    assert exported.exit_code == 0, exported.output
    jsonl_out = tmp_path / "observations.jsonl"
    cli("export", "--campaign", CID, "--observations", "--format", "jsonl", "--out", jsonl_out)
    # The same observations either way, and `oyren run` decides the same from both.
    run_parquet = cli("run", "--campaign", campaign_file, "--observations", out, "--format", "json")
    run_jsonl = cli("run", "--campaign", campaign_file, "--observations", jsonl_out, "--format",
                    "json")  # fmt: skip
    assert run_parquet.exit_code == 0 and run_parquet.stdout == run_jsonl.stdout
    # Imported into a fresh store, the Parquet file gives the same standings.
    other = {"OYREN_DATABASE_URL": f"sqlite:///{tmp_path / 'other.db'}"}
    assert cli("init", "--campaign", campaign_file, env=other).exit_code == 0
    imported = cli("ingest", "--campaign", CID, "--observations", out, env=other)
    assert imported.exit_code == 0, imported.output
    cli("moderate", "--campaign", CID, "--from", files["decisions"], env=other)
    cli("remove", "--campaign", CID, "--from", files["removed"], env=other)
    first = cli("standings", "--campaign", CID, "--format", "json").stdout
    assert cli("standings", "--campaign", CID, "--format", "json", env=other).stdout == first


def test_cli_observations_export_refuses_a_standings_format_and_stdout(
    cli: Callable[..., Any], loaded: None, tmp_path: Path
) -> None:
    wrong = cli("export", "--campaign", CID, "--observations", "--format", "json", "--out",
                tmp_path / "o.json")  # fmt: skip
    assert wrong.exit_code == 2 and "jsonl, csv, parquet" in wrong.output
    no_out = cli("export", "--campaign", CID, "--observations", "--format", "parquet")
    assert no_out.exit_code == 2 and "--out" in no_out.output
    standings = cli("export", "--campaign", CID, "--format", "parquet")
    assert standings.exit_code == 2 and "csv, json" in standings.output


def test_cli_ingest_of_a_hostile_parquet_file_names_the_row_and_stores_nothing(
    cli: Callable[..., Any], loaded: None, tmp_path: Path
) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = tmp_path / "bad.parquet"
    good = {"id": "1", "username": "a", "create_time": 1_710_000_000,
            "collected_at": 1_710_000_100, "view_count": 5}  # fmt: skip
    pq.write_table(pa.Table.from_pylist([good, dict(good, collected_at=5)]), path)
    before = cli("standings", "--campaign", CID, "--format", "json").stdout
    result = cli("ingest", "--campaign", CID, "--observations", path)
    assert result.exit_code == 2
    assert "line 2" in result.output and "collected_at" in result.output
    assert cli("standings", "--campaign", CID, "--format", "json").stdout == before


def test_cli_rebuild_follows_a_change_of_rules(
    cli: Callable[..., Any],
    loaded: None,
    campaign_file: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from oyren.store import decided

    monkeypatch.setattr(decided, "INLINE_REBUILD", 0)  # as for a campaign too big to wait for
    stricter = tmp_path / "stricter.toml"
    stricter.write_text(
        campaign_file.read_text().replace("min_duration_s = 30", "min_duration_s = 50")
    )
    assert cli("init", "--campaign", stricter).exit_code == 0
    before = orjson.loads(cli("export", "--campaign", CID, "--format", "json").stdout)
    done = cli("rebuild", "--campaign", CID)
    again = cli("rebuild", "--campaign", CID, "--no-flags")
    unknown = cli("rebuild", "--campaign", "nope")
    assert done.exit_code == 0 and "Verdicts rebuilt" in done.stderr
    assert "flags recomputed" in done.stderr
    assert "already follow" in again.stderr and "flags" not in again.stderr
    assert unknown.exit_code != 0 and "no campaign 'nope'" in unknown.stderr
    # The standings come from the engine either way: 45 s videos are too short now.
    assert {e["video_id"]: e["reasons"] for e in before["entries"]}["1"] == ["too_short"]


def test_thumbnails_fetches_through_oembed_from_a_named_origin_only(
    cli: Callable[..., Any], stored_db: Any, campaign: Campaign
) -> None:
    from oyren.clock import SystemClock
    from oyren.inputs.observations import observation_to_record
    from oyren.sandbox.api import SandboxAPI
    from oyren.sandbox.server import serve
    from oyren.sandbox.simulate import observations, simulate
    from oyren.store import ingest_observations
    from oyren.store.db import transaction
    from oyren.store.thumbnails import get_thumbnail

    sim = simulate(campaign, videos=30, seed=4, observations_per_video=2)
    path = jsonl(Path("sim.jsonl"), [observation_to_record(o) for o in observations(sim)])
    with transaction(stored_db) as session:
        ingest_observations(session, campaign_id=CID, path=path, by="organizer")
    with serve(SandboxAPI(sim.videos, SystemClock())) as url:
        env = {"OYREN_TIKTOK_OEMBED_URL": url + "/oembed"}
        # Without the sandbox's origin named, its http addresses are not TikTok's image hosts.
        refused = cli("thumbnails", "--campaign", CID, "--limit", 5, env=env)
        assert refused.exit_code == 0, refused.stderr
        assert "thumbnails: 0 fetched of 5 due, 5 addresses looked up, 5 failed" in refused.stderr
        assert "only https addresses" in refused.stderr
        done = cli("thumbnails", "--campaign", CID, "--image-origin", url + "/", env=env)
    assert done.exit_code == 0, done.stderr
    ids = {v.video_id for v in sim.videos}
    assert f"thumbnails: {len(ids) - 5:,} fetched of {len(ids) - 5:,} due" in done.stderr
    with transaction(stored_db) as session:
        found = [get_thumbnail(session, campaign_id=CID, video_id=i) for i in ids]
    assert sum(f is not None for f in found) == len(ids) - 5
    unknown = cli("thumbnails", "--campaign", "no-such-campaign")
    assert unknown.exit_code == 2 and "no-such-campaign" in unknown.stderr
