"""The rules engine: campaign, videos and decisions in; entries and winners out. No I/O.

The same function serves a one-shot ``oyren run`` over files and the database-backed workflow,
so a result computed from a store and one recomputed from an audit bundle agree by construction.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from oyren.awards import JuryPick, creator_totals, settle
from oyren.campaign import Campaign
from oyren.eligibility import RuleSet, decide
from oyren.integrity import flag_videos
from oyren.moderation import Decision
from oyren.observations import Observation
from oyren.results import Entry, Results
from oyren.themes import Classifier
from oyren.videos import Video, collect_videos
from oyren.views import views_at

__all__ = ["evaluate", "evaluate_observations"]


def evaluate(
    campaign: Campaign,
    videos: Iterable[Video],
    *,
    decisions: Mapping[str, Decision] | None = None,
    removed: frozenset[str] = frozenset(),
    jury: Sequence[JuryPick] = (),
    screen: bool = True,
) -> Results:
    """Decide every video and settle the prizes; ``screen`` adds integrity flags and topics.

    Screening only informs moderators and the public charts: it never changes eligibility,
    views or prizes, so ``screen=False`` settles the same prizes faster.
    """
    rules = RuleSet.of(campaign)
    cutoff = rules.cutoff
    decisions = decisions or {}
    screened = list(videos)
    flags = flag_videos(screened) if screen else {}
    classifier = Classifier.for_campaign(campaign) if screen and campaign.themes else None
    entries = []
    for video in screened:
        meta = video.meta
        verdict = decide(
            meta, rules, decision=decisions.get(meta.video_id), removed=meta.video_id in removed
        )
        at = views_at(video.times, video.views, cutoff=cutoff, create_time=meta.create_time)
        guess = classifier.classify_observation(meta) if classifier is not None else None
        entries.append(
            Entry(
                video_id=meta.video_id,
                username=meta.username,
                create_time=meta.create_time,
                eligible=verdict.eligible,
                reasons=verdict.reasons,
                views_at_cutoff=at.views,
                views_basis=at.basis,
                observations=len(video.times),
                gap_s=at.gap_s,
                flags=flags.get(meta.video_id, ()),
                topic=guess.topic if guess is not None else None,
                topic_confidence=guess.confidence if guess is not None else None,
            )
        )
    # Eligible entries first in rank order, then the rest in the same order.
    entries.sort(key=lambda e: (not e.eligible, e.sort_key))
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


def evaluate_observations(
    campaign: Campaign,
    observations: Iterable[Observation],
    *,
    decisions: Mapping[str, Decision] | None = None,
    removed: frozenset[str] = frozenset(),
    jury: Sequence[JuryPick] = (),
    screen: bool = True,
) -> Results:
    """Group raw observations into videos and :func:`evaluate` them."""
    videos = collect_videos(observations, cutoff=campaign.cutoff_ts)
    return evaluate(
        campaign, videos.values(), decisions=decisions, removed=removed, jury=jury, screen=screen
    )
