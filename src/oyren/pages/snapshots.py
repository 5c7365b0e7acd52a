"""Snapshots: a campaign as pages read it now, and its videos as pages show them.

Nothing here computes a campaign: the store keeps each video's verdict (:mod:`oyren.store.decided`),
so a page is a few ordered reads of those rows — one page of the ranking, the creators' ranking,
the prizes settled by the engine over their top. Once prizes are awarded, pages show the award's
frozen results instead (kept per award: they never change). The helpers turn entries into what
readers see: each video as it stood at the deadline, with links only to TikTok and every reason
explained (:mod:`oyren.rules.explain`). :mod:`oyren.pages.public`, :mod:`oyren.pages.trends` and
:mod:`oyren.pages.organizer` build their pages from them.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

import orjson

from oyren.inputs.links import profile_url, video_url
from oyren.rules.campaign import Campaign
from oyren.rules.explain import Explanation, entry_status, explain
from oyren.rules.observations import Observation
from oyren.rules.results import Entry, Results, Winners, results_from_dict
from oyren.store import AwardRecord, current_award, decided, get_campaign, reads
from oyren.store.db import Session
from oyren.store.decided import DecidedVideo, Status
from oyren.store.rows import current_award_row, parse_stored, stored_video_map

__all__ = [
    "PHASES",
    "CheckedVideo",
    "CreatorRow",
    "LeaderboardRow",
    "Prize",
    "Snapshot",
    "checked_videos",
    "metas_at_deadline",
    "phase",
    "prizes_of",
    "snapshot_of",
    "video_rows",
]

PHASES = ("upcoming", "open", "closed", "awarded")
CHUNK = 500  # ids per IN (...) list: well under every database's parameter limit


def phase(campaign: Campaign, now: int, award: AwardRecord | None) -> str:
    """Where the contest stands: ``upcoming``, ``open``, ``closed`` or ``awarded``."""
    if award is not None:
        return "awarded"
    if now < campaign.window_start_ts:
        return "upcoming"
    if now <= campaign.cutoff_ts:
        return "open"
    return "closed"


# --- The campaign as pages read it -------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Snapshot:
    """A campaign's rules, where its decided rows stand, and the award's results once frozen."""

    campaign: Campaign
    status: Status
    award: AwardRecord | None
    frozen: Results | None  # the award's results (None before prizes are awarded)

    @property
    def recomputing(self) -> bool:
        """The rules changed and the rows are being rebuilt: pages show the last complete ones."""
        return self.frozen is None and self.status.recomputing

    @property
    def progress(self) -> tuple[int, int]:
        """Videos rebuilt so far, of how many."""
        return self.status.done, self.status.total

    def videos(self, session: Session, *, offset: int = 0, limit: int = 50) -> list[DecidedVideo]:
        """Eligible videos in rank order, from rank ``offset + 1``."""
        if self.frozen is not None:
            return _shown(session, self.campaign, self.frozen.eligible[offset : offset + limit])
        return decided.video_page(
            session, self.status, self.campaign.id, offset=offset, limit=limit
        )

    def creators(
        self, session: Session, *, offset: int = 0, limit: int = 50
    ) -> list[tuple[str, int, int]]:
        """Creators in rank order: (username, views, eligible videos)."""
        if self.frozen is not None:
            return [(u, v, len(ids)) for u, v, ids in self.frozen.creators[offset : offset + limit]]
        return decided.creator_page(
            session, self.status, self.campaign.id, offset=offset, limit=limit
        )

    def counts(self, session: Session) -> decided.Counts:
        """Videos, eligible entries, creators and their views."""
        if self.frozen is not None:
            eligible = self.frozen.eligible
            return decided.Counts(
                len(self.frozen.entries),
                len(eligible),
                len(self.frozen.creators),
                sum(e.views_at_cutoff for e in eligible),
            )
        return decided.counts(session, self.status, self.campaign.id)

    def totals(self, session: Session) -> tuple[int, int]:
        """How many videos and creators the rankings hold."""
        if self.frozen is not None:
            return len(self.frozen.eligible), len(self.frozen.creators)
        return decided.ranked_totals(session, self.status, self.campaign.id)

    def entries(
        self,
        session: Session,
        *,
        username: str | None = None,
        video_ids: Sequence[str] | None = None,
    ) -> list[DecidedVideo]:
        """A creator's videos (any case), or some videos, counted or not, in rank order."""
        if self.frozen is not None:
            wanted = None if username is None else username.casefold()
            ids = None if video_ids is None else set(video_ids)
            chosen = [
                e
                for e in self.frozen.entries
                if (wanted is None or e.username.casefold() == wanted)
                and (ids is None or e.video_id in ids)
            ]
            return _shown(session, self.campaign, sorted(chosen, key=lambda e: e.sort_key))
        return decided.entries_of(
            session, self.status, self.campaign.id, username=username, video_ids=video_ids
        )

    def winners(self, session: Session) -> Winners:
        """The prizes: frozen by the award, else as the engine settles them over the rows now."""
        if self.frozen is not None:
            return self.frozen.winners
        return decided.winners(session, self.status, self.campaign)


_FROZEN: OrderedDict[tuple[str, int, str], Results] = OrderedDict()
_FROZEN_LOCK = threading.Lock()


def _frozen(session: Session, campaign_id: str, award: AwardRecord) -> Results:
    """An award's results: read once per award (they never change afterwards)."""
    key = (campaign_id, award.number, award.results_digest)
    with _FROZEN_LOCK:
        found = _FROZEN.get(key)
    if found is not None:
        return found
    row = current_award_row(session, campaign_id)
    assert row is not None
    campaign = parse_stored(row.campaign_source, campaign_id)
    results = results_from_dict(orjson.loads(row.results), tz=campaign.tz)
    with _FROZEN_LOCK:
        _FROZEN[key] = results
        while len(_FROZEN) > 4:
            _FROZEN.popitem(last=False)
    return results


def snapshot_of(session: Session, campaign_id: str) -> Snapshot:
    """The campaign as pages read it now (a few indexed reads, nothing recomputed)."""
    campaign = get_campaign(session, campaign_id)
    award = current_award(session, campaign_id=campaign_id)
    frozen = None if award is None else _frozen(session, campaign_id, award)
    return Snapshot(campaign, decided.status(session, campaign_id), award, frozen)


def _shown(session: Session, campaign: Campaign, entries: Sequence[Entry]) -> list[DecidedVideo]:
    metas = metas_at_deadline(session, campaign, (e.video_id for e in entries))
    out = []
    for e in entries:
        meta = metas.get(e.video_id)
        out.append(
            DecidedVideo(
                e,
                meta.description if meta else "",
                meta.duration_s if meta else None,
                meta.region_code if meta else None,
            )
        )
    return out


# --- Videos as shown ---------------------------------------------------------------------------


def metas_at_deadline(
    session: Session, campaign: Campaign, video_ids: Iterable[str]
) -> dict[str, Observation]:
    """Each video's metadata as it stood at the deadline (as the engine takes it)."""
    ids = list(dict.fromkeys(video_ids))
    out: dict[str, Observation] = {}
    for start in range(0, len(ids), CHUNK):
        chunk = ids[start : start + CHUNK]
        videos = stored_video_map(session, campaign.id, cutoff=campaign.cutoff_ts, video_ids=chunk)
        for video_id, video in videos.items():
            out[video_id] = video.meta
    return out


@dataclass(frozen=True, slots=True)
class LeaderboardRow:
    """One video on a leaderboard."""

    rank: int
    video_id: str
    username: str
    views: int
    posted_at: datetime
    description: str
    url: str | None
    basis: str


@dataclass(frozen=True, slots=True)
class CreatorRow:
    """One creator on the creators' leaderboard."""

    rank: int
    username: str
    views: int
    videos: int
    url: str | None


def video_rows(
    snap: Snapshot, videos: Sequence[DecidedVideo], first_rank: int
) -> tuple[LeaderboardRow, ...]:
    """Videos as a leaderboard shows them, ranked from ``first_rank``."""
    return tuple(
        LeaderboardRow(
            rank=first_rank + i,
            video_id=v.entry.video_id,
            username=v.entry.username,
            views=v.entry.views_at_cutoff,
            posted_at=snap.campaign.local(v.entry.create_time),
            description=v.description,
            url=video_url(v.entry.username, v.entry.video_id),
            basis=v.entry.views_basis,
        )
        for i, v in enumerate(videos)
    )


@dataclass(frozen=True, slots=True)
class CheckedVideo:
    """One of the creator's videos as the contest counts it, with every reason explained."""

    video_id: str
    username: str
    url: str | None
    description: str
    posted_at: datetime
    status: str
    views: int
    explanations: tuple[Explanation, ...]


def checked_videos(
    session: Session, snap: Snapshot, videos: Sequence[DecidedVideo], now: int
) -> tuple[CheckedVideo, ...]:
    """Videos as the self-check shows them: newest first, every reason explained."""
    notes = reads.exclusion_notes(session, snap.campaign.id, [v.entry.video_id for v in videos])
    out = []
    for v in sorted(videos, key=lambda v: (-v.entry.create_time, v.entry.video_id)):
        e = v.entry
        explanations = tuple(
            explain(
                reason,
                campaign=snap.campaign,
                now=now,
                create_time=e.create_time,
                duration_s=v.duration_s,
                region_code=v.region_code,
                note=notes.get(e.video_id, ""),
            )
            for reason in e.reasons
        )
        out.append(
            CheckedVideo(
                video_id=e.video_id,
                username=e.username,
                url=video_url(e.username, e.video_id),
                description=v.description,
                posted_at=snap.campaign.local(e.create_time),
                status=entry_status(e.reasons),
                views=e.views_at_cutoff,
                explanations=explanations,
            )
        )
    return tuple(out)


@dataclass(frozen=True, slots=True)
class Prize:
    """A prize as published: its category and who won it (None: nobody could)."""

    category: str
    video_id: str | None
    username: str | None
    views: int | None
    url: str | None
    description: str
    # Why nobody holds it: "jury_not_chosen" (no jury round decided it), "no_eligible" (no
    # entry takes part), "all_hold_prizes" (every eligible creator already holds their prizes).
    vacant: str = ""


def _vacant(category_id: str, eligible: int) -> str:
    if category_id == "most_creative":
        return "jury_not_chosen"
    if not eligible:
        return "no_eligible"
    return "all_hold_prizes"


def prizes_of(session: Session, snap: Snapshot, w: Winners, eligible: int) -> tuple[Prize, ...]:
    """The prizes as published, from the winners of a campaign with ``eligible`` entries."""
    ids = [x.video_id for x in (w.best_video, w.most_creative) if x is not None]
    metas = metas_at_deadline(session, snap.campaign, ids)
    prizes = []
    for category in snap.campaign.categories:
        if category.id == "best_video" and w.best_video is not None:
            b = w.best_video
            prizes.append(
                Prize(
                    category.id,
                    b.video_id,
                    b.username,
                    b.views,
                    video_url(b.username, b.video_id),
                    metas[b.video_id].description if b.video_id in metas else "",
                )
            )
        elif category.id == "discover" and w.discover is not None:
            d = w.discover
            prizes.append(
                Prize(category.id, None, d.username, d.views, profile_url(d.username), "")
            )
        elif category.id == "most_creative" and w.most_creative is not None:
            m = w.most_creative
            prizes.append(
                Prize(
                    category.id,
                    m.video_id,
                    m.username,
                    None,
                    video_url(m.username, m.video_id),
                    metas[m.video_id].description if m.video_id in metas else "",
                )
            )
        else:
            vacant = _vacant(category.id, eligible)
            prizes.append(Prize(category.id, None, None, None, None, "", vacant))
    return tuple(prizes)
