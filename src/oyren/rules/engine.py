"""The rules engine: campaign, videos and decisions in; entries and winners out. No I/O.

The same function serves a one-shot ``oyren run`` over files and the database-backed workflow,
so a result computed from a store and one recomputed from an audit bundle agree by construction.
"""

from __future__ import annotations

import gc
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Protocol

from oyren.rules.awards import JuryPick, creator_totals, settle
from oyren.rules.campaign import Campaign
from oyren.rules.decisions import Decision
from oyren.rules.eligibility import RuleSet, decide
from oyren.rules.observations import Observation
from oyren.rules.results import Entry, Flag, Results
from oyren.rules.videos import Video, collect_videos
from oyren.rules.views import views_at

__all__ = [
    "Screener",
    "collector_paused",
    "evaluate",
    "evaluate_observations",
    "judge",
    "settle_entries",
]


class Screener(Protocol):
    """What screening adds to the entries: flags for people to weigh and a guess of the topic.

    The engine takes one from outside (:mod:`oyren.screening` builds it) so that the rules stay
    free of it: screening never changes eligibility, views or prizes.
    """

    def flags(self, videos: Sequence[Video]) -> Mapping[str, tuple[Flag, ...]]:
        """Flags raised on the campaign's videos, by video id."""
        ...

    def topic(self, meta: Observation) -> tuple[str | None, float | None]:
        """The video's topic and the confidence of that guess."""
        ...


def evaluate(
    campaign: Campaign,
    videos: Iterable[Video],
    *,
    decisions: Mapping[str, Decision] | None = None,
    removed: frozenset[str] = frozenset(),
    jury: Sequence[JuryPick] = (),
    screener: Screener | None = None,
) -> Results:
    """Decide every video and settle the prizes; a ``screener`` adds integrity flags and topics.

    Screening only informs moderators and the public charts: it never changes eligibility,
    views or prizes, so no screener settles the same prizes faster.
    """
    with collector_paused():
        return _evaluate(
            campaign, videos, decisions=decisions, removed=removed, jury=jury, screener=screener
        )


def _evaluate(
    campaign: Campaign,
    videos: Iterable[Video],
    *,
    decisions: Mapping[str, Decision] | None,
    removed: frozenset[str],
    jury: Sequence[JuryPick],
    screener: Screener | None,
) -> Results:
    rules = RuleSet.of(campaign)
    decisions = decisions or {}
    screened = list(videos)
    flags = screener.flags(screened) if screener is not None else {}
    entries = []
    for video in screened:
        video_id = video.meta.video_id
        topic = screener.topic(video.meta) if screener is not None else (None, None)
        entry = judge(video, rules, decision=decisions.get(video_id), removed=video_id in removed,
                      flags=flags.get(video_id, ()), topic=topic)  # fmt: skip
        entries.append(entry)
    return settle_entries(campaign, entries, jury=jury)


def settle_entries(
    campaign: Campaign, entries: list[Entry], *, jury: Sequence[JuryPick] = ()
) -> Results:
    """Rank decided entries (given in order of first appearance) and settle the prizes.

    Every engine ends here: this pure one and the query plan (:mod:`oyren.batch.plan`) hand over
    the same entries, so ranks, tie-breaks and prizes are the same code.
    """
    # Eligible entries first in rank order, then the rest in the same order. A flat key tuple
    # sorts about twice as fast as one holding the sort key as a tuple.
    entries.sort(key=lambda e: (not e.eligible, *e.sort_key))
    ranked = [e for e in entries if e.eligible]
    creators = creator_totals(ranked)
    winners = settle(
        ranked, creators, max_prizes_per_creator=campaign.max_prizes_per_creator, jury=jury
    )
    return Results(
        campaign=campaign.id,
        cutoff=campaign.cutoff,
        entries=tuple(entries),
        winners=winners,
        creators=tuple((c.username, c.views, c.video_ids) for c in creators),
    )


def judge(
    video: Video,
    rules: RuleSet,
    *,
    decision: Decision | None = None,
    removed: bool = False,
    flags: tuple[Flag, ...] = (),
    topic: tuple[str | None, float | None] = (None, None),
) -> Entry:
    """One video's verdict: its eligibility and views at the deadline, from its own inputs only.

    Everything about a video except its rank depends on its observations, the rules and the
    decisions about it, so the store keeps these verdicts per video (:mod:`oyren.store.decided`)
    and only the ranking and the prizes are campaign-wide.
    """
    meta = video.meta
    verdict = decide(meta, rules, decision=decision, removed=removed)
    at = views_at(video.times, video.views, cutoff=rules.cutoff, create_time=meta.create_time)
    # Positional, in field order: keywords make building a frozen dataclass twice as slow.
    return Entry(meta.video_id, meta.username, meta.create_time, not verdict.reasons,
                 verdict.reasons, at.views, at.basis, len(video.times), at.gap_s, flags,
                 topic[0], topic[1])  # fmt: skip


def evaluate_observations(
    campaign: Campaign,
    observations: Iterable[Observation],
    *,
    decisions: Mapping[str, Decision] | None = None,
    removed: frozenset[str] = frozenset(),
    jury: Sequence[JuryPick] = (),
    screener: Screener | None = None,
) -> Results:
    """Group raw observations into videos and :func:`evaluate` them."""
    with collector_paused():
        videos = collect_videos(observations, cutoff=campaign.cutoff_ts)
        return evaluate(
            campaign, videos.values(), decisions=decisions, removed=removed, jury=jury,
            screener=screener,
        )  # fmt: skip


@contextmanager
def collector_paused() -> Iterator[None]:
    """Pause Python's cycle collector while building many objects that form no cycles.

    The collector traverses every live object each time their number has grown by a quarter; on
    100,000 videos that took more time than the work itself. Reference counting frees memory as
    usual meanwhile, and the collector resumes afterwards. Left alone if someone else paused it.
    """
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()
