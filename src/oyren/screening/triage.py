"""The moderation queue's order: flagged entries by how much excluding them could change a prize.

Moderators have little time, so :func:`queue_priority` puts first the flagged entries whose
exclusion would hand a prize to someone else, then those whose exclusion would change the top
places of a view prize (the best video's top N, or drop a creator out of the discover prize's
top N), then the other eligible entries, then entries that are not counted anyway. Within a
level, more views come first, then the stronger flag. Pure: results in, a list out.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from oyren.rules.awards import creator_totals, settle
from oyren.rules.eligibility import SOFT_REASONS
from oyren.rules.results import Entry, Results, Winners, id_sort_key
from oyren.screening.themes import LOW_CONFIDENCE

__all__ = [
    "IMPACTS",
    "QUEUE_SORTS",
    "REVIEW_KINDS",
    "QueueItem",
    "Review",
    "Standing",
    "awaits_person",
    "doubtful_topic",
    "flag_impact",
    "holds_view_prize",
    "queue_priority",
    "review_queue",
    "soft_review",
    "topic_review",
]

IMPACTS = ("changes_winner", "changes_top", "eligible", "not_eligible")


@dataclass(frozen=True, slots=True)
class QueueItem:
    """A flagged entry in the moderation queue, with what excluding it would change."""

    video_id: str
    username: str
    eligible: bool
    views: int
    rank: int | None  # place among eligible videos, 1 for the most viewed
    codes: tuple[str, ...]
    score: float  # the strongest flag's score
    impact: str  # one of IMPACTS
    why: str  # what excluding it would change, in plain (English) words
    # The same as data, for pages that say it in the reader's language: ("impact", impact) and
    # "reasons", "changes", "moves" or "rank" and "of" (see _impact).
    facts: tuple[tuple[str, Any], ...] = ()


@dataclass(frozen=True, slots=True)
class Standing:
    """Where an eligible entry stands: all :func:`flag_impact` weighs.

    ``rank`` is its place among the eligible entries (1 for the most viewed; None when it is
    below the top and its place was not counted: the impact is the same, only the words of an
    entry that changes nothing give the place); ``of`` how many eligible entries there are;
    ``creator_rank`` its creator's place in the discover ranking (None below the top) and
    ``creator_total`` that creator's views; ``outside`` the views of creator #top+1 (0 with
    fewer). ``winners`` are the prizes now and ``without`` the view prizes settled again without
    the entry, given when it holds one (:func:`holds_view_prize`).
    """

    rank: int | None
    of: int
    creator_rank: int | None
    creator_total: int
    outside: int
    winners: Winners
    without: Winners | None = None


def holds_view_prize(entry: Entry, winners: Winners) -> bool:
    """Whether ``entry`` is the best video or is by the creator holding the discover prize:
    excluding it could move a view prize, so :class:`Standing` needs the prizes without it."""
    w = winners
    return (w.best_video is not None and w.best_video.video_id == entry.video_id) or (
        w.discover is not None and w.discover.username.casefold() == entry.username.casefold()
    )


def queue_priority(
    results: Results, *, top: int = 10, max_prizes_per_creator: int = 1
) -> list[QueueItem]:
    """Order the flagged entries of ``results`` for review, most prize-changing first."""
    eligible = results.eligible
    rank = {e.video_id: n for n, e in enumerate(eligible, start=1)}
    creators = [(name.casefold(), views) for name, views, _ in results.creators]
    creator_rank = {name: n for n, (name, _) in enumerate(creators, start=1)}
    outside = creators[top][1] if len(creators) > top else 0
    items = []
    for entry in results.entries:
        if not entry.flags:
            continue
        standing = None
        if entry.eligible:
            place = creator_rank[entry.username.casefold()]
            without = None
            if holds_view_prize(entry, results.winners):
                ranked = [e for e in eligible if e.video_id != entry.video_id]
                without = settle(ranked, creator_totals(ranked),
                                 max_prizes_per_creator=max_prizes_per_creator)  # fmt: skip
            standing = Standing(rank=rank[entry.video_id], of=len(eligible), creator_rank=place,
                                creator_total=creators[place - 1][1], outside=outside,
                                winners=results.winners, without=without)  # fmt: skip
        impact, why, facts = flag_impact(entry, standing, top=top)
        items.append(
            QueueItem(
                video_id=entry.video_id,
                username=entry.username,
                eligible=entry.eligible,
                views=entry.views_at_cutoff,
                rank=rank.get(entry.video_id),
                codes=tuple(f.code for f in entry.flags),
                score=max(f.score for f in entry.flags),
                impact=impact,
                why=why,
                facts=facts,
            )
        )
    level = {impact: n for n, impact in enumerate(IMPACTS)}
    items.sort(key=lambda i: (level[i.impact], -i.views, -i.score, id_sort_key(i.video_id)))
    return items


def flag_impact(
    entry: Entry, standing: Standing | None, *, top: int = 10
) -> tuple[str, str, tuple[tuple[str, Any], ...]]:
    """What excluding a flagged entry would change: one of :data:`IMPACTS`, in plain (English)
    words, and as data (``("impact", impact)`` first). ``standing`` is None for an entry that
    does not count."""
    if standing is None or not entry.eligible:
        impact = "not_eligible"
        return (
            impact,
            f"not counted ({', '.join(entry.reasons)}); excluding it changes nothing",
            (("impact", impact), ("reasons", tuple(entry.reasons))),
        )
    w = standing.winners
    changes: list[tuple[str, tuple[Any, ...]]] = []
    if w.most_creative is not None and w.most_creative.video_id == entry.video_id:
        changes.append(
            ("the most-creative prize would pass to the jury's next choice", ("most_creative",))
        )
    if standing.without is not None:
        changes.extend(_prize_changes(w, standing.without))
    if changes:
        impact = "changes_winner"
        return (
            impact,
            "excluding it: " + "; ".join(words for words, _ in changes),
            (("impact", impact), ("changes", tuple(fact for _, fact in changes))),
        )
    moves: list[tuple[str, tuple[Any, ...]]] = []
    rank = standing.rank
    if rank is not None and rank <= top:
        moves.append(
            (
                f"it is #{rank} of the best-video ranking, so the top {top} would change",
                ("best_top", rank, top),
            )
        )
    creator_rank, outside = standing.creator_rank, standing.outside
    left = standing.creator_total - entry.views_at_cutoff
    if creator_rank is not None and creator_rank <= top and left < outside:
        moves.append(
            (
                f"@{entry.username} would fall from #{creator_rank} out of the top {top} creators "
                f"({left:,} views, against {outside:,} for #{top + 1})",
                ("creator_out", entry.username, creator_rank, top, left, outside),
            )
        )
    if moves:
        impact = "changes_top"
        return (
            impact,
            "excluding it: " + "; ".join(words for words, _ in moves),
            (("impact", impact), ("moves", tuple(fact for _, fact in moves))),
        )
    impact, of = "eligible", standing.of
    return (
        impact,
        f"#{rank} of {of}; excluding it changes no prize",
        (("impact", impact), ("rank", rank), ("of", of)),
    )


def _prize_changes(before: Winners, after: Winners) -> list[tuple[str, tuple[Any, ...]]]:
    """What changed in the view prizes settled again without an entry."""
    out: list[tuple[str, tuple[Any, ...]]] = []
    old, new = before.best_video, after.best_video
    if (old and old.video_id) != (new and new.video_id):
        to = f"video {new.video_id} by @{new.username}" if new else "nobody"
        fact = ("best_video", new.video_id, new.username) if new else ("best_video", "", "")
        out.append((f"the best-video prize would go to {to}", fact))
    old_d, new_d = before.discover, after.discover
    if (old_d and old_d.username.casefold()) != (new_d and new_d.username.casefold()):
        to = f"@{new_d.username}" if new_d else "nobody"
        out.append(
            (f"the discover prize would go to {to}", ("discover", new_d.username if new_d else ""))
        )
    return out


REVIEW_KINDS = ("soft_reasons", "flagged", "topic")
# The orders a page of the queue can be read in: what a decision could change first (the order
# of review_queue), most views first, oldest post first; ties in the order of review_queue.
QUEUE_SORTS = ("priority", "views", "posted")


@dataclass(frozen=True, slots=True)
class Review:
    """An entry a person should look at: why (one of REVIEW_KINDS) and what is at stake."""

    entry: Entry
    why: str
    detail: str  # in plain (English) words
    # The detail as data: ("impact", …) with the flag's facts, "reasons", or "topic" and
    # "confidence".
    facts: tuple[tuple[str, Any], ...] = ()


def review_queue(
    results: Results,
    *,
    decided: frozenset[str] = frozenset(),
    top: int = 10,
    max_prizes_per_creator: int = 1,
) -> list[Review]:
    """Everything awaiting a person, in the order their time is best spent.

    First flagged entries whose exclusion would change a winner or the top places; then entries
    kept out only by what a person can clear (an inclusion would let them count); then the other
    flagged eligible entries; then eligible entries whose topic is doubtful or not educational;
    then flagged entries that do not count anyway. Entries already decided are left out.
    """
    flagged = {i.video_id: i for i in queue_priority(
        results, top=top, max_prizes_per_creator=max_prizes_per_creator)}  # fmt: skip
    ranked: list[tuple[int, int, Review]] = []
    for n, entry in enumerate(results.entries):
        item = flagged.get(entry.video_id)
        if entry.video_id in decided or not awaits_person(
            eligible=entry.eligible,
            reasons=entry.reasons,
            flagged=item is not None,
            doubtful_topic=_doubtful_topic(entry),
        ):
            continue
        if item is not None and item.impact in ("changes_winner", "changes_top"):
            ranked.append((0 if item.impact == "changes_winner" else 1, n,
                           Review(entry, "flagged", item.why, item.facts)))  # fmt: skip
        elif not entry.eligible and set(entry.reasons) <= SOFT_REASONS:
            ranked.append((2, n, soft_review(entry)))
        elif item is not None and item.impact == "eligible":
            ranked.append((3, n, Review(entry, "flagged", item.why, item.facts)))
        elif entry.eligible and _doubtful_topic(entry):
            ranked.append((4, n, topic_review(entry)))
        else:
            assert item is not None  # what else awaits a person is flagged
            ranked.append((5, n, Review(entry, "flagged", item.why, item.facts)))
    # Results list entries in rank order already, so the index keeps most-viewed first.
    ranked.sort(key=lambda r: (r[0], r[1]))
    return [review for _, _, review in ranked]


def soft_review(entry: Entry) -> Review:
    """The review of an entry kept out only by what a person can clear."""
    detail = "an inclusion would let it count: " + ", ".join(entry.reasons)
    return Review(entry, "soft_reasons", detail, (("reasons", tuple(entry.reasons)),))


def topic_review(entry: Entry) -> Review:
    """The review of an eligible entry whose topic is doubtful."""
    facts = (("topic", entry.topic or ""), ("confidence", entry.topic_confidence or 0.0))
    return Review(entry, "topic", _topic_detail(entry), facts)


def awaits_person(
    *, eligible: bool, reasons: Iterable[str], flagged: bool, doubtful_topic: bool
) -> bool:
    """Whether :func:`review_queue` lists an entry no one has decided on: flagged, kept out only by
    what a person can clear, or eligible with a doubtful topic (see :func:`doubtful_topic`). What
    counts the queue without building it (the store's tallies) asks this of each kind of row."""
    return (
        flagged or (not eligible and set(reasons) <= SOFT_REASONS) or (eligible and doubtful_topic)
    )


def doubtful_topic(topic: str | None, confidence: float | None) -> bool:
    """A screened entry's topic a person should check: none found, or below
    :data:`~oyren.screening.themes.LOW_CONFIDENCE`."""
    if confidence is None:
        return False  # not screened
    return topic is None or confidence < LOW_CONFIDENCE


def _doubtful_topic(entry: Entry) -> bool:
    return doubtful_topic(entry.topic, entry.topic_confidence)


def _topic_detail(entry: Entry) -> str:
    confidence = entry.topic_confidence or 0.0
    if entry.topic is None:
        return f"may not be educational (confidence {confidence:.2f}): check its theme"
    return f"theme '{entry.topic}' is uncertain (confidence {confidence:.2f}): check it"
