"""Moderation in the store: a person's decisions on videos, and the queue of videos awaiting one.

The rules for what a decision does are in :mod:`oyren.rules.eligibility`; here decisions are checked
(the video exists, an exclusion has a reason), stored in order, and logged.
"""

from __future__ import annotations

import itertools
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import and_, bindparam, case, false, func, or_, select
from sqlalchemy.orm import Session

from oyren.errors import InputError, StoreError
from oyren.inputs.decisions import read_decisions
from oyren.rules.awards import CreatorTotal, settle
from oyren.rules.campaign import Campaign
from oyren.rules.decisions import ACTIONS, Decision, latest_decisions
from oyren.rules.eligibility import SOFT_REASONS
from oyren.rules.results import Entry, Flag, Results, Winners
from oyren.screening.triage import (
    Review,
    Standing,
    awaits_person,
    flag_impact,
    holds_view_prize,
    review_queue,
    soft_review,
    topic_review,
)
from oyren.store import decided
from oyren.store.audit import now, record_event
from oyren.store.models import DecidedVideoRow as V
from oyren.store.models import DecisionRow
from oyren.store.rows import (
    file_digest,
    live_results,
    parse_stored,
    require_campaign,
    require_video,
    stored_decisions,
    video_ids,
)

__all__ = [
    "QUEUE_TOP",
    "QueueChoice",
    "QueueItem",
    "QueuePage",
    "current_queue",
    "import_decisions",
    "moderate",
    "moderation_queue",
    "page_of_queue",
    "queue_page",
    "waiting",
    "waiting_in",
]


@dataclass(frozen=True, slots=True)
class QueueItem:
    """A video waiting for a moderator, and why it needs a person."""

    entry: Entry
    why: str  # "soft_reasons" (an inclusion would let it count), "flagged" or "topic"
    detail: str = ""  # what is at stake, in plain words
    facts: tuple[tuple[str, Any], ...] = ()  # the same as data (oyren.screening.triage.Review)


@dataclass(frozen=True, slots=True)
class QueueChoice:
    """Which videos of the moderation queue a page keeps, and their order.

    ``why`` keeps one kind ("soft_reasons", "flagged" or "topic"; any other word keeps none),
    ``flag`` the videos with a flag of that code, ``theme`` those of a topic ("none": none);
    ``sort`` is "priority" (the queue's order), "views" (most first) or "posted" (oldest
    first), ties in the queue's order. Empty keeps all."""

    why: str = ""
    flag: str = ""
    theme: str = ""
    sort: str = "priority"

    def keeps(self, item: QueueItem) -> bool:
        """Whether ``item`` is one the choice keeps."""
        return (
            (not self.why or item.why == self.why)
            and (not self.flag or any(f.code == self.flag for f in item.entry.flags))
            and (not self.theme or (item.entry.topic or "none") == self.theme)
        )


def _add(session: Session, campaign_id: str, d: Decision) -> None:
    decided.touch(session, campaign_id, [d.video_id])
    session.add(
        DecisionRow(
            campaign_id=campaign_id,
            video_id=d.video_id,
            action=d.action,
            reason=d.reason,
            actor=d.by,
            at=d.at,
        )
    )


def moderate(
    session: Session,
    *,
    campaign_id: str,
    video_id: str,
    action: str,
    reason: str,
    by: str,
    at: int | None = None,
) -> Decision:
    """Record a moderator's decision to exclude or include a video."""
    require_campaign(session, campaign_id)
    if action not in ACTIONS:
        raise StoreError(f"a decision is one of {', '.join(ACTIONS)}, not '{action}'")
    reason = reason.replace("\x00", "").strip()
    if action == "exclude" and not reason:
        raise StoreError("an exclusion needs a reason the creator can read (--reason TEXT)")
    require_video(session, campaign_id, video_id)
    decision = Decision(video_id, action, reason, by, now() if at is None else at)
    _add(session, campaign_id, decision)
    record_event(
        session,
        campaign_id=campaign_id,
        action=f"moderation.{action}",
        by=by,
        at=decision.at,
        details={"video_id": video_id, "reason": reason},
    )
    return decision


def import_decisions(session: Session, *, campaign_id: str, path: str | Path, by: str) -> int:
    """Store the decisions of a JSONL file, in its order; return how many."""
    require_campaign(session, campaign_id)
    decisions = read_decisions(path)
    known = video_ids(session, campaign_id)
    for d in decisions:
        if d.video_id not in known:
            raise InputError(
                f"campaign '{campaign_id}' has no video '{d.video_id}'",
                path=str(path),
                field="video_id",
            )
        _add(session, campaign_id, d)
    details = {"file": Path(path).name, "sha256": file_digest(path), "decisions": len(decisions)}
    record_event(
        session, campaign_id=campaign_id, action="moderation.import", by=by, details=details
    )
    return len(decisions)


def moderation_queue(
    session: Session, *, campaign_id: str, results: Results | None = None
) -> list[QueueItem]:
    """List videos a person should look at, in the order of
    :func:`oyren.screening.triage.review_queue`.

    Only videos with no decision yet: reasons a person can clear, integrity flags (those that
    could change a prize first) and doubtful topics.
    """
    campaign = parse_stored(require_campaign(session, campaign_id).source_text, campaign_id)
    done = frozenset(latest_decisions(stored_decisions(session, campaign_id)))
    if results is None:
        state = decided.status(session, campaign_id)
        # The kept verdicts with the flags as last computed; the engine only before any is built.
        results = (
            decided.results(session, state, campaign)
            if state.ready
            else live_results(session, campaign)
        )
    reviews = review_queue(
        results,
        decided=done,
        max_prizes_per_creator=campaign.max_prizes_per_creator,
    )
    return [QueueItem(r.entry, r.why, r.detail, r.facts) for r in reviews]


def page_of_queue(
    items: Sequence[QueueItem],
    choice: QueueChoice = QueueChoice(),
    *,
    offset: int = 0,
    limit: int = 50,
) -> QueuePage:
    """One page of a whole queue (``items`` as :func:`moderation_queue` lists them), chosen,
    ordered and counted as :func:`queue_page` does over the kept rows."""
    kept = [i for i in items if choice.keeps(i)]
    # Sorting is stable: ties stay in the queue's order.
    if choice.sort == "views":
        kept.sort(key=lambda i: -i.entry.views_at_cutoff)
    elif choice.sort == "posted":
        kept.sort(key=lambda i: i.entry.create_time)
    start = max(0, offset)
    return QueuePage(
        items=tuple(kept[start : start + max(1, limit)]),
        total=len(items),
        matching=len(kept),
        whys=tuple(sorted(Counter(i.why for i in items).items())),
        flags=tuple(sorted(Counter(f.code for i in items for f in i.entry.flags).items())),
        themes=tuple(sorted(Counter(i.entry.topic or "none" for i in items).items())),
    )


def current_queue(
    session: Session,
    *,
    campaign_id: str,
    choice: QueueChoice = QueueChoice(),
    offset: int = 0,
    limit: int = 50,
) -> QueuePage:
    """One page of the moderation queue as it stands: queries over the kept rows
    (:func:`queue_page`); before the rows are first built, the whole queue from the
    observations, a page of it taken by :func:`page_of_queue`."""
    state = decided.status(session, campaign_id)
    if not state.ready:
        items = moderation_queue(session, campaign_id=campaign_id)
        return page_of_queue(items, choice, offset=offset, limit=limit)
    campaign = parse_stored(require_campaign(session, campaign_id).source_text, campaign_id)
    return queue_page(session, state, campaign, choice, offset=offset, limit=limit)


def waiting_in(tallies: Iterable[decided.Tally]) -> int:
    """How many videos :func:`moderation_queue` lists, from the decided rows counted by kind."""
    return sum(
        t.videos
        for t in tallies
        if not t.decided
        and awaits_person(
            eligible=t.eligible,
            reasons=t.reasons,
            flagged=t.flagged,
            doubtful_topic=t.doubtful_topic,
        )
    )


def waiting(session: Session, *, campaign_id: str, status: decided.Status | None = None) -> int:
    """How many videos wait for a person: the length of :func:`moderation_queue`, counted in the
    database from the kept rows (the queue itself weighs every entry; before the rows are first
    built, it is what is counted). ``status``: where the rows stand, if already read."""
    state = decided.status(session, campaign_id) if status is None else status
    if not state.ready:
        return len(moderation_queue(session, campaign_id=campaign_id))
    return waiting_in(decided.tallies(session, state, campaign_id))


# --- One page of the queue from the kept rows ----------------------------------------------------

# How many places of each ranking the queue watches: a flagged entry in the top this many videos,
# or by a creator who would fall out of the top this many creators, changes the top places.
QUEUE_TOP = 10


@dataclass(frozen=True, slots=True)
class QueuePage:
    """One page of the moderation queue, in the order of :func:`moderation_queue`, with what the
    filters can choose from (counts over the whole queue)."""

    items: tuple[QueueItem, ...]
    total: int  # every video waiting for a person
    matching: int  # those the filter keeps
    whys: tuple[tuple[str, int], ...]  # by why they wait ("soft_reasons", "flagged", "topic")
    flags: tuple[tuple[str, int], ...]  # by flag code, over the flags of the waiting videos
    themes: tuple[tuple[str, int], ...]  # by topic ("none": none found, or not screened)


def queue_page(
    session: Session,
    status: decided.Status,
    campaign: Campaign,
    choice: QueueChoice = QueueChoice(),
    *,
    offset: int = 0,
    limit: int = 50,
) -> QueuePage:
    """One page of :func:`moderation_queue` over the kept rows, as queries (the videos and
    order ``choice`` keeps): the database picks, counts and orders the waiting rows, and only
    the page's rows and the few flagged entries that could change a prize or the top places
    are read."""
    why, flag, theme, sort = choice.why, choice.flag, choice.theme, choice.sort
    here = and_(V.campaign_id == campaign.id, V.generation == status.generation)
    # A row's reasons are kept out by what a person can clear when they are one of the texts
    # such reasons make.
    flagged = decided.is_flagged(campaign.id)
    soft = V.reasons.in_(_SOFT_TEXTS)
    waits = and_(
        here,
        or_(soft, and_(V.eligible, decided.doubtful_topic()), flagged),
        ~decided.has_decision(),
    )
    kind = case((soft, "soft_reasons"), (flagged, "flagged"), else_="topic")
    rows = select(kind.label("kind"), V.topic.label("topic")).where(waits).subquery()
    groups = session.execute(
        select(rows.c.kind, rows.c.topic, func.count()).group_by(rows.c.kind, rows.c.topic)
    ).all()
    whys: Counter[str] = Counter()
    themes: Counter[str] = Counter()
    for k, topic, n in groups:
        whys[k] += n
        themes[topic or "none"] += n
    flags = decided.waiting_flags(session, status, campaign.id)
    codes = Counter(f.code for found in flags.values() for f in found)
    total = sum(whys.values())
    # Without a flag's code to choose, the groups count what the filter keeps.
    matching = sum(
        n
        for k, topic, n in groups
        if (not why or k == why) and (not theme or (topic or "none") == theme)
    )

    chosen: list[Any] = []
    if why == "soft_reasons":
        chosen.append(soft)
    elif why == "flagged":
        chosen.append(and_(~soft, flagged))
    elif why == "topic":
        chosen.append(and_(~soft, ~flagged))
    elif why:
        chosen.append(false())
    if flag:
        with_code = [v for v, found in flags.items() if any(f.code == flag for f in found)]
        chosen.append(V.video_id.in_(bindparam("with_code", with_code, literal_execute=True)))
    if theme:
        chosen.append(V.topic.is_(None) if theme == "none" else V.topic == theme)
    if flag:
        matching = session.execute(select(func.count()).where(waits, *chosen)).scalar_one()

    winners = decided.winners(session, status, campaign) if flags else Winners(None, None, None)
    impacts = _top_impacts(session, status, campaign, flags, winners)
    winning = [v for v, (impact, *_) in impacts.items() if impact == "changes_winner"]
    moving = [v for v, (impact, *_) in impacts.items() if impact == "changes_top"]
    # The queue's order: oyren.screening.triage.review_queue's levels, then the ranking.
    level = case(
        (soft, 2),
        (V.video_id.in_(winning), 0),
        (V.video_id.in_(moving), 1),
        (and_(flagged, V.eligible), 3),
        (V.eligible, 4),
        else_=5,
    )
    order = [level, V.rank_key]
    if sort == "views":
        order.insert(0, V.views.desc())
    elif sort == "posted":
        order.insert(0, V.create_time)
    query = (
        decided.entry_query()
        .add_columns(level.label("level"), V.rank_key)
        .where(waits, *chosen)
        .order_by(*order)
        .offset(max(0, offset))
        .limit(max(1, limit))
    )
    page = [
        (decided.entry_of(r, flags.get(r[0], ())), r[-2], r[-1]) for r in session.execute(query)
    ]
    ranks = _eligible_ranks(session, here, [key for _, n, key in page if n == 3])
    of = decided.counts(session, status, campaign.id).entries
    items = []
    for entry, n, key in page:
        if n == 2:
            review = soft_review(entry)
        elif n == 4:
            review = topic_review(entry)
        elif n in (0, 1):
            _, words, facts = impacts[entry.video_id]
            review = Review(entry, "flagged", words, facts)
        elif n == 3:
            standing = Standing(ranks[key], of, None, 0, 0, winners)
            _, words, facts = flag_impact(entry, standing, top=QUEUE_TOP)
            review = Review(entry, "flagged", words, facts)
        else:
            _, words, facts = flag_impact(entry, None, top=QUEUE_TOP)
            review = Review(entry, "flagged", words, facts)
        items.append(QueueItem(review.entry, review.why, review.detail, review.facts))
    return QueuePage(
        items=tuple(items),
        total=total,
        matching=matching,
        whys=tuple(sorted(whys.items())),
        flags=tuple(sorted(codes.items())),
        themes=tuple(sorted(themes.items())),
    )


# Every text of reasons only a person can clear (oyren.rules.eligibility.SOFT_REASONS) as a
# decided row keeps them: codes joined by spaces, here in every order.
_SOFT_TEXTS = sorted(
    " ".join(order)
    for n in range(1, len(SOFT_REASONS) + 1)
    for chosen in itertools.combinations(sorted(SOFT_REASONS), n)
    for order in itertools.permutations(chosen)
)


def _top_impacts(
    session: Session,
    status: decided.Status,
    campaign: Campaign,
    flags: dict[str, tuple[Flag, ...]],
    winners: Winners,
) -> dict[str, tuple[str, str, tuple[tuple[str, Any], ...]]]:
    """What excluding each flagged entry that could change a prize or the top places would
    change (:func:`~oyren.screening.triage.flag_impact`): the entries among the top
    :data:`QUEUE_TOP` videos, by the top creators, or holding a prize, read from the top of both
    rankings; every other flagged entry changes nothing but its own place."""
    if not flags:
        return {}
    cid = campaign.id
    videos = [
        v.entry
        for v in decided.video_page(
            session, status, cid, offset=0, limit=QUEUE_TOP + decided.PLACES
        )
    ]
    creators = decided.top_creators(session, status, cid, limit=QUEUE_TOP + decided.PLACES)
    rank = {e.video_id: n for n, e in enumerate(videos[:QUEUE_TOP], start=1)}
    creator_rank = {f: n for n, (_, f) in enumerate(creators[: QUEUE_TOP + 1], start=1)}
    outside = creators[QUEUE_TOP][0].views if len(creators) > QUEUE_TOP else 0
    ids = set(rank)
    for prize in (winners.best_video, winners.most_creative):
        if prize is not None:
            ids.add(prize.video_id)
    names = set(list(creator_rank)[:QUEUE_TOP])
    if winners.discover is not None:
        names.add(winners.discover.username.casefold())
    flagged = sorted(flags)
    candidates = [
        entry
        for start in range(0, len(flagged), decided.BATCH)
        for entry in (
            decided.entry_of(r, flags[r[0]])
            for r in session.execute(
                # By key (the eligible are told apart here: asked in SQL, the database may walk
                # the ranking instead).
                decided.entry_query().where(
                    V.campaign_id == cid,
                    V.generation == status.generation,
                    V.video_id.in_(flagged[start : start + decided.BATCH]),
                )
            )
        )
        if entry.eligible and (entry.video_id in ids or entry.username.casefold() in names)
    ]
    of = decided.counts(session, status, cid).entries
    out = {}
    for entry in candidates:
        folded = entry.username.casefold()
        place = creator_rank.get(folded)
        without = None
        if holds_view_prize(entry, winners):
            without = _settled_without(session, status, campaign, entry, videos, creators)
        standing = Standing(
            rank=rank.get(entry.video_id),
            of=of,
            creator_rank=place,
            creator_total=creators[place - 1][0].views if place is not None else 0,
            outside=outside,
            winners=winners,
            without=without,
        )
        impact = flag_impact(entry, standing, top=QUEUE_TOP)
        if impact[0] in ("changes_winner", "changes_top"):
            out[entry.video_id] = impact
    return out


def _settled_without(
    session: Session,
    status: decided.Status,
    campaign: Campaign,
    entry: Entry,
    videos: list[Entry],
    creators: list[tuple[CreatorTotal, str]],
) -> Winners:
    """The view prizes settled again without ``entry``, from the top of both rankings: its
    creator's total less its views (and their next post first, if it was their first)."""
    ranked = [e for e in videos if e.video_id != entry.video_id]
    folded = entry.username.casefold()
    totals = []
    for total, name in creators:
        if name != folded:
            totals.append(total)
            continue
        first = (total.first_post, total.first_post_id, total.username)
        if total.first_post_id == entry.video_id:
            next_first = _first_post_without(session, status, campaign.id, folded, entry.video_id)
            if next_first is None:
                continue  # it was their only entry
            first = next_first
        post, post_id, username = first
        totals.append(
            CreatorTotal(username, total.views - entry.views_at_cutoff, (), post, post_id)
        )
    totals.sort(key=lambda t: t.sort_key)
    return settle(ranked, totals, max_prizes_per_creator=campaign.max_prizes_per_creator)


def _first_post_without(
    session: Session, status: decided.Status, campaign_id: str, folded: str, video_id: str
) -> tuple[int, str, str] | None:
    """A creator's first eligible post but ``video_id``: (posted at, video id, username)."""
    row = session.execute(
        select(V.create_time, V.video_id, V.username)
        .where(
            V.campaign_id == campaign_id,
            V.generation == status.generation,
            V.username_folded == folded,
            V.eligible,
            V.video_id != video_id,
        )
        .order_by(func.substr(V.rank_key, _POST_KEY_AT))
        .limit(1)
    ).first()
    return None if row is None else (int(row[0]), str(row[1]), str(row[2]))


# Where the post's part of a rank key starts (1-based, as SQL's substr counts): after the views.
_POST_KEY_AT = 21


def _eligible_ranks(session: Session, here: Any, keys: list[str]) -> dict[str, int]:
    """The place among the eligible rows of each rank key, in one pass up to the last."""
    if not keys:
        return {}
    counts = [func.sum(case((V.rank_key <= k, 1), else_=0)) for k in keys]
    row = session.execute(select(*counts).where(here, V.eligible, V.rank_key <= max(keys))).one()
    return {k: int(n) for k, n in zip(keys, row, strict=True)}
