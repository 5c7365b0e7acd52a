"""Snapshots: a campaign's standings at one state of the store, and its videos as pages show them.

The standings (:func:`oyren.store.standings`: the engine's verdicts, frozen once prizes are
awarded) depend only on the stored inputs, so :class:`ResultsCache` keeps them until a new
observation, decision, removal, award or version of the rules is stored. The helpers here turn
entries into what readers see: each video as it stood at the deadline (its description then, see
:mod:`oyren.rules.videos`), with links only to TikTok and every reason explained
(:mod:`oyren.rules.explain`). :mod:`oyren.pages.public`, :mod:`oyren.pages.trends` and
:mod:`oyren.pages.organizer`
build their pages from them.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TypeVar, cast

from oyren.inputs.links import profile_url, video_url
from oyren.rules.campaign import Campaign
from oyren.rules.explain import Explanation, entry_status, explain
from oyren.rules.observations import Observation
from oyren.rules.results import Entry, Results
from oyren.rules.videos import collect_videos
from oyren.store import AwardRecord, Standings, get_campaign, reads, standings
from oyren.store.db import Session
from oyren.store.rows import stored_observations

__all__ = [
    "PHASES",
    "CheckedVideo",
    "CreatorRow",
    "LeaderboardRow",
    "Prize",
    "ResultsCache",
    "Snapshot",
    "checked_videos",
    "metas_at_deadline",
    "phase",
    "prizes_of",
    "snapshot_of",
    "video_rows",
]

PHASES = ("upcoming", "open", "closed", "awarded")
T = TypeVar("T")
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


# --- The cache ---------------------------------------------------------------------------------


@dataclass(slots=True)
class Snapshot:
    """A campaign's standings at one state of the store, with indexes the pages need."""

    campaign: Campaign
    standings: Standings
    eligible: tuple[Entry, ...]
    by_id: dict[str, Entry]
    by_username: dict[str, list[Entry]]
    lock: threading.Lock = field(default_factory=threading.Lock)
    derived: dict[str, object] = field(default_factory=dict)

    @property
    def results(self) -> Results:
        """The results (frozen by the award, when there is one)."""
        return self.standings.results

    def memo(self, key: str, compute: Callable[[], T]) -> T:
        """Return what ``compute`` gives for ``key``, computed once per snapshot.

        Anything derived only from the store's inputs (page rows, chart series, the bundle)
        stays valid exactly as long as the snapshot does.
        """
        with self.lock:
            if key in self.derived:
                return cast(T, self.derived[key])
        value = compute()  # outside the lock: two requests may both compute; both agree
        with self.lock:
            return cast(T, self.derived.setdefault(key, value))


class ResultsCache:
    """Standings per campaign, recomputed only when the store's inputs have changed."""

    def __init__(self, size: int = 8) -> None:
        self._size = size
        self._items: OrderedDict[tuple[str, tuple[object, ...]], Snapshot] = OrderedDict()
        self._lock = threading.Lock()
        self._building = threading.Lock()

    def snapshot(self, session: Session, campaign_id: str) -> Snapshot:
        """The campaign's current :class:`Snapshot`."""
        key = (campaign_id, reads.watermark(session, campaign_id))
        found = self._get(key)
        if found is not None:
            return found
        # One build at a time: a burst of requests after a change waits for one computation
        # instead of running the engine once per request.
        with self._building:
            found = self._get(key)
            if found is not None:
                return found
            snap = _build(session, campaign_id)
            with self._lock:
                self._items[key] = snap
                while len(self._items) > self._size:
                    self._items.popitem(last=False)
        return snap

    def _get(self, key: tuple[str, tuple[object, ...]]) -> Snapshot | None:
        with self._lock:
            found = self._items.get(key)
            if found is not None:
                self._items.move_to_end(key)
            return found


def _build(session: Session, campaign_id: str) -> Snapshot:
    campaign = get_campaign(session, campaign_id)
    result = standings(session, campaign_id=campaign_id)
    by_username: dict[str, list[Entry]] = {}
    for entry in result.results.entries:
        by_username.setdefault(entry.username.casefold(), []).append(entry)
    return Snapshot(
        campaign=campaign,
        standings=result,
        eligible=result.results.eligible,
        by_id={e.video_id: e for e in result.results.entries},
        by_username=by_username,
    )


def snapshot_of(session: Session, campaign_id: str, cache: ResultsCache | None) -> Snapshot:
    return (cache or ResultsCache(1)).snapshot(session, campaign_id)


# --- Videos as shown ---------------------------------------------------------------------------


def metas_at_deadline(
    session: Session, campaign: Campaign, video_ids: Iterable[str]
) -> dict[str, Observation]:
    """Each video's metadata as it stood at the deadline (as the engine takes it)."""
    ids = list(dict.fromkeys(video_ids))
    out: dict[str, Observation] = {}
    for start in range(0, len(ids), CHUNK):
        chunk = ids[start : start + CHUNK]
        observations = stored_observations(session, campaign.id, video_ids=chunk)
        for video_id, video in collect_videos(observations, cutoff=campaign.cutoff_ts).items():
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
    session: Session, snap: Snapshot, entries: Sequence[Entry], first_rank: int
) -> tuple[LeaderboardRow, ...]:
    metas = metas_at_deadline(session, snap.campaign, (e.video_id for e in entries))
    return tuple(
        LeaderboardRow(
            rank=first_rank + i,
            video_id=e.video_id,
            username=e.username,
            views=e.views_at_cutoff,
            posted_at=snap.campaign.local(e.create_time),
            description=metas[e.video_id].description if e.video_id in metas else "",
            url=video_url(e.username, e.video_id),
            basis=e.views_basis,
        )
        for i, e in enumerate(entries)
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
    session: Session, snap: Snapshot, entries: Sequence[Entry], now: int
) -> tuple[CheckedVideo, ...]:
    ids = [e.video_id for e in entries]
    metas = metas_at_deadline(session, snap.campaign, ids)
    notes = reads.exclusion_notes(session, snap.campaign.id, ids)
    out = []
    for e in sorted(entries, key=lambda e: (-e.create_time, e.video_id)):
        meta = metas.get(e.video_id)
        explanations = tuple(
            explain(
                reason,
                campaign=snap.campaign,
                now=now,
                create_time=e.create_time,
                duration_s=meta.duration_s if meta else None,
                region_code=meta.region_code if meta else None,
                note=notes.get(e.video_id, ""),
            )
            for reason in e.reasons
        )
        out.append(
            CheckedVideo(
                video_id=e.video_id,
                username=e.username,
                url=video_url(e.username, e.video_id),
                description=meta.description if meta else "",
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


def _vacant(category_id: str, results: Results) -> str:
    if category_id == "most_creative":
        return "jury_not_chosen"
    if not results.eligible:
        return "no_eligible"
    return "all_hold_prizes"


def prizes_of(session: Session, snap: Snapshot, results: Results) -> tuple[Prize, ...]:
    w = results.winners
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
            vacant = _vacant(category.id, results)
            prizes.append(Prize(category.id, None, None, None, None, "", vacant))
    return tuple(prizes)
