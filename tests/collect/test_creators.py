"""Creators' own entries followed through the Display API: tokens, the plan, whole campaigns."""

from __future__ import annotations

import dataclasses

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import func, select

from oyren.batch.evaluate import evaluate_observations
from oyren.collect.connectors.display import TokenRejected
from oyren.collect.connectors.login import GrantInvalid, RateLimited
from oyren.collect.creators import (
    DisplaySettings,
    MinuteLimit,
    follow_creators,
    plan_display,
    refresh_creators,
)
from oyren.collect.dbstore import DbCrawlStore
from oyren.errors import ApiUnavailable
from oyren.rules.campaign import Campaign
from oyren.rules.observations import Observation
from oyren.sandbox.api import Faults, SandboxConfig
from oyren.sandbox.login import LoginConfig, open_id_of
from oyren.sandbox.simulate import simulate
from oyren.store.creators import DbCreatorStore, TrackedCreator
from oyren.store.db import transaction
from oyren.store.models import ObservationRow
from oyren.store.rows import stored_observations
from oyren.store.tokens import TokenCipher
from tests.creatorsupport import (
    authorize,
    cipher,
    sandbox_box,
    sign_up,
    stored_refresh,
)
from tests.creatorsupport import sandbox as serve_sandbox

DAY = 86400


# Token lifecycle -------------------------------------------------------------------------------


def test_a_refused_refresh_or_a_revoked_grant_is_noticed_and_keeps_what_was_observed(
    creators_db, sandbox: Campaign
) -> None:
    key = cipher()
    with sandbox_box(sandbox) as box:
        lala = sign_up(box, creators_db, key, sandbox, "lala.learns", region="AZ")
        samir = sign_up(box, creators_db, key, sandbox, "samir.explains", region="AZ")
        store = DbCreatorStore(creators_db, key)
        with transaction(creators_db) as session:
            before = session.scalar(select(func.count()).select_from(ObservationRow))
        box.api.login.expire_refresh_tokens(open_id_of("lala.learns"))
        box.api.login.revoke_all(open_id_of("samir.explains"))
        box.clock.sleep(DAY)  # both access tokens have ended or been revoked; entries are due
        report = refresh_creators(store, box.login, box.display, sandbox, clock=box.clock)
        assert report.access_lost == {lala: "refresh_refused", samir: "refresh_refused"}
        creators = {c.creator_id: c.token_status for c in store.creators(sandbox.id)}
        assert creators == {lala: "lost", samir: "lost"}
        with transaction(creators_db) as session:
            assert session.scalar(select(func.count()).select_from(ObservationRow)) == before
        # A lost creator is no longer planned; nothing is guessed for them.
        assert plan_display(store.creators(sandbox.id), {}, now=int(box.clock.now()),
                            cutoff=sandbox.cutoff_ts).due == {}  # fmt: skip


def test_a_token_revoked_while_valid_is_refused_and_noticed(creators_db, sandbox: Campaign) -> None:
    key = cipher()
    with sandbox_box(sandbox) as box:
        code, _, verifier = authorize(box, "samir.explains")
        tokens = box.login.exchange(code, verifier)
        box.login.revoke(tokens.access_token)
        with pytest.raises(TokenRejected):
            box.display.user_info(tokens.access_token)
        with pytest.raises(GrantInvalid):
            box.login.refresh(tokens.refresh_token)
        box.login.revoke(tokens.access_token)  # revoking twice is fine
        samir = sign_up(box, creators_db, key, sandbox, "samir.explains", region="AZ")
        box.api.login.revoke_all(open_id_of("samir.explains"))
        box.clock.sleep(DAY)
        report = refresh_creators(DbCreatorStore(creators_db, key), box.login, box.display, sandbox,
                                  clock=box.clock)  # fmt: skip
        assert report.access_lost == {samir: "refresh_refused"}


def test_a_429_storm_is_waited_out_then_reported_and_the_next_cycle_goes_on(
    creators_db, sandbox: Campaign
) -> None:
    key = cipher()
    with sandbox_box(sandbox) as box:
        creator = sign_up(box, creators_db, key, sandbox, "lala.learns", region="AZ")
        store = DbCreatorStore(creators_db, key)
        box.api.config = SandboxConfig(faults=Faults(throttle=1.0))
        box.clock.sleep(DAY)
        start = box.clock.now()
        report = refresh_creators(store, box.login, box.display, sandbox, clock=box.clock)
        assert report.rate_limited and report.observations == 0
        assert box.clock.now() - start >= 1 + 2 + 4  # backed off before giving up
        assert box.api.login.stats["429"] >= 4
        box.api.config = SandboxConfig()
        report = refresh_creators(store, box.login, box.display, sandbox, clock=box.clock)
        assert not report.rate_limited and report.observations == 3
        assert store.creators(sandbox.id)[0].token_status == "active"
        assert creator in {c.creator_id for c in store.creators(sandbox.id)}
    with pytest.raises(RateLimited):
        raise RateLimited("typed")


def test_the_per_minute_limit_spaces_requests_on_the_clock(sandbox: Campaign) -> None:
    with sandbox_box(sandbox) as box:
        limit = MinuteLimit(box.clock, 3)
        start = box.clock.now()
        for _ in range(7):
            limit.wait()
        assert box.clock.now() - start >= 120  # 3 in the first minute, 3 in the second, 1 more


def test_the_server_dying_mid_refresh_loses_nothing_and_the_next_run_refreshes(
    creators_db, sandbox: Campaign
) -> None:
    key = cipher()
    with sandbox_box(sandbox) as box:
        creator = sign_up(box, creators_db, key, sandbox, "lala.learns", region="AZ")
        store = DbCreatorStore(creators_db, key)
        stored, expires = stored_refresh(creators_db, key, creator)
        box.api.login.config = LoginConfig(die_mid_refresh=1.0)
        box.clock.set(expires + DAY)  # the access token has ended and the entries are due
        with pytest.raises(ApiUnavailable):
            store.access_token(creator, now=int(box.clock.now()), refresh=box.login.refresh)
        assert stored_refresh(creators_db, key, creator)[0] == stored  # rolled back, not lost
        report = refresh_creators(store, box.login, box.display, sandbox, clock=box.clock)
        assert report.unavailable and not report.access_lost
        box.api.login.config = LoginConfig()
        report = refresh_creators(store, box.login, box.display, sandbox, clock=box.clock)
        assert report.refreshed_tokens == 1 and report.observations == 3
        assert stored_refresh(creators_db, key, creator)[0] != stored


def test_a_video_that_disappears_is_noticed_and_removed_after_repeated_misses(
    creators_db, sandbox: Campaign
) -> None:
    key = cipher()
    with sandbox_box(sandbox) as box:
        sign_up(box, creators_db, key, sandbox, "samir.explains", region="AZ")
        store = DbCreatorStore(creators_db, key)
        box.api.login.vanish("7399000000000000005", box.clock.now() + 1)
        for _ in range(3):
            box.clock.sleep(DAY)
            report = refresh_creators(store, box.login, box.display, sandbox, clock=box.clock)
            assert report.gone == ["7399000000000000005"]
        with transaction(creators_db) as session:
            from oyren.store.creators import entries_of
            from oyren.store.models import RemovalRow

            gone = [e for e in entries_of(session, sandbox.id) if e.problem == "video_gone"]
            assert [e.video_id for e in gone] == ["7399000000000000005"]
            removed = session.scalars(select(RemovalRow.video_id)).all()
            assert removed == ["7399000000000000005"]


# The plan --------------------------------------------------------------------------------------


def test_the_plan_sweeps_every_entry_just_before_and_just_after_the_deadline() -> None:
    cutoff = 10 * DAY
    creator = TrackedCreator(1, "a", "AZ", tuple(str(i) for i in range(45)), "active")
    lost = TrackedCreator(2, "b", "AZ", ("100",), "lost")
    seen = {str(i): cutoff - 3600 for i in range(45)}
    s = DisplaySettings()
    assert plan_display([creator, lost], seen, now=cutoff - 1800, cutoff=cutoff).due == {}
    before = plan_display([creator, lost], seen, now=cutoff - 300, cutoff=cutoff, settings=s)
    assert before.due == {1: creator.video_ids} and before.requests == 3  # 20 + 20 + 5
    after = plan_display([creator], {**seen, "0": cutoff + 5}, now=cutoff + 10, cutoff=cutoff)
    assert after.due == {1: creator.video_ids[1:]}
    done = plan_display([creator], {v: cutoff + 5 for v in seen}, now=cutoff + DAY, cutoff=cutoff)
    assert done.due == {}


# Whole campaigns -------------------------------------------------------------------------------


def _campaign_run(creators_db, sandbox: Campaign, *, research: bool) -> None:
    sim = simulate(sandbox, videos=80, seed=3)
    key = cipher()
    signup_at = sandbox.cutoff_ts - DAY
    with serve_sandbox(sim.videos, signup_at) as box:
        registered = {}
        for name in sorted({v.username for v in sim.videos}):
            mine = [v for v in sim.videos if v.username == name and v.create_time <= signup_at]
            if not mine:
                continue
            region = mine[0].region_code
            sign_up(box, creators_db, key, sandbox, name, region=region)
            registered.update({v.video_id: (v, region) for v in mine})
        store = DbCreatorStore(creators_db, key)
        if research:
            # A partner's Research API crawl saw the same videos at the same instants as the
            # Display API (as happens when both run in the same cycle): stored once.
            crawl = DbCrawlStore(creators_db)
            crawl.add_page(sandbox.id, [v.observe(signup_at) for v, _ in registered.values()], None)
            later = signup_at + 3 * 3600  # and again between two Display API cycles
            crawl.add_page(sandbox.id, [v.observe(later) for v, _ in registered.values()], None)
        reports = follow_creators(store, box.login, box.display, sandbox, clock=box.clock,
                                  until=sandbox.cutoff_ts + DAY)  # fmt: skip
        assert not any(r.access_lost or r.rate_limited for r in reports)
    with transaction(creators_db) as session:
        stored = list(stored_observations(session, sandbox.id))
        sources = dict(
            session.execute(
                select(ObservationRow.source, func.count()).group_by(ObservationRow.source)
            ).all()
        )
        pairs = session.execute(select(ObservationRow.video_pk, ObservationRow.collected_at)).all()
    assert len(pairs) == len(set(pairs))  # each video and instant once, whatever the source
    assert set(sources) == ({"display_api", "research_api"} if research else {"display_api"})
    got = evaluate_observations(sandbox, stored, screen=False)
    truth = evaluate_observations(
        sandbox,
        [_as_display(v.observe(sandbox.cutoff_ts), region) for v, region in registered.values()],
        screen=False,
    )
    assert got.winners == truth.winners
    eligible = [e for e in got.entries if e.eligible]
    assert len(eligible) > 30
    assert {e.views_basis for e in eligible} <= {"observed", "interpolated"}
    assert max(e.gap_s or 0 for e in eligible) <= 700


def _as_display(o: Observation, region: str) -> Observation:
    """The truth at the deadline as the Display API shows it: the caption cut at 150 characters,
    hashtags read from it, the country the creator stated."""
    caption = o.description[:150]
    tags = tuple(t for t in o.hashtags if "#" + t in caption)
    return dataclasses.replace(o, region_code=region, description=caption, hashtags=tags)


@pytest.mark.slow
def test_a_campaign_fed_by_creators_only_reaches_the_true_prizes(
    creators_db, sandbox: Campaign
) -> None:
    _campaign_run(creators_db, sandbox, research=False)


@pytest.mark.slow
def test_a_campaign_fed_by_both_sources_counts_each_observation_once(
    creators_db, sandbox: Campaign
) -> None:
    _campaign_run(creators_db, sandbox, research=True)


def test_the_cli_rotates_the_token_key(creators_db, sandbox: Campaign, monkeypatch) -> None:
    from click.testing import CliRunner

    from oyren.cli import cli

    old = Fernet.generate_key().decode()
    with sandbox_box(sandbox) as box:
        creator = sign_up(box, creators_db, TokenCipher([old]), sandbox, "lala.learns", region="AZ")
    token, _ = stored_refresh(creators_db, TokenCipher([old]), creator)
    new = Fernet.generate_key().decode()
    monkeypatch.setenv("OYREN_DATABASE_URL", str(creators_db.url))
    monkeypatch.setenv("TIKTOK_TOKEN_KEYS", f"{new},{old}")
    result = CliRunner().invoke(cli, ["creators", "rotate-keys"])
    assert result.exit_code == 0, result.output
    assert stored_refresh(creators_db, TokenCipher([new]), creator)[0] == token
    monkeypatch.setenv("TIKTOK_TOKEN_KEYS", "")
    result = CliRunner().invoke(cli, ["creators", "rotate-keys"])
    assert result.exit_code != 0 and "TIKTOK_TOKEN_KEYS" in result.output


def test_the_cli_runs_a_refresh_cycle_over_http(
    creators_db, sandbox: Campaign, monkeypatch
) -> None:
    from click.testing import CliRunner

    from oyren.cli import cli
    from oyren.sandbox.login import SANDBOX_LOGIN_KEY, SANDBOX_LOGIN_SECRET
    from oyren.sandbox.server import serve

    key = Fernet.generate_key().decode()
    with sandbox_box(sandbox) as box:
        sign_up(box, creators_db, TokenCipher([key]), sandbox, "samir.explains", region="AZ")
        box.clock.sleep(DAY)
        with transaction(creators_db) as session:
            before = session.scalar(select(func.count()).select_from(ObservationRow))
        with serve(box.api) as url:
            for name, value in {
                "OYREN_DATABASE_URL": str(creators_db.url),
                "OYREN_TIKTOK_API_BASE": url,
                "TIKTOK_LOGIN_CLIENT_KEY": SANDBOX_LOGIN_KEY,
                "TIKTOK_LOGIN_CLIENT_SECRET": SANDBOX_LOGIN_SECRET,
                "TIKTOK_TOKEN_KEYS": key,
            }.items():
                monkeypatch.setenv(name, value)
            result = CliRunner().invoke(cli, ["creators", "refresh", "--campaign", sandbox.id])
    assert result.exit_code == 0, result.output
    assert "1 creators, 1 requests, 2 new observations" in result.output
    with transaction(creators_db) as session:
        assert session.scalar(select(func.count()).select_from(ObservationRow)) == before + 2
