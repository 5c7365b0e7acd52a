"""One-shot runs over files: the inputs read, named when bad, and decided like the store does."""

from __future__ import annotations

import re

import pytest

from oyren.batch.evaluate import decide
from oyren.batch.runs import RunInputs, run_files
from oyren.errors import InputError
from oyren.inputs.grouping import read_videos
from oyren.inputs.judgments import Judgment
from oyren.inputs.observations import SkipReport, read_observations
from oyren.inputs.removals import Removal
from oyren.rules.decisions import Decision
from oyren.rules.results import results_json


@pytest.fixture
def observations(campaign, make_record, write_jsonl):
    cut = campaign.cutoff_ts
    return write_jsonl(
        [
            make_record(id=1, username="a", view_count=900, collected_at=cut),
            make_record(id=2, username="b", view_count=500, collected_at=cut),
            make_record(id=3, username="c", view_count=100, collected_at=cut),
        ]
    )


def test_run_files_with_observations_alone(campaign, observations):
    results = run_files(campaign, RunInputs(observations))
    assert [e.video_id for e in results.eligible] == ["1", "2", "3"]
    assert results.winners.best_video.video_id == "1"
    assert results.winners.most_creative is None


def test_run_files_reads_every_input_and_decides_like_decide(campaign, observations, write_jsonl):
    decisions = write_jsonl(
        [{"video_id": "1", "action": "exclude", "reason": "bought views", "at": 1713000000}],
        name="decisions.jsonl",
    )
    removed = write_jsonl(
        [{"video_id": "2", "reason": "deleted", "at": 1714000000}], name="removed.jsonl"
    )
    judgments = write_jsonl(
        [{"judge": j, "winner": "3", "loser": "2"} for j in ("j1", "j2")], name="judgments.jsonl"
    )
    results = run_files(campaign, RunInputs(observations, decisions, removed, judgments))
    assert {e.video_id: e.reasons for e in results.entries if not e.eligible} == {
        "1": ("excluded_by_moderator",),
        "2": ("removed",),
    }
    assert results.winners.best_video.video_id == "3"
    videos = read_videos(read_observations(observations), cutoff=campaign.cutoff_ts)
    by_hand = decide(
        campaign,
        videos,
        decisions=[Decision("1", "exclude", "bought views", "unknown", 1713000000)],
        removals=[Removal("2", "deleted", 1714000000)],
        judgments=[Judgment(j, "pair", ("3", "2")) for j in ("j1", "j2")],
    )
    assert results_json(results) == results_json(by_hand)


def test_run_files_screen_off_gives_the_same_winners(campaign, observations):
    on = run_files(campaign, RunInputs(observations))
    off = run_files(campaign, RunInputs(observations), screen=False)
    assert on.winners == off.winners
    assert results_json(off) == results_json(
        run_files(campaign, RunInputs(observations), screen=False)
    )


def test_run_files_bad_observation_line_names_file_and_line(campaign, write_jsonl, make_record):
    path = write_jsonl([make_record(id=1), '{"id": 2, "view_count": "lots"}', "not json"])
    with pytest.raises(InputError, match=rf"{re.escape(str(path))}, line 2"):
        run_files(campaign, RunInputs(path))
    skip = SkipReport()
    results = run_files(campaign, RunInputs(path), skip=skip)
    assert [e.video_id for e in results.entries] == ["1"]
    assert skip.count == 2


def test_run_files_judgment_of_an_unknown_video_names_its_line(campaign, observations, write_jsonl):
    judgments = write_jsonl(
        [
            {"judge": "j1", "winner": "1", "loser": "3"},
            {"judge": "j1", "winner": "1", "loser": "999"},
        ],
        name="judgments.jsonl",
    )
    with pytest.raises(InputError, match=rf"{re.escape(str(judgments))}, line 2.*999"):
        run_files(campaign, RunInputs(observations, judgments=judgments))


def test_run_files_missing_and_hostile_files_are_input_errors(campaign, observations, tmp_path):
    with pytest.raises(InputError, match=r"missing\.jsonl"):
        run_files(campaign, RunInputs(tmp_path / "missing.jsonl"))
    hostile = tmp_path / "decisions.jsonl"
    hostile.write_bytes(b'{"video_id": "1", "action": "exclude", "reason": "\x00"}\n\xff\xfe\n')
    with pytest.raises(InputError, match=r"decisions\.jsonl, line 1"):
        run_files(campaign, RunInputs(observations, decisions=hostile))


@pytest.mark.parametrize(
    ("options", "wanted"),
    [(["--no-screen"], []), ([], ["numpy", "pyarrow"])],
)
def test_oyren_run_on_duckdb_loads_only_the_libraries_it_needs(
    campaign_file, observations, options, wanted
):
    """``oyren run --no-screen`` on DuckDB imports neither numpy, pyarrow nor sqlglot (screening
    and the other engines' SQL need them): they would cost a fifth of a second and 40 MiB. With
    screening, numpy and pyarrow load, and sqlglot still does not (0.15 s and 16 MiB)."""
    import subprocess
    import sys

    code = (
        "import sys\n"
        "from oyren.cli import main\n"
        f"sys.argv = ['oyren', 'run', '--campaign', {str(campaign_file)!r},"
        f" '--observations', {str(observations)!r}, '--format', 'json', *{options!r}]\n"
        "try:\n"
        "    main()\n"
        "except SystemExit as stop:\n"
        "    assert not stop.code, stop.code\n"
        "loaded = [m for m in ('numpy', 'pyarrow', 'sqlglot') if m in sys.modules]\n"
        "print('loaded:', *loaded, file=sys.stderr)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert '"video_id": "1"' in out.stdout
    assert out.stderr.splitlines()[-1].split() == ["loaded:", *wanted]
