"""Publishing: what the public pages show, read from the store.

Every function takes a session and keyword arguments and returns frozen dataclasses, so a web
page and its JSON twin, a test or another shell all get the same thing: the campaign page, the
leaderboards, a creator's self-check (and the submission of a link no crawl has found), the
partners' showcase, and the winners with the audit bundle that lets anyone check them. Before the
deadline views are the counts so far; after it, the views at the deadline.
"""

from __future__ import annotations

import io
import tempfile
import zipfile
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from oyren.errors import NotFound, StoreError
from oyren.inputs.links import Lookup, parse_lookup, profile_url
from oyren.pages.snapshots import (
    CheckedVideo,
    CreatorRow,
    LeaderboardRow,
    Prize,
    ResultsCache,
    checked_videos,
    phase,
    prizes_of,
    snapshot_of,
    video_rows,
)
from oyren.rules.campaign import Campaign, Partner
from oyren.rules.results import Entry, Results
from oyren.store import (
    AwardRecord,
    JuryCertainty,
    export_bundle,
    get_campaign,
    jury_certainty,
    reads,
)
from oyren.store.db import Session
from oyren.store.keys import SigningKey, list_keys
from oyren.store.submissions import Submission, find_submission, record_submission

__all__ = [
    "BundleFile",
    "JuryNote",
    "Leaderboard",
    "Overview",
    "PartnerCard",
    "SelfCheck",
    "Showcase",
    "WinnersPage",
    "award_bundle",
    "jury_note",
    "leaderboard",
    "overview",
    "partner_showcase",
    "self_check",
    "submit_link",
    "winners",
]


@dataclass(frozen=True, slots=True)
class Overview:
    """The campaign page: the rules, where the contest stands and its numbers so far."""

    campaign: Campaign
    phase: str
    now: datetime
    seconds_to_start: int
    seconds_to_deadline: int
    videos: int
    entries: int
    creators: int
    views: int
    award: AwardRecord | None


def overview(
    session: Session, *, campaign_id: str, now: int, cache: ResultsCache | None = None
) -> Overview:
    """Return the campaign page's data."""
    snap = snapshot_of(session, campaign_id, cache)
    c, results = snap.campaign, snap.results
    eligible = results.eligible
    return Overview(
        campaign=c,
        phase=phase(c, now, snap.standings.award),
        now=c.local(now),
        seconds_to_start=max(0, c.window_start_ts - now),
        seconds_to_deadline=max(0, c.cutoff_ts - now),
        videos=len(results.entries),
        entries=len(eligible),
        creators=len(results.creators),
        views=sum(e.views_at_cutoff for e in eligible),
        award=snap.standings.award,
    )


@dataclass(frozen=True, slots=True)
class Leaderboard:
    """Both view prizes' rankings, one page of each."""

    campaign: Campaign
    phase: str
    videos: tuple[LeaderboardRow, ...]
    creators: tuple[CreatorRow, ...]
    total_videos: int
    total_creators: int
    offset: int
    limit: int
    last_observation: datetime | None
    # The discover prize as the one-prize rule settles it: its winner, and the creators ranked
    # above them who are passed over because they already hold as many prizes as one may win.
    discover_winner: str | None = None
    passed_over: tuple[str, ...] = ()


def leaderboard(
    session: Session,
    *,
    campaign_id: str,
    now: int,
    offset: int = 0,
    limit: int = 50,
    cache: ResultsCache | None = None,
) -> Leaderboard:
    """Return the eligible videos and creators by views, from rank ``offset + 1``."""
    snap = snapshot_of(session, campaign_id, cache)
    c, results = snap.campaign, snap.results
    offset, limit = max(0, offset), max(1, min(limit, 200))
    eligible = snap.eligible

    def page() -> tuple[tuple[LeaderboardRow, ...], tuple[CreatorRow, ...], int | None]:
        creators = tuple(
            CreatorRow(
                rank=offset + i + 1, username=u, views=v, videos=len(ids), url=profile_url(u)
            )
            for i, (u, v, ids) in enumerate(results.creators[offset : offset + limit])
        )
        last = reads.last_observation_at(session, campaign_id)
        videos = video_rows(session, snap, eligible[offset : offset + limit], offset + 1)
        return videos, creators, last

    # The rows depend only on the store's inputs: built once per snapshot and page.
    videos, creators, last = snap.memo(f"leaderboard:{offset}:{limit}", page)
    return Leaderboard(
        campaign=c,
        phase=phase(c, now, snap.standings.award),
        videos=videos,
        creators=creators,
        total_videos=len(eligible),
        total_creators=len(results.creators),
        offset=offset,
        limit=limit,
        last_observation=None if last is None else c.local(last),
        **_discover_note(results),
    )


def _discover_note(results: Results) -> dict[str, Any]:
    winner = results.winners.discover
    if winner is None:
        return {}
    above = []
    for username, _, _ in results.creators:
        if username.casefold() == winner.username.casefold():
            break
        above.append(username)
    return {"discover_winner": winner.username, "passed_over": tuple(above)}


@dataclass(frozen=True, slots=True)
class SelfCheck:
    """What a creator asked about and what the contest knows of it.

    ``submittable`` is True when the link names a video the store has never seen and it has not
    been submitted yet; ``submission`` is that earlier submission when it has.
    """

    campaign: Campaign
    query: str
    lookup: Lookup
    phase: str
    videos: tuple[CheckedVideo, ...]
    submission: Submission | None
    submittable: bool


def self_check(
    session: Session,
    *,
    campaign_id: str,
    query: str,
    now: int,
    cache: ResultsCache | None = None,
) -> SelfCheck:
    """Look up a pasted link or username and explain each of the creator's videos."""
    snap = snapshot_of(session, campaign_id, cache)
    lookup = parse_lookup(query)
    entries: list[Entry] = []
    if lookup.kind == "username" and lookup.username:
        entries = snap.by_username.get(lookup.username.casefold(), [])
    elif lookup.kind == "video" and lookup.video_id in snap.by_id:
        entries = [snap.by_id[lookup.video_id]]
    submission = find_submission(session, campaign_id=campaign_id, lookup=lookup)
    unseen = lookup.kind == "short_link" or (lookup.kind == "video" and not entries)
    return SelfCheck(
        campaign=snap.campaign,
        query=query.strip()[:500],
        lookup=lookup,
        phase=phase(snap.campaign, now, snap.standings.award),
        videos=checked_videos(session, snap, entries, now),
        submission=submission,
        submittable=unseen and submission is None and now <= snap.campaign.cutoff_ts,
    )


def submit_link(session: Session, *, campaign_id: str, query: str, now: int) -> Submission:
    """Record a pasted link for the next crawl (an error unless it names one TikTok video)."""
    campaign = get_campaign(session, campaign_id)
    if now > campaign.cutoff_ts:
        raise StoreError("the contest has closed: no more videos can be submitted")
    return record_submission(session, campaign_id=campaign_id, lookup=parse_lookup(query), at=now)


@dataclass(frozen=True, slots=True)
class PartnerCard:
    """A partner institution, its TikTok account, and its campaign videos and reach."""

    partner: Partner
    url: str | None
    videos: tuple[LeaderboardRow, ...]
    views: int


@dataclass(frozen=True, slots=True)
class Showcase:
    """The partners' showcase."""

    campaign: Campaign
    partners: tuple[PartnerCard, ...]
    views: int
    videos: int


def partner_showcase(
    session: Session, *, campaign_id: str, cache: ResultsCache | None = None, per_partner: int = 6
) -> Showcase:
    """Return each partner with its most-viewed campaign videos and their total views."""
    snap = snapshot_of(session, campaign_id, cache)
    cards = []
    for partner in snap.campaign.partners:
        entries = sorted(snap.by_username.get(partner.folded, []), key=lambda e: e.sort_key)
        if not partner.folded:
            entries = []
        cards.append(
            PartnerCard(
                partner=partner,
                url=profile_url(partner.username) if partner.username else None,
                videos=video_rows(session, snap, entries[:per_partner], 1),
                views=sum(e.views_at_cutoff for e in entries),
            )
        )
    cards.sort(key=lambda card: (-card.views, card.partner.name.en))
    return Showcase(
        campaign=snap.campaign,
        partners=tuple(cards),
        views=sum(card.views for card in cards),
        videos=sum(
            len(snap.by_username.get(p.folded, [])) for p in snap.campaign.partners if p.folded
        ),
    )


@dataclass(frozen=True, slots=True)
class WinnersPage:
    """The winners and how to check them: the award, the bundle digest to expect, the keys."""

    campaign: Campaign
    phase: str
    award: AwardRecord | None
    prizes: tuple[Prize, ...]
    bundle_digest: str | None  # what `oyren verify DIR --expect` should be given
    signing_keys: tuple[SigningKey, ...] = ()  # the organizer's published keys, retired too
    jury: JuryNote | None = None


@dataclass(frozen=True, slots=True)
class JuryNote:
    """How sure the jury was of the most creative prize when it was awarded.

    ``sure`` is the probability to publish as "the jury is N % sure": only when the winner is
    the jury's leader and the round's stop rule held (every entry covered, the leader and the
    runner-up seen side by side by enough jurors, the evidence against a dead heat), where the
    benchmark finds the claims honest; otherwise None, and the page gives no number.
    """

    sure: float | None
    below: bool  # awarded although the leader was below the round's threshold
    threshold: float
    jurors: int
    answers: int
    tiebreak_reason: str | None  # the winner came from the organizer's tie-break


def jury_note(certainty: JuryCertainty, winner: str | None) -> JuryNote:
    """What the winners page says about the jury's certainty in ``winner``."""
    p = certainty.progress
    by_tiebreak = p.tiebreak is not None and p.tiebreak[0] == winner
    calibrated = p.met(certainty.threshold) and p.leader == winner and not by_tiebreak
    sure = p.leader_p_best if calibrated else None
    return JuryNote(
        sure=sure,
        below=certainty.below and not by_tiebreak,
        threshold=certainty.threshold,
        jurors=p.jurors,
        answers=p.answers,
        tiebreak_reason=p.tiebreak[2] if by_tiebreak and p.tiebreak is not None else None,
    )


def winners(
    session: Session, *, campaign_id: str, now: int, cache: ResultsCache | None = None
) -> WinnersPage:
    """Return the frozen prizes and the audit bundle's digest (no prizes before the award)."""
    snap = snapshot_of(session, campaign_id, cache)
    award = snap.standings.award
    digest = None
    prizes: tuple[Prize, ...] = ()
    keys: tuple[SigningKey, ...] = ()
    note = None
    if award is not None:
        prizes = prizes_of(session, snap, snap.results)
        # The digest fixed (and signed) when the prizes were awarded; the bundle downloaded
        # from this page has it unless the bundle was tampered with on the way.
        digest = award.bundle_digest or award_bundle(session, campaign_id=campaign_id,
                                                     cache=cache).digest  # fmt: skip
        keys = tuple(list_keys(session))
        creative = snap.results.winners.most_creative
        certainty = jury_certainty(session, campaign_id=campaign_id, award=True)
        if certainty is not None and creative is not None:
            note = jury_note(certainty, creative.video_id)
    current = phase(snap.campaign, now, award)
    return WinnersPage(snap.campaign, current, award, prizes, digest, keys, note)


@dataclass(frozen=True, slots=True)
class BundleFile:
    """The award's audit bundle as one zip file, and the digest that vouches for it."""

    name: str
    digest: str
    data: bytes


def award_bundle(
    session: Session, *, campaign_id: str, cache: ResultsCache | None = None
) -> BundleFile:
    """Return the audit bundle of the award in force, zipped (the same bytes every time)."""

    snap = snapshot_of(session, campaign_id, cache)
    award = snap.standings.award
    if award is None:
        raise NotFound(f"'{campaign_id}' has no award yet: there is no bundle to publish")
    name = f"{campaign_id}-award-{award.number}"

    def build() -> BundleFile:
        with tempfile.TemporaryDirectory() as tmp:
            folder = Path(tmp) / name
            # Made at the award's own time, the bundle (and its digest) is the same every time.
            manifest = export_bundle(
                session, campaign_id=campaign_id, out=folder, created_at=award.awarded_at
            )
            buffer = io.BytesIO()
            with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
                for path in sorted(folder.iterdir()):
                    info = zipfile.ZipInfo(f"{name}/{path.name}", date_time=(2000, 1, 1, 0, 0, 0))
                    info.compress_type = zipfile.ZIP_DEFLATED
                    archive.writestr(info, path.read_bytes())
        return BundleFile(f"{name}.zip", str(manifest["digest"]), buffer.getvalue())

    return snap.memo(f"bundle:{award.number}", build)
