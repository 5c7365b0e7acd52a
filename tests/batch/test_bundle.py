"""Audit bundles: written deterministically, verified from the files alone, any edit caught."""

from __future__ import annotations

import hashlib
import random
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from oyren.batch.bundle import FILES, BundleContents, manifest_digest, verify_bundle, write_bundle
from oyren.batch.evaluate import evaluate_observations
from oyren.errors import BundleError
from oyren.inputs.judgments import Judgment
from oyren.inputs.observations import observation_from_record, observation_to_record
from oyren.inputs.removals import Removal, removed_ids
from oyren.jury.model import jury_picks
from oyren.rules.campaign import Campaign, load_campaign
from oyren.rules.decisions import Decision, latest_decisions
from oyren.rules.observations import Observation
from oyren.rules.results import results_json


def contents(
    campaign: Campaign,
    observations: list[Observation],
    decisions: list[Decision] = (),  # type: ignore[assignment]
    removals: list[Removal] = (),  # type: ignore[assignment]
    judgments: list[Judgment] | None = None,
) -> BundleContents:
    judged = {e for j in judgments or () for e in j.entries}
    results = evaluate_observations(
        campaign,
        observations,
        decisions=latest_decisions(decisions),
        removed=removed_ids(removals),
        jury=jury_picks(judgments, judged) if judgments else (),
    )
    return BundleContents(
        campaign=campaign,
        observations=observations,
        decisions=list(decisions),
        removals=list(removals),
        results=results_json(results),
        judgments=None
        if judgments is None
        else b"".join(
            orjson.dumps({"judge": j.judge, "winner": j.entries[0], "loser": j.entries[1]}) + b"\n"
            for j in judgments
        ),
    )


@pytest.fixture
def bundle(tmp_path: Path, campaign: Campaign, make_obs: Callable[..., Observation]) -> Path:
    """A bundle with three videos, a decision, a removal and judgments."""
    at = campaign.cutoff_ts
    observations = [
        make_obs(id=1, view_count=900),
        make_obs(id=1, view_count=1500, collected_at=at + 7200),
        make_obs(id=2, username="nigar", view_count=2000),
        make_obs(id=3, username="leyla", view_count=4000),
    ]
    decisions = [Decision("2", "exclude", "re-upload of another creator's video", "aysel", at)]
    removals = [Removal("3", "deleted by the creator", at + 86400, "crawler")]
    out = tmp_path / "bundle"
    judgments = [Judgment.pair("j1", "1", "2"), Judgment.pair("j2", "1", "3")]
    write_bundle(contents(campaign, observations, decisions, removals, judgments), out)
    return out


def test_verify_untouched_bundle_ok(bundle: Path) -> None:
    verification = verify_bundle(bundle)
    manifest = orjson.loads((bundle / "manifest.json").read_bytes())
    assert (verification.problems, verification.digest) == ((), manifest["digest"])
    assert sorted(p.name for p in bundle.iterdir()) == sorted([*FILES, "manifest.json"])


@pytest.mark.parametrize("name", [*FILES, "manifest.json"])
def test_verify_any_edited_file_fails(bundle: Path, name: str) -> None:
    path = bundle / name
    path.write_bytes(path.read_bytes() + b"\n")
    assert verify_bundle(bundle).problems != ()


@pytest.mark.parametrize(
    ("key", "value"), [("software", "oyren 9.9"), ("campaign", "other"), ("digest", "0" * 64)]
)
def test_verify_edited_manifest_value_fails(bundle: Path, key: str, value: str) -> None:
    path = bundle / "manifest.json"
    manifest = orjson.loads(path.read_bytes())
    manifest[key] = value
    path.write_bytes(
        orjson.dumps(manifest, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS) + b"\n"
    )
    assert any("manifest.json" in p for p in verify_bundle(bundle).problems)


def forge(bundle: Path, name: str, data: bytes) -> None:
    """Replace a file and re-sign the manifest, as a forger who knows the format would."""
    (bundle / name).write_bytes(data)
    path = bundle / "manifest.json"
    manifest = orjson.loads(path.read_bytes())
    manifest["files"][name] = hashlib.sha256(data).hexdigest()
    manifest["digest"] = manifest_digest(manifest)
    path.write_bytes(
        orjson.dumps(manifest, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS) + b"\n"
    )


def test_verify_forged_winner_fails_on_recomputation(bundle: Path) -> None:
    results = orjson.loads((bundle / "results.json").read_bytes())
    results["winners"]["best_video"]["views"] += 1
    forge(bundle, "results.json", orjson.dumps(results, option=orjson.OPT_INDENT_2) + b"\n")
    assert verify_bundle(bundle).problems == (
        "results.json: winners.best_video.views: published 1101, recomputed 1100",
    )


def test_verify_dropped_decision_fails_on_recomputation(bundle: Path) -> None:
    forge(bundle, "decisions.jsonl", b"")
    problems = verify_bundle(bundle).problems
    assert 'results.json: winners.best_video.video_id: published "1", recomputed "2"' in problems


def test_verify_added_file_fails(bundle: Path) -> None:
    (bundle / "notes.txt").write_text("trust me")
    assert verify_bundle(bundle).problems == (
        "notes.txt: not listed in manifest.json (added after the bundle was made?)",
    )


@pytest.mark.parametrize("name", ["observations.jsonl", "manifest.json"])
def test_verify_missing_file_fails(bundle: Path, name: str) -> None:
    (bundle / name).unlink()
    assert verify_bundle(bundle).problems != ()


def test_verify_not_a_folder_is_bundle_error(tmp_path: Path) -> None:
    with pytest.raises(BundleError, match="not a folder"):
        verify_bundle(tmp_path / "absent")


def test_write_bundle_refuses_non_empty_folder(
    bundle: Path, campaign: Campaign, make_obs: Callable[..., Observation]
) -> None:
    with pytest.raises(BundleError, match="not an empty folder"):
        write_bundle(contents(campaign, [make_obs()]), bundle)


def test_bundle_rules_digest_names_the_file_bytes(
    tmp_path: Path, campaign_file: Path, make_obs: Callable[..., Observation]
) -> None:
    crlf = tmp_path / "campaign.toml"
    crlf.write_bytes(campaign_file.read_bytes().replace(b"\n", b"\r\n"))
    campaign = load_campaign(crlf)
    write_bundle(contents(campaign, [make_obs()]), tmp_path / "bundle")
    assert (tmp_path / "bundle" / "campaign.toml").read_bytes() == crlf.read_bytes()
    assert campaign.digest == hashlib.sha256(crlf.read_bytes()).hexdigest()


def test_bundle_same_instant_sightings_any_order_same_results(
    campaign: Campaign, make_obs: Callable[..., Observation]
) -> None:
    # Two sightings at one instant that differ only in region: which is "the video at the
    # deadline" must not depend on which line came first.
    a, b = make_obs(id=1, region_code="AZ"), make_obs(id=1, region_code="TR")
    assert results_json(evaluate_observations(campaign, [a, b])) == results_json(
        evaluate_observations(campaign, [b, a])
    )


# --- Round trips of arbitrary observations through a bundle ---

texts = st.text(
    st.characters(codec="utf-8", exclude_categories=("Cs",), exclude_characters="\x00"),
    max_size=12,
)  # NUL is refused in texts (usernames aside): docs/security.md
records = st.fixed_dictionaries(
    {
        "id": st.sampled_from(["1", "2", "10", "007", "18446744073709551615"]),
        "username": st.sampled_from(["aysel", "Aysel", "nigar", "=cmd()"]),
        "create_time": st.integers(1_708_000_000, 1_714_000_000),
        "view_count": st.integers(0, 10**6),
        "collected_at": st.integers(1_714_000_000, 1_714_100_000),
    },
    optional={
        "region_code": st.sampled_from(["AZ", "tr", " ", ""]),
        "video_description": texts.map(lambda t: t + " #TikTokdanOyren"),
        "hashtag_names": st.lists(st.sampled_from(["# #TikTokdanÖyrən", " elm ", "##", "#a b"])),
        "video_duration": st.integers(0, 120),
        "like_count": st.integers(0, 100),
        "music_id": st.sampled_from(["1", " 2 ", ""]),
        "voice_to_text": texts,
    },
)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.lists(records, min_size=1, max_size=12), st.randoms(use_true_random=False))
def test_bundle_round_trip_verifies(
    tmp_path_factory: pytest.TempPathFactory,
    campaign: Campaign,
    items: list[dict[str, Any]],
    rng: random.Random,
) -> None:
    observations = [observation_from_record(r) for r in items]
    assert [observation_from_record(observation_to_record(o)) for o in observations] == observations
    shuffled = rng.sample(observations, len(observations))
    out = tmp_path_factory.mktemp("bundle") / "b"
    write_bundle(contents(campaign, shuffled), out)
    assert verify_bundle(out).problems == ()
    again = tmp_path_factory.mktemp("bundle") / "b"
    write_bundle(contents(campaign, observations), again)
    assert (out / "observations.jsonl").read_bytes() == (again / "observations.jsonl").read_bytes()


def test_verify_recomputes_the_jury_prize_from_the_judgments(
    tmp_path: Path, campaign: Campaign, make_obs: Callable[..., Observation]
) -> None:
    observations = [
        make_obs(id=n, username=f"creator{n}", view_count=1000 * n) for n in (1, 2, 3, 4)
    ]
    judgments = [Judgment.pair(j, "2", other) for j in ("j1", "j2") for other in ("1", "3", "4")]
    out = tmp_path / "bundle"
    write_bundle(contents(campaign, observations, judgments=judgments), out)
    published = orjson.loads((out / "results.json").read_bytes())
    assert published["winners"]["most_creative"]["video_id"] == "2"
    assert verify_bundle(out).ok
    swapped = b"".join(
        orjson.dumps({"judge": j, "winner": "1", "loser": other}) + b"\n"
        for j in ("j1", "j2")
        for other in ("2", "3", "4")
    )
    forge(out, "judgments.jsonl", swapped)
    problems = verify_bundle(out).problems
    assert problems[0].startswith("results.json: winners.most_creative")
