import re
import subprocess
import sys

import orjson
import pytest
from click.testing import CliRunner

from oyren import __version__
from oyren.cli import cli as oyren_cli


@pytest.fixture
def cli():
    """Invoke the ``oyren`` command in-process; returns the click Result."""
    runner = CliRunner()
    return lambda *args: runner.invoke(oyren_cli, [str(a) for a in args], catch_exceptions=False)


@pytest.fixture
def observations_file(write_jsonl, make_record, campaign):
    cut = campaign.cutoff_ts
    return write_jsonl(
        [
            make_record(id=1, username="a", view_count=100, collected_at=cut - 3600),
            make_record(id=1, username="a", view_count=300, collected_at=cut + 3600),
            make_record(id=2, username="b", view_count=250, collected_at=cut, video_duration=12),
            make_record(id=3, username="c", view_count=90, collected_at=cut),
        ]
    )


def test_run_json_gives_the_documented_schema(cli, campaign_file, observations_file):
    result = cli(
        "run", "--campaign", campaign_file, "--observations", observations_file, "--format", "json"
    )
    assert result.exit_code == 0
    data = orjson.loads(result.stdout)
    assert set(data) >= {"campaign", "cutoff", "entries", "winners"}
    assert [
        (e["video_id"], e["eligible"], e["reasons"], e["views_at_cutoff"], e["views_basis"])
        for e in data["entries"]
    ] == [
        ("1", True, [], 200, "interpolated"),
        ("3", True, [], 90, "observed"),
        ("2", False, ["too_short"], 250, "observed"),
    ]
    assert data["winners"] == {
        "best_video": {"video_id": "1", "username": "a", "views": 200},
        "discover": {"username": "c", "views": 90, "video_ids": ["3"]},
        "most_creative": None,
    }


def test_run_table_shows_winners_and_reasons(cli, campaign_file, observations_file):
    result = cli("run", "--campaign", campaign_file, "--observations", observations_file)
    assert result.exit_code == 0
    assert "@a" in result.stdout and "too_short" in result.stdout
    assert "3 videos, 2 eligible" in result.stdout


def test_run_shows_integrity_flags_in_json_and_table(cli, campaign_file, write_jsonl, make_record):
    cut = 1_713_729_599
    path = write_jsonl(
        [
            make_record(id=1, username="a", view_count=5_000, collected_at=cut - 7200),
            make_record(id=1, username="a", view_count=3_000, collected_at=cut),
        ]
    )
    args = ("run", "--campaign", campaign_file, "--observations", path)
    [entry] = orjson.loads(cli(*args, "--format", "json").stdout)["entries"]
    assert [(f["code"], f["score"]) for f in entry["flags"]] == [("views_decreased", 0.994)]
    assert "views_decreased" in cli(*args).stdout


def test_run_into_a_file_or_a_pipe_keeps_each_row_on_one_line(
    cli, campaign_file, write_jsonl, make_record
):
    name = "a_rather_long_name_of_24"
    path = write_jsonl([make_record(id=7390000000000000001, username=name, view_count=1_234_567)])
    out = cli("run", "--campaign", campaign_file, "--observations", path).stdout
    rows = [line for line in out.splitlines() if "7390000000000000001" in line]
    # The top videos' row: id, creator, time posted, views and basis side by side.
    assert any(f"@{name}" in row and "1,234,567" in row and "2024-04-" in row for row in rows)


def test_run_bad_line_exits_2_naming_file_line_and_field(
    cli, campaign_file, write_jsonl, make_record
):
    path = write_jsonl([make_record(), make_record(view_count="lots")])
    result = cli("run", "--campaign", campaign_file, "--observations", path)
    assert result.exit_code == 2
    assert result.stderr == (
        f"error: {path}, line 2, field 'view_count': must be a whole number, not a string\n"
    )
    assert result.stdout == ""


def test_run_skip_invalid_reports_and_goes_on(cli, campaign_file, write_jsonl, make_record):
    path = write_jsonl([make_record(), "{oops", make_record(id=5, create_time=10**13)])
    result = cli(
        "run",
        "--campaign",
        campaign_file,
        "--observations",
        path,
        "--format",
        "json",
        "--skip-invalid",
    )
    assert result.exit_code == 0
    assert [e["video_id"] for e in orjson.loads(result.stdout)["entries"]] == [
        "7340000000000000001"
    ]
    assert "skipped 2 invalid line(s)" in result.stderr
    assert "line 3, field 'create_time'" in result.stderr


def test_run_decisions_file_excludes_a_video(cli, campaign_file, observations_file, write_jsonl):
    decisions = write_jsonl(
        [
            {
                "video_id": "1",
                "action": "exclude",
                "reason": "bought views",
                "by": "mod",
                "at": 1714000000,
            }
        ],
        name="d.jsonl",
    )
    result = cli(
        "run",
        "--campaign",
        campaign_file,
        "--observations",
        observations_file,
        "--decisions",
        decisions,
        "--format",
        "json",
    )
    data = orjson.loads(result.stdout)
    assert data["winners"]["best_video"]["video_id"] == "3"
    assert [e["reasons"] for e in data["entries"] if e["video_id"] == "1"] == [
        ["excluded_by_moderator"]
    ]


def test_run_bad_campaign_names_the_key(cli, tmp_path, observations_file):
    bad = tmp_path / "c.toml"
    bad.write_text('id = "x"\nhashtags = []\n')
    result = cli("run", "--campaign", bad, "--observations", observations_file)
    assert result.exit_code == 2
    assert result.stderr == f"error: {bad}: hashtags: must list at least one value\n"


def test_run_missing_observations_file(cli, campaign_file, tmp_path):
    result = cli("run", "--campaign", campaign_file, "--observations", tmp_path / "none.jsonl")
    assert result.exit_code == 2
    assert "cannot open" in result.stderr


def test_simulate_then_run_csv_and_jsonl_agree(cli, campaign_file, tmp_path):
    outputs = []
    for name in ("sim.jsonl", "sim.csv"):
        path = tmp_path / name
        made = cli(
            "simulate", "--campaign", campaign_file, "--out", path, "--videos", 120, "--seed", 4
        )
        assert made.exit_code == 0
        assert "observations of 120 videos" in made.stderr
        ran = cli("run", "--campaign", campaign_file, "--observations", path, "--format", "json")
        outputs.append(orjson.loads(ran.stdout))
    assert outputs[0] == outputs[1]
    assert len(outputs[0]["entries"]) == 120


def test_demo_builds_a_store_and_prints_winners(cli, tmp_path):
    result = cli("demo", "--videos", 300, "--folder", tmp_path / "demo", "--no-serve")
    assert result.exit_code == 0
    assert "Winners — sandbox-2024" in result.stdout
    assert "best_video" in result.stdout and "discover" in result.stdout
    assert (tmp_path / "demo" / "oyren.db").is_file()
    assert "organizer sign-in: demo / " in result.stderr
    assert "Standings now (not awarded yet):" in result.stdout
    assert re.search(r"the sandbox invented 300 videos; the crawl found \d+ of them", result.stderr)
    assert "nothing is awarded yet: sign in on the site as the organizer" in result.stderr
    found = int(re.search(r"the crawl found ([\d,]+) of them", result.stderr)[1].replace(",", ""))
    assert f"{found:,} thumbnails cached from the sandbox's oEmbed" in result.stderr


def test_demo_says_the_port_is_taken_before_doing_any_work(cli, tmp_path):
    import socket

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = cli("demo", "--videos", 10, "--folder", tmp_path / "demo", "--port", port)
    assert result.exit_code == 2
    assert f"port {port} on 127.0.0.1 is taken" in result.stderr
    assert f"--port {port + 1}, or --port 0" in result.stderr
    assert not (tmp_path / "demo").exists()


def test_python_m_oyren_runs_the_cli():
    done = subprocess.run(
        [sys.executable, "-m", "oyren", "--version"], capture_output=True, text=True, check=False
    )
    assert (done.returncode, done.stdout.strip()) == (0, f"oyren, version {__version__}")


def test_run_judgments_give_the_most_creative_prize(cli, campaign_file, write_jsonl, make_record,
                                                    campaign):  # fmt: skip
    cut = campaign.cutoff_ts
    observations = write_jsonl([
        make_record(id=1, username="a", view_count=900, collected_at=cut),
        make_record(id=2, username="b", view_count=500, collected_at=cut),
        make_record(id=3, username="c", view_count=100, collected_at=cut),
        make_record(id=4, username="d", view_count=50, collected_at=cut),
    ])  # fmt: skip
    lines = []
    for judge in ("j1", "j2", "j3"):
        lines += [{"judge": judge, "winner": "3", "loser": other} for other in ("1", "2", "4")]
        lines.append({"judge": judge, "ranking": ["1", "4", "2"]})
    lines.append({"judge": "j1", "tie": ["2", "4"]})
    judgments = write_jsonl(lines, name="judgments.jsonl")
    result = cli("run", "--campaign", campaign_file, "--observations", observations,
                 "--judgments", judgments, "--format", "json")  # fmt: skip
    assert result.exit_code == 0, result.stderr
    creative = orjson.loads(result.stdout)["winners"]["most_creative"]
    assert (creative["video_id"], creative["username"]) == ("3", "c")
    assert 0.5 < creative["probability"] <= 1.0


def test_run_judgments_naming_an_unknown_video_exit_2_with_the_line(
    cli, campaign_file, observations_file, write_jsonl
):
    judgments = write_jsonl([{"judge": "j1", "winner": "1", "loser": "3"},
                             {"judge": "j1", "winner": "1", "loser": "999"}],
                            name="judgments.jsonl")  # fmt: skip
    result = cli("run", "--campaign", campaign_file, "--observations", observations_file,
                 "--judgments", judgments)  # fmt: skip
    assert result.exit_code == 2
    assert f"{judgments}, line 2" in result.stderr
    assert "999" in result.stderr
