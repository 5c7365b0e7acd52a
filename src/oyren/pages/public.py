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
import threading
import zipfile
from collections import OrderedDict
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
    Snapshot,
    checked_videos,
    phase,
    prizes_of,
    snapshot_of,
    video_rows,
)
from oyren.rules.campaign import Campaign, Partner
from oyren.store import (
    AwardRecord,
    JuryCertainty,
    current_award,
    export_bundle,
    get_campaign,
    jury_certainty,
)
from oyren.store.db import Session
from oyren.store.decided import DecidedVideo
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
    # The rules changed and the verdicts are being recomputed: the numbers are the last
    # complete ones, and ``progress`` is (videos done, of how many).
    recomputing: bool = False
    progress: tuple[int, int] = (0, 0)


def overview(session: Session, *, campaign_id: str, now: int) -> Overview:
    """Return the campaign page's data."""
    snap = snapshot_of(session, campaign_id)
    c = snap.campaign
    counts = snap.counts(session)
    return Overview(
        campaign=c,
        phase=phase(c, now, snap.award),
        now=c.local(now),
        seconds_to_start=max(0, c.window_start_ts - now),
        seconds_to_deadline=max(0, c.cutoff_ts - now),
        videos=counts.videos,
        entries=counts.entries,
        creators=counts.creators,
        views=counts.views,
        award=snap.award,
        recomputing=snap.recomputing,
        progress=snap.progress,
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
    recomputing: bool = False  # see Overview
    progress: tuple[int, int] = (0, 0)


def leaderboard(
    session: Session,
    *,
    campaign_id: str,
    now: int,
    offset: int = 0,
    limit: int = 50,
) -> Leaderboard:
    """Return the eligible videos and creators by views, from rank ``offset + 1``."""
    snap = snapshot_of(session, campaign_id)
    c = snap.campaign
    offset, limit = max(0, offset), max(1, min(limit, 200))
    page = snap.creators(session, offset=offset, limit=limit)
    creators = tuple(
        CreatorRow(rank=offset + i + 1, username=u, views=v, videos=n, url=profile_url(u))
        for i, (u, v, n) in enumerate(page)
    )
    videos = video_rows(snap, snap.videos(session, offset=offset, limit=limit), offset + 1)
    last = snap.status.last_observation_at
    total_videos, total_creators = snap.totals(session)
    return Leaderboard(
        campaign=c,
        phase=phase(c, now, snap.award),
        videos=videos,
        creators=creators,
        total_videos=total_videos,
        total_creators=total_creators,
        offset=offset,
        limit=limit,
        last_observation=None if last is None else c.local(last),
        recomputing=snap.recomputing,
        progress=snap.progress,
        **_discover_note(session, snap, page if offset == 0 else None),
    )


def _discover_note(
    session: Session, snap: Snapshot, first: list[tuple[str, int, int]] | None
) -> dict[str, Any]:
    winner = snap.winners(session).discover
    if winner is None:
        return {}
    above = []
    # The winner is among the first creators: only those holding as many prizes as one may win
    # are passed over, and there are fewer such creators than prizes. ``first``: the first
    # page of creators, when the page shown is the first one.
    needed = len(snap.campaign.categories) + 1
    if first is None or len(first) < needed:
        first = snap.creators(session, offset=0, limit=needed)
    for username, _, _ in first[:needed]:
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
) -> SelfCheck:
    """Look up a pasted link or username and explain each of the creator's videos."""
    snap = snapshot_of(session, campaign_id)
    lookup = parse_lookup(query)
    entries: list[DecidedVideo] = []
    if lookup.kind == "username" and lookup.username:
        entries = snap.entries(session, username=lookup.username)
    elif lookup.kind == "video" and lookup.video_id:
        entries = snap.entries(session, video_ids=[lookup.video_id])
    submission = find_submission(session, campaign_id=campaign_id, lookup=lookup)
    unseen = lookup.kind == "short_link" or (lookup.kind == "video" and not entries)
    return SelfCheck(
        campaign=snap.campaign,
        query=query.strip()[:500],
        lookup=lookup,
        phase=phase(snap.campaign, now, snap.award),
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


def partner_showcase(session: Session, *, campaign_id: str, per_partner: int = 6) -> Showcase:
    """Return each partner with its most-viewed campaign videos and their total views."""
    snap = snapshot_of(session, campaign_id)
    cards = []
    videos = 0
    for partner in snap.campaign.partners:
        entries = snap.entries(session, username=partner.folded) if partner.folded else []
        videos += len(entries)
        cards.append(
            PartnerCard(
                partner=partner,
                url=profile_url(partner.username) if partner.username else None,
                videos=video_rows(snap, entries[:per_partner], 1),
                views=sum(v.entry.views_at_cutoff for v in entries),
            )
        )
    cards.sort(key=lambda card: (-card.views, card.partner.name.en))
    return Showcase(
        campaign=snap.campaign,
        partners=tuple(cards),
        views=sum(card.views for card in cards),
        videos=videos,
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


def winners(session: Session, *, campaign_id: str, now: int) -> WinnersPage:
    """Return the frozen prizes and the audit bundle's digest (no prizes before the award)."""
    snap = snapshot_of(session, campaign_id)
    award = snap.award
    digest = None
    prizes: tuple[Prize, ...] = ()
    keys: tuple[SigningKey, ...] = ()
    note = None
    if award is not None and snap.frozen is not None:
        prizes = prizes_of(session, snap, snap.frozen.winners, len(snap.frozen.eligible))
        # The digest fixed (and signed) when the prizes were awarded; the bundle downloaded
        # from this page has it unless the bundle was tampered with on the way.
        digest = award.bundle_digest or award_bundle(session, campaign_id=campaign_id).digest
        keys = tuple(list_keys(session))
        creative = snap.frozen.winners.most_creative
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


def award_bundle(session: Session, *, campaign_id: str) -> BundleFile:
    """Return the audit bundle of the award in force, zipped (the same bytes every time)."""

    award = current_award(session, campaign_id=campaign_id)
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

    # What names the bundle's content: the award's results, time, actor and fixed digest.
    key = (campaign_id, award.number, award.results_digest, award.awarded_at, award.by,
           award.bundle_digest or "")  # fmt: skip
    with _BUNDLES_LOCK:
        found = _BUNDLES.get(key)
    if found is None:
        found = build()  # an award's bundle never changes: built once per award and process
        with _BUNDLES_LOCK:
            _BUNDLES[key] = found
            while len(_BUNDLES) > 4:
                _BUNDLES.popitem(last=False)
    return found


_BUNDLES: OrderedDict[tuple[str, int, str, int, str, str], BundleFile] = OrderedDict()
_BUNDLES_LOCK = threading.Lock()
