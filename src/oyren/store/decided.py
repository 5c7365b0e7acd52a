"""Decided rows: each video's verdict kept by the store, so no read ever recomputes a campaign.

A video's verdict — eligible or not and why, its views at the deadline and their basis, its
metadata at the deadline, its topic — depends only on its own observations, the campaign's rules
and people's decisions about it. So every write records the videos it touches (:func:`touch`:
observations stored by :class:`~oyren.store.ingest.ObservationWriter`, a decision, a removal),
and before its transaction commits (:func:`settle`, also run by a session event) their rows are
rewritten from :func:`oyren.batch.evaluate.decide_videos` over those videos' observations only,
read with one indexed query per few hundred videos. The creators' totals of the creators whose
videos changed follow, with the engine's :func:`~oyren.rules.awards.creator_totals`. Ranking,
creator order and prizes are then ordered reads (``rank_key``) and the engine's own settlement
over their top (:func:`oyren.batch.evaluate.settle_ranked`).

Rows come in generations. Pages read the campaign's complete generation; when the rules change,
:func:`rebuild` fills a new generation in batches (each its own transaction) while writes keep
both up to date, then switches to it — pages say "recomputing" with its progress meanwhile
and never show a half-built state. Small campaigns are rebuilt at once when their rules are
registered. Integrity flags and the charts' daily series are campaign-wide and computed apart,
after writes settle (:func:`refresh_flags`), with the time they were computed.
"""

from __future__ import annotations

import functools
import hashlib
import itertools
import tempfile
from bisect import bisect_left
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, replace
from operator import itemgetter
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import (
    Engine,
    Integer,
    String,
    Table,
    and_,
    bindparam,
    case,
    delete,
    event,
    exists,
    func,
    insert,
    literal,
    or_,
    select,
    update,
)
from sqlalchemy.orm import Session

from oyren.batch.evaluate import (
    decide_videos,
    judged_entries,
    jury_from_contenders,
    settle_ranked,
)
from oyren.rules.awards import CreatorTotal, creator_totals
from oyren.rules.campaign import Campaign
from oyren.rules.observations import Observation
from oyren.rules.results import Entry, Flag, Results, Winners, id_sort_key
from oyren.rules.videos import Video, VideoGroups
from oyren.rules.views import views_at_each
from oyren.screening.columns import FIELDS, MetaColumns
from oyren.screening.flags import flags_of as flags_shown
from oyren.screening.flags import series_flags
from oyren.screening.growth import Intervals
from oyren.screening.screener import CampaignScreener
from oyren.screening.themes import LOW_CONFIDENCE
from oyren.store.audit import now
from oyren.store.db import BulkInsert, analyze_after_commit, plain_batches, probe_each
from oyren.store.models import (
    CampaignRow,
    DecidedCreatorRow,
    DecidedFlagsRow,
    DecidedStateRow,
    DecidedTotalsRow,
    DecidedVideoRow,
    DecisionRow,
    RemovalRow,
    VideoRow,
)
from oyren.store.rows import (
    parse_stored,
    require_campaign,
    round_judgments_of,
    stored_decisions,
    stored_removals,
    stored_video_map,
    stored_videos,
)

__all__ = [
    "BATCH",
    "INLINE_REBUILD",
    "PLACES",
    "Counts",
    "DecidedVideo",
    "EligibleCounts",
    "Status",
    "Tally",
    "counts",
    "created",
    "creator_page",
    "doubtful_topic",
    "eligible_counts",
    "entries_of",
    "entry_of",
    "entry_query",
    "flags_of",
    "has_decision",
    "is_flagged",
    "observed",
    "rank_key",
    "ranked_totals",
    "rebuild",
    "refresh_flags",
    "results",
    "rules_changed",
    "settle",
    "start",
    "status",
    "top_creators",
    "touch",
    "video_page",
    "waiting_flags",
    "winners",
]

BATCH = 500  # videos per query: well under every database's parameter limit
# Creators' totals a finished generation inserts at once: each insert also updates the
# generation's count, so one per creator cost more than the rest of a rebuild.
CREATORS_AT_ONCE = 5_000
# A rebuild keeps the topics of the generation before it where they cannot have changed.
CARRY_TOPICS = True
INLINE_REBUILD = 5_000  # videos a change of rules rebuilds at once, in the same transaction
PENDING = "oyren.decided.pending"
FRESH = "oyren.decided.fresh"
MANY_CREATORS = 2_000  # creators past which a write recounts them in one pass
# The places of each ranking that settle the prizes: more than the prizes held before any one is
# settled (oyren.batch.evaluate.settle_ranked).
PLACES = 3
FRESH_LIMIT = 250_000  # created videos a transaction keeps in memory (about 1.5 kB each)
# Observations the flag refresh reads a part at a time (whole videos: their series and the
# row of each video's metadata are held).
FLAG_PART_ROWS = 50_000
V = DecidedVideoRow
C = DecidedCreatorRow
T = DecidedTotalsRow
# Plain tables for bulk inserts: the ORM's bulk path costs more than the database's work.
VIDEOS: Table = DecidedVideoRow.__table__  # type: ignore[assignment]
CREATORS: Table = DecidedCreatorRow.__table__  # type: ignore[assignment]
FLAGS: Table = DecidedFlagsRow.__table__  # type: ignore[assignment]
VIEWS_SPAN = 10**19  # above any BIGINT view count
TIME_SHIFT = 10**12  # keeps any plausible Unix time positive in 13 digits


# --- The rank order as one sortable text ------------------------------------------------------


def _id_key(video_id: str) -> str:
    """:func:`~oyren.rules.results.id_sort_key` as text: numbers by value, then other ids."""
    kind, number, text = id_sort_key(video_id)
    if kind == 0:
        return f"0{number:064d}"
    # UTF-8 bytes order as code points do; hex digits collate alike under every locale.
    return "1" + text.encode().hex()


def _post_key(create_time: int, video_id: str) -> str:
    return f"{create_time + TIME_SHIFT:013d}{_id_key(video_id)}"


def rank_key(views: int, create_time: int, video_id: str) -> str:
    """The engine's rank order (most views, the earlier post, the smaller id) as one text."""
    return f"{VIEWS_SPAN - views:020d}{_post_key(create_time, video_id)}"


def _creator_key(total: CreatorTotal) -> str:
    return f"{VIEWS_SPAN - total.views:020d}{_post_key(total.first_post, total.first_post_id)}"


# --- Writes: touched videos, settled before the commit -------------------------------------------


def touch(session: Session, campaign_id: str, video_ids: Iterable[str]) -> None:
    """Note videos whose inputs this transaction changed; :func:`settle` rewrites their rows."""
    ids = set(video_ids)
    pending: dict[str, set[str]] = session.info.setdefault(PENDING, {})
    pending.setdefault(campaign_id, set()).update(ids)
    fresh: dict[str, _Fresh] | None = session.info.get(FRESH)
    if fresh and campaign_id in fresh:
        fresh[campaign_id].forget(ids)  # changed by a write the groups did not see


def created(session: Session, campaign_id: str, video_ids: Iterable[str]) -> None:
    """Note videos this transaction created: until it settles, every observation stored of them
    must go through :func:`observed`, which groups them in memory so that :func:`settle` decides
    them without reading their observations back."""
    ids = set(video_ids)
    if not ids:
        return
    fresh: dict[str, _Fresh] = session.info.setdefault(FRESH, {})
    held = fresh.get(campaign_id)
    if held is None:
        held = fresh[campaign_id] = _Fresh(_cutoffs(session, campaign_id))
    room = FRESH_LIMIT - len(held.ids) - len(held.stale)
    if room > 0:
        # Past the limit, videos are read back instead: memory stays bounded on any import.
        held.ids |= set(itertools.islice(ids - held.stale, room))


def observed(session: Session, campaign_id: str, observations: Sequence[Observation]) -> None:
    """Note observations just stored (exact duplicates of stored ones included): their videos
    are touched, and those :func:`created` in this transaction keep them in memory."""
    fresh: dict[str, _Fresh] | None = session.info.get(FRESH)
    held = fresh.get(campaign_id) if fresh else None
    pending: dict[str, set[str]] = session.info.setdefault(PENDING, {})
    touched = pending.setdefault(campaign_id, set())
    if held is None:
        touched.update(o.video_id for o in observations)
        return
    ids, others = held.ids, set()
    for obs in observations:
        if obs.video_id in ids:
            held.add(obs)
            touched.add(obs.video_id)
        else:
            others.add(obs.video_id)
    if others:
        touch(session, campaign_id, others)


class _Fresh:
    """Videos created in this transaction with all their observations, grouped as stored (per
    cutoff of the generations kept up to date: their rules may differ)."""

    __slots__ = ("groups", "ids", "stale")

    def __init__(self, cutoffs: Iterable[int]) -> None:
        self.groups = {cutoff: VideoGroups(cutoff) for cutoff in set(cutoffs)}
        self.ids: set[str] = set()  # created, every observation of them seen
        self.stale: set[str] = set()  # created, but changed by a write not seen here

    def add(self, obs: Observation) -> None:
        for groups in self.groups.values():
            groups.add(obs.video_id, obs.collected_at, obs.view_count, obs)

    def forget(self, video_ids: set[str]) -> None:
        gone = video_ids & self.ids
        if gone:
            self.ids -= gone
            self.stale |= gone
            for groups in self.groups.values():
                for video_id in gone:
                    groups.by_id.pop(video_id, None)

    def videos(self, cutoff: int, video_ids: Sequence[str]) -> dict[str, Video]:
        """The videos among ``video_ids`` held here, grouped with ``cutoff`` (none if another)."""
        groups = self.groups.get(cutoff)
        if groups is None:
            return {}
        some = VideoGroups(cutoff)
        held = groups.by_id
        some.by_id = {v: held[v] for v in video_ids if v in self.ids and v in held}
        return some.videos()

    def created(self, video_ids: Sequence[str]) -> set[str]:
        """Those of ``video_ids`` this transaction created since it last settled: they have no
        decided row in any generation yet (a video's row follows its record, which was not
        there, and rows are only written by a settle or by a rebuild that cannot see them)."""
        return {v for v in video_ids if v in self.ids or v in self.stale}


def _cutoffs(session: Session, campaign_id: str) -> list[int]:
    """The cutoffs of the generations writes keep up to date (read without waiting: settling
    takes the state row, and reads the observations of any generation whose cutoff differs)."""
    state = _state(session, campaign_id, lock=False)
    return [] if state is None else [c.cutoff_ts for _, c in _targets(session, state)]


def settle(session: Session) -> None:
    """Rewrite the rows of every video touched in this transaction (run before it commits)."""
    pending: dict[str, set[str]] | None = session.info.pop(PENDING, None)
    fresh: dict[str, _Fresh] = session.info.pop(FRESH, None) or {}
    if not pending:
        return
    session.flush()
    for campaign_id, ids in sorted(pending.items()):
        if ids:
            _refresh(session, campaign_id, sorted(ids), fresh.get(campaign_id))


@event.listens_for(Session, "before_commit")
def _before_commit(session: Session) -> None:
    settle(session)


@event.listens_for(Session, "after_rollback")
def _after_rollback(session: Session) -> None:
    session.info.pop(PENDING, None)
    session.info.pop(FRESH, None)


def _state(session: Session, campaign_id: str, *, lock: bool = True) -> DecidedStateRow | None:
    # Writers and rebuild batches of one campaign take the state row in turn (on PostgreSQL),
    # so a batch never writes a row from observations a concurrent writer has since added to.
    query = select(DecidedStateRow).where(DecidedStateRow.campaign_id == campaign_id)
    if lock:
        query = query.with_for_update()
    return session.scalars(query).first()


def _refresh(
    session: Session, campaign_id: str, video_ids: Sequence[str], fresh: _Fresh | None = None
) -> None:
    state = _state(session, campaign_id)
    if state is None:
        return  # stored before decided rows: `oyren rebuild` builds them all
    for generation, campaign in _targets(session, state):
        _newest(state, _write(session, campaign_id, generation, campaign, video_ids, fresh=fresh))
    state.updated_at = now()


def _targets(session: Session, state: DecidedStateRow) -> list[tuple[int, Campaign]]:
    """The generations a write must keep up to date, each with the rules it is built with."""
    out = []
    if state.generation and state.rules_source is not None:
        out.append((state.generation, parse_stored(state.rules_source, state.campaign_id)))
    if state.building is not None:
        row = require_campaign(session, state.campaign_id)
        out.append((state.building, parse_stored(row.source_text, state.campaign_id)))
    return out


def _text_digest(meta: Observation) -> str:
    text = orjson.dumps([meta.description, list(meta.hashtags), meta.voice_to_text])
    return hashlib.blake2b(text, digest_size=16).hexdigest()


def _write(
    session: Session,
    campaign_id: str,
    generation: int,
    campaign: Campaign,
    video_ids: Sequence[str],
    *,
    creators: bool = True,
    fresh: _Fresh | None = None,
    topics_from: int | None = None,
) -> int | None:
    """Rewrite the rows of ``video_ids`` in ``generation`` from their inputs, by batches;
    return the newest observation time among them. Videos ``fresh`` holds are not read back.
    A video's topic is kept while its text is the same: from its row in ``generation``, else
    from its row in generation ``topics_from`` (see :func:`_topics_from`)."""
    topics = _Topics(campaign)
    put = BulkInsert(session.connection(), insert(VIDEOS), _VIDEO_COLUMNS)
    # People's decisions and removals are few: when the campaign has none, no batch asks.
    people = _has_people(session, campaign_id)
    folded: set[str] = set()
    newest: int | None = None
    videos_added = entries_added = views_added = 0  # the generation's numbers, bumped once
    for start in range(0, len(video_ids), BATCH):
        chunk = list(video_ids[start : start + BATCH])
        videos = fresh.videos(campaign.cutoff_ts, chunk) if fresh is not None else {}
        rest = [v for v in chunk if v not in videos]
        if rest:
            videos.update(
                stored_video_map(session, campaign_id, cutoff=campaign.cutoff_ts, video_ids=rest)
            )
        # Videos created by this transaction have no rows to replace: only the others are asked
        # for (an `IN` list over a table this same transaction keeps filling is slow to plan).
        created_here = fresh.created(chunk) if fresh is not None else set()
        asked = [v for v in chunk if v not in created_here] if created_here else chunk
        before = (
            {
                r.video_id: r
                for r in session.execute(
                    select(
                        V.video_id,
                        V.username_folded,
                        V.text_digest,
                        V.topic,
                        V.topic_confidence,
                        V.eligible,
                        V.views,
                    )
                    .where(V.campaign_id == campaign_id, V.generation == generation)
                    .where(V.video_id.in_(asked))
                )
            }
            if asked
            else {}
        )
        folded.update(r.username_folded for r in before.values())

        known = {vid: (r.text_digest, r.topic, r.topic_confidence) for vid, r in before.items()}
        if topics_from is not None and (missing := [v for v in chunk if v not in before]):
            kept = select(V.video_id, V.text_digest, V.topic, V.topic_confidence).where(
                V.campaign_id == campaign_id, V.generation == topics_from, V.video_id.in_(missing)
            )
            known.update((r.video_id, (r.text_digest, r.topic, r.topic_confidence))
                         for r in session.execute(kept))  # fmt: skip
        digests = {vid: _text_digest(v.meta) for vid, v in videos.items()}  # once a video
        entries = decide_videos(
            campaign,
            videos.values(),
            decisions=stored_decisions(session, campaign_id, video_ids=chunk) if people else (),
            removals=stored_removals(session, campaign_id, video_ids=chunk) if people else (),
            topic=topics.reusing(known, digests),
        )
        rows = [
            _row(campaign_id, generation, e, videos[e.video_id].meta, digests[e.video_id])
            for e in entries
        ]
        last = max((v.last_seen for v in videos.values()), default=None)
        if last is not None and (newest is None or last > newest):
            newest = last
        folded.update(r["username_folded"] for r in rows)
        if before:
            session.execute(
                delete(V).where(
                    V.campaign_id == campaign_id,
                    V.generation == generation,
                    V.video_id.in_(list(before)),
                )
            )
        put(list(map(_VIDEO_VALUES, rows)))
        old = [r for r in before.values() if r.eligible]
        new = [r for r in rows if r["eligible"]]
        videos_added += len(rows) - len(before)
        entries_added += len(new) - len(old)
        views_added += sum(r["views"] for r in new) - sum(r.views for r in old)
    _bump(session, campaign_id, generation, videos=videos_added, entries=entries_added,
          views=views_added)  # fmt: skip
    if creators and folded:
        _write_creators(session, campaign_id, generation, sorted(folded))
    return newest


def _topics_from(state: DecidedStateRow, campaign: Campaign) -> int | None:
    """The complete generation whose topics a rebuild under ``campaign`` keeps (for the videos
    whose text is unchanged): the current one, when its rules give topics as ``campaign``'s do
    (the same themes and campaign hashtags: a topic depends on nothing else of the rules)."""
    if not CARRY_TOPICS or not state.generation or not state.rules_source:
        return None
    built = parse_stored(state.rules_source, state.campaign_id)
    return state.generation if _topic_rules(built) == _topic_rules(campaign) else None


def _topic_rules(campaign: Campaign) -> tuple[Any, ...]:
    """What of a campaign's rules its videos' topics depend on (the classifier's inputs)."""
    return campaign.themes, campaign.hashtags, campaign.query_spellings


def _has_people(session: Session, campaign_id: str) -> bool:
    """Whether any decision or removal is stored for the campaign."""
    return any(
        session.scalar(select(exists().where(table.campaign_id == campaign_id)))
        for table in (DecisionRow, RemovalRow)
    )


class _Topics:
    """Topics as the screener gives them, computed only when a video's text has changed."""

    def __init__(self, campaign: Campaign) -> None:
        self.campaign = campaign
        self.screener: CampaignScreener | None = None

    def reusing(
        self, known: dict[str, tuple[str, str | None, float | None]], digests: dict[str, str]
    ) -> Callable[[Observation], tuple[str | None, float | None]]:
        """The topic of a video: the stored one while its text (its digest in ``digests``) is
        the same, else a new guess."""

        def topic(meta: Observation) -> tuple[str | None, float | None]:
            old = known.get(meta.video_id)
            if old is not None and old[0] == digests[meta.video_id]:
                return old[1], old[2]
            if self.screener is None:
                self.screener = CampaignScreener(self.campaign)
            return self.screener.topic(meta)

        return topic


_VIDEO_COLUMNS = (
    "campaign_id",
    "generation",
    "video_id",
    "eligible",
    "reasons",
    "views",
    "basis",
    "gap_s",
    "observations",
    "rank_key",
    "username",
    "username_folded",
    "create_time",
    "description",
    "duration_s",
    "region_code",
    "topic",
    "topic_confidence",
    "text_digest",
)
_VIDEO_VALUES = itemgetter(*_VIDEO_COLUMNS)
_CREATOR_COLUMNS = (
    "campaign_id",
    "generation",
    "username_folded",
    "username",
    "views",
    "videos",
    "first_post",
    "first_post_id",
    "rank_key",
)


def _row(
    campaign_id: str, generation: int, e: Entry, meta: Observation, text_digest: str
) -> dict[str, Any]:
    return {
        "campaign_id": campaign_id,
        "generation": generation,
        "video_id": e.video_id,
        "eligible": e.eligible,
        "reasons": " ".join(e.reasons),
        "views": e.views_at_cutoff,
        "basis": e.views_basis,
        "gap_s": e.gap_s,
        "observations": e.observations,
        "rank_key": rank_key(e.views_at_cutoff, e.create_time, e.video_id),
        "username": e.username,
        "username_folded": e.username.casefold(),
        "create_time": e.create_time,
        "description": meta.description,
        "duration_s": meta.duration_s,
        "region_code": meta.region_code,
        "topic": e.topic,
        "topic_confidence": e.topic_confidence,
        "text_digest": text_digest,
    }


def _write_creators(
    session: Session, campaign_id: str, generation: int, folded: Sequence[str]
) -> None:
    """Recompute the totals of these creators from their eligible rows (the engine's sums)."""
    # Many creators (a big import) are recounted from one pass over the eligible rows: hundreds
    # of lookups of 500 names each cost far more, on PostgreSQL above all.
    everyone = (
        _eligible_by_creator(session, campaign_id, generation, set(folded))
        if len(folded) > MANY_CREATORS
        else None
    )
    for start in range(0, len(folded), BATCH):
        chunk = list(folded[start : start + BATCH])
        if everyone is not None:
            totals = creator_totals([e for name in chunk for e in everyone.get(name, ())])
        else:
            query = (
                entry_query()
                .where(V.campaign_id == campaign_id, V.generation == generation, V.eligible)
                .where(V.username_folded.in_(chunk))
            )
            totals = creator_totals([entry_of(r) for r in session.execute(query)])
        where = (C.campaign_id == campaign_id, C.generation == generation)
        if session.get_bind().dialect.name == "postgresql":
            # Only the names stored are deleted, found one probe each (see probe_each).
            probed = probe_each(C.username_folded, chunk, C.username_folded, *where)
            chunk = [name for name, found in session.execute(probed) if found is not None]
        if chunk:
            gone = session.execute(delete(C).where(*where, C.username_folded.in_(chunk)))
            _bump(session, campaign_id, generation, creators=-_rowcount(gone))
        _insert_creators(session, campaign_id, generation, totals)


def _eligible_by_creator(
    session: Session, campaign_id: str, generation: int, folded: set[str]
) -> dict[str, list[Entry]]:
    """The eligible entries of these creators (by folded name), read in one pass."""
    query = (
        entry_query()
        .add_columns(V.username_folded)
        .where(V.campaign_id == campaign_id, V.generation == generation, V.eligible)
    )
    out: dict[str, list[Entry]] = {}
    for row in itertools.chain.from_iterable(plain_batches(session, query, stream=True)):
        if row[-1] in folded:
            out.setdefault(row[-1], []).append(entry_of(row))
    return out


def _insert_creators(
    session: Session, campaign_id: str, generation: int, totals: Iterable[CreatorTotal]
) -> None:
    rows = [
        (campaign_id, generation, t.username.casefold(), t.username, t.views, len(t.video_ids),
         t.first_post, t.first_post_id, _creator_key(t))
        for t in totals
    ]  # fmt: skip
    if rows:
        BulkInsert(session.connection(), insert(CREATORS), _CREATOR_COLUMNS)(rows)
        _bump(session, campaign_id, generation, creators=len(rows))


def _rowcount(result: Any) -> int:
    return int(result.rowcount)


def _bump(
    session: Session,
    campaign_id: str,
    generation: int,
    *,
    videos: int = 0,
    entries: int = 0,
    creators: int = 0,
    views: int = 0,
) -> None:
    """Add to a generation's numbers (writers of one campaign take turns on its state row)."""
    if not (videos or entries or creators or views):
        return
    where = (T.campaign_id == campaign_id, T.generation == generation)
    changed = session.execute(
        update(T)
        .where(*where)
        .values(
            videos=T.videos + videos,
            entries=T.entries + entries,
            creators=T.creators + creators,
            views=T.views + views,
        )
    )
    if not _rowcount(changed):
        session.execute(
            insert(T).values(
                campaign_id=campaign_id,
                generation=generation,
                videos=videos,
                entries=entries,
                creators=creators,
                views=views,
            )
        )


# --- States, rule changes and rebuilds ---------------------------------------------------------


def start(session: Session, campaign: Campaign) -> None:
    """Give a newly registered campaign its first (empty, complete) generation."""
    session.add(
        DecidedStateRow(
            campaign_id=campaign.id,
            generation=1,
            rules_digest=campaign.digest,
            rules_source=campaign.source_text,
            building=None,
            building_digest=None,
            done=0,
            total=0,
            updated_at=now(),
        )
    )


def _video_count(session: Session, campaign_id: str) -> int:
    query = select(func.count()).select_from(VideoRow).where(VideoRow.campaign_id == campaign_id)
    return session.scalar(query) or 0


def rules_changed(session: Session, campaign: Campaign) -> None:
    """The campaign's rules are now ``campaign``: rebuild its rows (at once when it is small)."""
    session.flush()
    state = _state(session, campaign.id)
    if state is None:
        start(session, campaign)
        session.flush()
        state = _state(session, campaign.id)
        assert state is not None
        state.generation = 0  # nothing complete yet: built below or by a rebuild
    if state.rules_digest == campaign.digest and state.generation and state.building is None:
        return
    _begin(session, state, campaign)
    if state.total <= INLINE_REBUILD:
        _build_rest(session, state, campaign, after=None)


def _begin(session: Session, state: DecidedStateRow, campaign: Campaign) -> None:
    """Start a new generation for ``campaign``'s rules (leftovers of an abandoned one dropped)."""
    if state.building is not None:
        _drop(session, state.campaign_id, state.building)
    state.building = max(state.generation, state.building or 0) + 1
    state.building_digest = campaign.digest
    state.done, state.total = 0, _video_count(session, state.campaign_id)
    state.updated_at = now()
    _drop(session, state.campaign_id, state.building)


def _drop(session: Session, campaign_id: str, generation: int) -> None:
    for table in (V, C, T):
        session.execute(
            delete(table).where(table.campaign_id == campaign_id, table.generation == generation)
        )


def _next_ids(session: Session, campaign_id: str, after: str | None, limit: int) -> list[str]:
    query = select(VideoRow.video_id).where(VideoRow.campaign_id == campaign_id)
    if after is not None:
        query = query.where(VideoRow.video_id > after)
    return list(session.scalars(query.order_by(VideoRow.video_id).limit(limit)))


def _build_rest(
    session: Session,
    state: DecidedStateRow,
    campaign: Campaign,
    *,
    after: str | None,
    progress: Callable[[int, int], None] | None = None,
) -> None:
    """Fill the building generation from ``after`` to the end and switch to it."""
    assert state.building is not None
    topics_from = _topics_from(state, campaign)
    while ids := _next_ids(session, state.campaign_id, after, 5 * BATCH):
        _newest(state, _write(session, state.campaign_id, state.building, campaign, ids,
                              creators=False, topics_from=topics_from))  # fmt: skip
        state.done += len(ids)
        after = ids[-1]
        if progress is not None:
            progress(state.done, max(state.total, state.done))
    _finish(session, state, campaign)


def _newest(state: DecidedStateRow, newest: int | None) -> None:
    if newest is not None and (state.last_observation_at or 0) < newest:
        state.last_observation_at = newest


def _finish(session: Session, state: DecidedStateRow, campaign: Campaign) -> None:
    """Total every creator of the new generation and make it the one pages read."""
    assert state.building is not None
    generation = state.building
    gone = session.execute(
        delete(C).where(C.campaign_id == state.campaign_id, C.generation == generation)
    )
    _bump(session, state.campaign_id, generation, creators=-_rowcount(gone))
    query = (
        entry_query()
        .where(V.campaign_id == state.campaign_id, V.generation == generation, V.eligible)
        .order_by(V.username_folded)
    )
    group: list[Entry] = []
    totals: list[CreatorTotal] = []  # inserted a few thousand creators at a time
    current: str | None = None
    for row in itertools.chain.from_iterable(plain_batches(session, query, stream=True)):
        entry = entry_of(row)
        name = entry.username.casefold()
        if name != current and group:
            totals += creator_totals(group)
            group = []
            if len(totals) >= CREATORS_AT_ONCE:
                _insert_creators(session, state.campaign_id, generation, totals)
                totals = []
        current = name
        group.append(entry)
    if group:
        totals += creator_totals(group)
    _insert_creators(session, state.campaign_id, generation, totals)
    old = state.generation
    state.generation, state.building = generation, None
    state.rules_digest, state.rules_source = campaign.digest, campaign.source_text
    state.building_digest = None
    state.done = state.total = max(state.done, state.total)
    state.updated_at = now()
    if old and old != generation:
        _drop(session, state.campaign_id, old)
    analyze_after_commit(session, VIDEOS, CREATORS)  # every row of the campaign is new


def rebuild(
    engine: Engine,
    campaign_id: str,
    *,
    progress: Callable[[int, int], None] | None = None,
    batch: int = 5 * BATCH,
) -> bool:
    """Bring a campaign's rows to its current rules, a batch per transaction; True if rebuilt.

    Pages keep reading the last complete generation meanwhile. Safe to run again after a
    crash (it starts the generation over) and beside writers (they update both generations).
    """
    from oyren.store.db import transaction

    with transaction(engine) as session:
        row = require_campaign(session, campaign_id)
        campaign = parse_stored(row.source_text, campaign_id)
        state = _state(session, campaign_id)
        if state is None:
            start(session, campaign)
            session.flush()
            state = _state(session, campaign_id)
            assert state is not None
            state.generation = 0
        elif state.rules_digest == campaign.digest and state.generation and state.building is None:
            return False
        _begin(session, state, campaign)
        generation = state.building
        assert generation is not None
    after: str | None = None
    while True:
        with transaction(engine) as session:
            state = _state(session, campaign_id)
            if state is None or state.building != generation:
                return False  # another rebuild took over
            row = require_campaign(session, campaign_id)
            if row.rules_digest != state.building_digest:
                return rebuild(engine, campaign_id, progress=progress, batch=batch)
            campaign = parse_stored(row.source_text, campaign_id)
            ids = _next_ids(session, campaign_id, after, batch)
            if not ids:
                _finish(session, state, campaign)
                if progress is not None:
                    progress(state.done, state.total)
                return True
            written = _write(session, campaign_id, generation, campaign, ids, creators=False,
                             topics_from=_topics_from(state, campaign))  # fmt: skip
            _newest(state, written)
            state.done += len(ids)
            state.updated_at = now()
            after = ids[-1]
            done, total = state.done, max(state.total, state.done)
        if progress is not None:
            progress(done, total)


# --- Reads -------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Status:
    """Where a campaign's rows stand, for pages to say so."""

    generation: int  # the complete generation pages read; 0 when none is complete yet
    recomputing: bool  # a change of rules is being applied (or the rows were never built)
    done: int
    total: int
    flags_computed_at: int | None
    views_by_day: tuple[tuple[int, int], ...] | None
    last_observation_at: int | None = None  # the newest observation's collected_at

    @property
    def ready(self) -> bool:
        """True when a complete generation exists."""
        return self.generation > 0


def status(session: Session, campaign_id: str) -> Status:
    """Where the campaign's rows stand (settling this transaction's own writes first)."""
    settle(session)
    state = _state(session, campaign_id, lock=False)
    if state is None:
        return Status(0, True, 0, _video_count(session, campaign_id), None, None)
    digest = session.scalar(select(CampaignRow.rules_digest).where(CampaignRow.id == campaign_id))
    series = None if state.views_by_day is None else orjson.loads(state.views_by_day)
    return Status(
        generation=state.generation,
        recomputing=state.building is not None or state.rules_digest != digest,
        done=state.done,
        total=state.total,
        flags_computed_at=state.flags_computed_at,
        views_by_day=None if series is None else tuple((int(t), int(v)) for t, v in series),
        last_observation_at=state.last_observation_at,
    )


@dataclass(frozen=True, slots=True)
class DecidedVideo:
    """A decided row: the engine's entry and the metadata at the deadline pages show."""

    entry: Entry
    description: str
    duration_s: int | None
    region_code: str | None


def entry_query() -> Any:
    """A select of the decided rows' columns :func:`entry_of` reads (and those
    :class:`DecidedVideo` adds); more columns may follow them."""
    return select(
        V.video_id,
        V.username,
        V.create_time,
        V.eligible,
        V.reasons,
        V.views,
        V.basis,
        V.observations,
        V.gap_s,
        V.topic,
        V.topic_confidence,
        V.description,
        V.duration_s,
        V.region_code,
    )


def entry_of(r: Any, flags: tuple[Flag, ...] = ()) -> Entry:
    """The engine's entry of a row of :func:`entry_query`, with its ``flags``."""
    reasons = tuple(r[4].split()) if r[4] else ()
    return Entry(r[0], r[1], r[2], bool(r[3]), reasons, r[5], r[6], r[7], r[8], flags, r[9], r[10])


def _video(r: Any) -> DecidedVideo:
    return DecidedVideo(entry_of(r), r[11], r[12], r[13])


# The pages' reads are built once, their values bound per request: putting a statement
# together costs more than running it.
@functools.cache
def _video_page_query() -> Any:
    return (
        entry_query()
        .where(
            V.campaign_id == bindparam("campaign_id", type_=String),
            V.generation == bindparam("generation", type_=Integer),
            V.eligible,
        )
        .order_by(V.rank_key)
        .offset(bindparam("offset", type_=Integer))
        .limit(bindparam("limit", type_=Integer))
    )


@functools.cache
def _creator_page_query() -> Any:
    return (
        select(C.username, C.views, C.videos)
        .where(
            C.campaign_id == bindparam("campaign_id", type_=String),
            C.generation == bindparam("generation", type_=Integer),
        )
        .order_by(C.rank_key)
        .offset(bindparam("offset", type_=Integer))
        .limit(bindparam("limit", type_=Integer))
    )


def video_page(
    session: Session, status: Status, campaign_id: str, *, offset: int, limit: int
) -> list[DecidedVideo]:
    """Eligible videos in rank order, from rank ``offset + 1``."""
    values = {"campaign_id": campaign_id, "generation": status.generation}
    rows = session.execute(_video_page_query(), {**values, "offset": offset, "limit": limit})
    return [_video(r) for r in rows]


def creator_page(
    session: Session, status: Status, campaign_id: str, *, offset: int, limit: int
) -> list[tuple[str, int, int]]:
    """Creators in rank order from ``offset + 1``: (username, views, eligible videos)."""
    values = {"campaign_id": campaign_id, "generation": status.generation}
    rows = session.execute(_creator_page_query(), {**values, "offset": offset, "limit": limit})
    return [(u, v, n) for u, v, n in rows]


def entries_of(
    session: Session,
    status: Status,
    campaign_id: str,
    *,
    username: str | None = None,
    video_ids: Collection[str] | None = None,
    eligible: bool | None = None,
) -> list[DecidedVideo]:
    """Decided rows of a creator (any case), or of some videos, in rank order."""
    query = entry_query().where(V.campaign_id == campaign_id, V.generation == status.generation)
    if username is not None:
        query = query.where(V.username_folded == username.casefold())
    if video_ids is not None:
        query = query.where(V.video_id.in_(list(video_ids)))
    if eligible is not None:
        query = query.where(V.eligible == eligible)
    return [_video(r) for r in session.execute(query.order_by(V.rank_key))]


@dataclass(frozen=True, slots=True)
class Counts:
    """A campaign's numbers: videos seen, eligible entries, creators, their views."""

    videos: int
    entries: int
    creators: int
    views: int


@functools.cache
def _counts_query() -> Any:
    return select(T.videos, T.entries, T.creators, T.views).where(
        T.campaign_id == bindparam("campaign_id", type_=String),
        T.generation == bindparam("generation", type_=Integer),
    )


def counts(session: Session, status: Status, campaign_id: str) -> Counts:
    """The campaign's numbers, kept with its rows (one primary-key read)."""
    values = {"campaign_id": campaign_id, "generation": status.generation}
    row = session.execute(_counts_query(), values).first()
    return Counts(0, 0, 0, 0) if row is None else Counts(*row)


@dataclass(frozen=True, slots=True)
class Tally:
    """How many decided rows are of one kind, as the organizer's numbers tell them apart."""

    eligible: bool
    reasons: tuple[str, ...]
    flagged: bool  # integrity flags raised when they were last computed
    doubtful_topic: bool  # screened, and no topic or one below LOW_CONFIDENCE
    decided: bool  # a person has made a decision on the video
    videos: int


def is_flagged(campaign_id: str) -> Any:
    """A decided row of the campaign whose video raised integrity flags when they were last
    computed (SQL): as a set the database builds once for a scan (the flagged are few), rather
    than a lookup per row."""
    flagged = select(DecidedFlagsRow.video_id).where(DecidedFlagsRow.campaign_id == campaign_id)
    return V.video_id.in_(flagged)


def has_decision() -> Any:
    """A person has made a decision on a decided row's video (SQL)."""
    return exists().where(
        DecisionRow.campaign_id == V.campaign_id, DecisionRow.video_id == V.video_id
    )


def doubtful_topic() -> Any:
    """:func:`oyren.screening.triage.doubtful_topic` of a decided row, as a condition (a test
    holds the two together)."""
    return and_(
        V.topic_confidence.is_not(None),
        or_(V.topic.is_(None), V.topic_confidence < LOW_CONFIDENCE),
    )


def tallies(session: Session, status: Status, campaign_id: str) -> list[Tally]:
    """The campaign's decided rows counted by kind, in one grouped query: the dashboard's
    numbers and the length of the moderation queue without reading the rows themselves."""
    flagged, decision, doubtful = is_flagged(campaign_id), has_decision(), doubtful_topic()
    rows = (
        select(
            V.eligible.label("eligible"),
            V.reasons.label("reasons"),
            case((flagged, 1), else_=0).label("flagged"),
            case((doubtful, 1), else_=0).label("doubtful"),
            case((decision, 1), else_=0).label("decided"),
        )
        .where(V.campaign_id == campaign_id, V.generation == status.generation)
        .subquery()
    )
    kinds = (rows.c.eligible, rows.c.reasons, rows.c.flagged, rows.c.doubtful, rows.c.decided)
    query = select(*kinds, func.count()).group_by(*kinds)
    return [
        Tally(bool(e), tuple(r.split()) if r else (), bool(f), bool(t), bool(d), int(n))
        for e, r, f, t, d, n in session.execute(query)
    ]


@dataclass(frozen=True, slots=True)
class EligibleCounts:
    """Counts of a campaign's eligible rows, for the charts."""

    posted: tuple[int, ...]  # posted at or before each instant asked about
    views: tuple[int, ...]  # with views from each lower bound asked about up to the next
    topics: tuple[tuple[str | None, int], ...]  # by topic (None: none found or not screened)


def _bisect_left(column: Any, bounds: Sequence[int], lo: int, hi: int) -> Any:
    """SQL for ``bisect.bisect_left(bounds, column)`` with the answer in [lo, hi]: a tree of
    CASEs, so a row meets about log2(len(bounds)) comparisons."""
    if lo == hi:
        return literal(lo)
    mid = (lo + hi) // 2
    return case(
        (column <= bounds[mid], _bisect_left(column, bounds, lo, mid)),
        else_=_bisect_left(column, bounds, mid + 1, hi),
    )


def eligible_counts(
    session: Session,
    status: Status,
    campaign_id: str,
    *,
    posted_by: Sequence[int],
    views_from: Sequence[int],
) -> EligibleCounts:
    """Count the eligible rows posted by each instant of ``posted_by`` (ascending), in each range
    of views ``views_from[i] <= views < views_from[i + 1]`` (ascending, the last one open), and
    by topic: one query, grouped by the day a row was posted in, its range and its topic, so the
    database counts whatever the number of rows and returns at most (days + 1) x ranges x topics
    groups, never the rows."""
    day = _bisect_left(V.create_time, posted_by, 0, len(posted_by)).label("day")
    # How many lower bounds the views reach (bisect_right; for integers, bisect_left over the
    # bounds less one): 0 below the first range, i + 1 in range i.
    reached = [low - 1 for low in views_from]
    spread = _bisect_left(V.views, reached, 0, len(reached)).label("spread")
    rows = session.execute(
        select(day, spread, V.topic, func.count())
        .where(V.campaign_id == campaign_id, V.generation == status.generation, V.eligible)
        .group_by(day, spread, V.topic)
    ).all()
    by_day = [0] * (len(posted_by) + 1)
    by_range = [0] * len(views_from)
    topics: dict[str | None, int] = {}
    for d, r, topic, n in rows:
        by_day[d] += n
        if r:
            by_range[r - 1] += n
        topics[topic] = topics.get(topic, 0) + n
    return EligibleCounts(
        posted=tuple(itertools.accumulate(by_day[: len(posted_by)])),
        views=tuple(by_range),
        topics=tuple(topics.items()),
    )


def ranked_totals(session: Session, status: Status, campaign_id: str) -> tuple[int, int]:
    """How many videos and creators the rankings hold."""
    c = counts(session, status, campaign_id)
    return c.entries, c.creators


def winners(session: Session, status: Status, campaign: Campaign) -> Winners:
    """The prizes now: the engine's settlement over the top of both rankings and the jury's."""
    campaign_id, gen = campaign.id, status.generation
    places = PLACES
    ranked = [v.entry for v in video_page(session, status, campaign_id, offset=0, limit=places)]
    judgments = round_judgments_of(session, campaign_id)
    judged = judged_entries(judgments)
    jury = []
    if judged:
        contenders = entries_of(session, status, campaign_id, video_ids=judged, eligible=True)
        jury = jury_from_contenders(judgments, [v.entry.video_id for v in contenders])
        seen = {e.video_id for e in ranked}
        ranked += [v.entry for v in contenders if v.entry.video_id not in seen]
        ranked.sort(key=lambda e: e.sort_key)
    values = {"campaign_id": campaign_id, "generation": gen}
    top = session.execute(_top_creators_query(), {**values, "limit": places}).all()
    ids = _creator_ids(session, values, [f for *_, f in top])
    creators = [CreatorTotal(u, v, tuple(ids.get(f, ())), p, pid) for u, v, p, pid, f in top]
    return settle_ranked(campaign, ranked, creators, jury)


def top_creators(
    session: Session, status: Status, campaign_id: str, *, limit: int
) -> list[tuple[CreatorTotal, str]]:
    """The first ``limit`` creators of the discover ranking, each with their folded name (their
    totals without the list of their videos)."""
    values = {"campaign_id": campaign_id, "generation": status.generation, "limit": limit}
    return [
        (CreatorTotal(u, v, (), p, pid), f)
        for u, v, p, pid, f in session.execute(_top_creators_query(), values)
    ]


@functools.cache
def _top_creators_query() -> Any:
    return (
        select(C.username, C.views, C.first_post, C.first_post_id, C.username_folded)
        .where(
            C.campaign_id == bindparam("campaign_id", type_=String),
            C.generation == bindparam("generation", type_=Integer),
        )
        .order_by(C.rank_key)
        .limit(bindparam("limit", type_=Integer))
    )


@functools.cache
def _creator_ids_query() -> Any:
    # One creator at a time: an equality on the name walks the creator index in rank order,
    # where a list of names would let SQLite walk the whole ranking instead.
    return (
        select(V.video_id)
        .where(
            V.campaign_id == bindparam("campaign_id", type_=String),
            V.generation == bindparam("generation", type_=Integer),
            V.username_folded == bindparam("folded", type_=String),
            V.eligible,
        )
        .order_by(V.rank_key)
    )


def _creator_ids(
    session: Session, values: dict[str, Any], folded: list[str]
) -> dict[str, list[str]]:
    """Each creator's eligible video ids in rank order."""
    query = _creator_ids_query()
    return {f: list(session.scalars(query, {**values, "folded": f})) for f in folded}


def results(session: Session, status: Status, campaign: Campaign) -> Results:
    """Every decided row as the engine's results, with the stored flags (for the organizer's
    queue, which weighs every entry; public pages read pages of rows instead)."""
    flags = flags_of(session, campaign.id)
    query = (
        entry_query()
        .where(V.campaign_id == campaign.id, V.generation == status.generation)
        .order_by(V.eligible.desc(), V.rank_key)
    )
    entries = tuple(entry_of(r, flags.get(r[0], ())) for r in session.execute(query))
    creators = session.execute(
        select(C.username, C.views, C.username_folded)
        .where(C.campaign_id == campaign.id, C.generation == status.generation)
        .order_by(C.rank_key)
    ).all()
    by_creator: dict[str, list[str]] = {}
    for e in entries:
        if e.eligible:
            by_creator.setdefault(e.username.casefold(), []).append(e.video_id)
    return Results(
        campaign=campaign.id,
        cutoff=campaign.cutoff,
        entries=entries,
        winners=winners(session, status, campaign),
        creators=tuple((u, v, tuple(by_creator.get(f, ()))) for u, v, f in creators),
    )


# --- Screening off the request path ------------------------------------------------------------


def flags_of(
    session: Session, campaign_id: str, *, video_ids: Sequence[str] | None = None
) -> dict[str, tuple[Flag, ...]]:
    """The integrity flags as last computed, by video id (empty before the first run); with
    ``video_ids``, of those videos only (a lookup by key)."""
    query = select(DecidedFlagsRow.video_id, DecidedFlagsRow.flags).where(
        DecidedFlagsRow.campaign_id == campaign_id
    )
    if video_ids is not None:
        query = query.where(DecidedFlagsRow.video_id.in_(video_ids))
    return {video_id: _flags(text) for video_id, text in session.execute(query)}


def waiting_flags(
    session: Session, status: Status, campaign_id: str
) -> dict[str, tuple[Flag, ...]]:
    """The flags of the flagged videos no one has decided on, by video id: every one of them
    waits for a person (the flagged are few; the moderation queue counts their codes)."""
    # From the flags (few) to their rows, each looked up by its key.
    row = exists().where(
        V.campaign_id == DecidedFlagsRow.campaign_id,
        V.generation == status.generation,
        V.video_id == DecidedFlagsRow.video_id,
    )
    decision = exists().where(
        DecisionRow.campaign_id == DecidedFlagsRow.campaign_id,
        DecisionRow.video_id == DecidedFlagsRow.video_id,
    )
    query = select(DecidedFlagsRow.video_id, DecidedFlagsRow.flags).where(
        DecidedFlagsRow.campaign_id == campaign_id, row, ~decision
    )
    return {video_id: _flags(text) for video_id, text in session.execute(query)}


def _flags(text: str) -> tuple[Flag, ...]:
    def tupled(value: Any) -> Any:
        return tuple(tupled(v) for v in value) if isinstance(value, list) else value

    return tuple(
        Flag(f["code"], f["score"], f["explanation"], tuple((k, tupled(v)) for k, v in f["ev"]))
        for f in orjson.loads(text)
    )


def _plain(value: Any) -> Any:
    """A number from numpy (screening computes with it) as the Python number it stands for."""
    if hasattr(value, "item"):
        return value.item()
    raise TypeError(f"cannot store {type(value).__name__} in a flag's evidence")


def _flags_json(flags: tuple[Flag, ...]) -> str:
    return orjson.dumps(
        [
            {"code": f.code, "score": f.score, "explanation": f.explanation, "ev": list(f.evidence)}
            for f in flags
        ],
        default=_plain,
    ).decode()


def refresh_flags(
    engine: Engine, campaign_id: str, *, at: int | None = None, part_rows: int | None = None
) -> int:
    """Recompute the campaign's integrity flags and the daily views the charts show, and store
    them with the time (``at``, else now); return how many videos raised a flag.

    Reads every observation of the campaign, so it runs as a background job after writes
    settle, never in a request. Flags inform people only: no verdict depends on them. The
    videos are read once, a part at a time (``part_rows`` or :data:`FLAG_PART_ROWS`
    observations, whole videos), their series' intervals kept in files for the second look
    the screener takes, as ``oyren run`` screens a large file
    (:func:`oyren.screening.flags.series_flags`): what is held is a part, each video's
    metadata and each usable interval's growth rate, whatever the number of observations.
    """
    import numpy as np

    from oyren.store.db import transaction

    size = part_rows or FLAG_PART_ROWS
    # One snapshot of the campaign for every query (PostgreSQL's REPEATABLE READ).
    with transaction(engine, write=False, snapshot=True) as session:
        campaign = parse_stored(require_campaign(session, campaign_id).source_text, campaign_id)
        state = status(session, campaign_id)
        eligible = {
            r[0]: r[1]
            for r in session.execute(
                select(V.video_id, V.create_time).where(
                    V.campaign_id == campaign_id, V.generation == state.generation, V.eligible
                )
            )
        }
        at = now() if at is None else at
        days = [int(day.timestamp()) for day in campaign.day_ends(at)]
        charted = _DailyViews(days, eligible)
        columns: list[list[Any]] = [[] for _ in FIELDS]
        with tempfile.TemporaryDirectory(prefix="oyren-flags-") as folder:
            kept: list[Path] = []

            def parts() -> Iterator[Intervals]:
                if kept:  # read again: the intervals kept on disk
                    for path in kept:
                        with np.load(path) as saved:
                            yield Intervals(**{name: saved[name] for name in saved.files})
                    return
                # The first reading: each video's metadata at the deadline as the rules pick it,
                # the daily views its series add, and its intervals (kept for the second).
                count = 0
                for videos in stored_videos(
                    session, campaign_id, cutoff=campaign.cutoff_ts, rows=size
                ):
                    for column, name in zip(columns, FIELDS, strict=True):
                        column.extend(getattr(v.meta, name) for v in videos)
                    charted.add(videos)
                    intervals = Intervals.of(videos)
                    intervals = replace(intervals, video=intervals.video + count)
                    count += len(videos)
                    kept.append(Path(folder) / f"{len(kept)}.npz")
                    np.savez(kept[-1], **asdict(intervals))
                    yield intervals

            series = series_flags(parts)
    found = flags_shown(MetaColumns(*columns), series)
    series_by_day = charted.totals()
    with transaction(engine) as session:
        session.execute(delete(DecidedFlagsRow).where(DecidedFlagsRow.campaign_id == campaign_id))
        rows = [
            {"campaign_id": campaign_id, "video_id": vid, "flags": _flags_json(flags)}
            for vid, flags in found.items()
        ]
        if rows:
            session.execute(insert(FLAGS), rows)
        row = _state(session, campaign_id)
        if row is not None:
            row.flags_computed_at = at
            row.views_by_day = orjson.dumps(series_by_day).decode()
    return len(found)


class _DailyViews:
    """The views of a campaign's eligible videos at the end of each day, summed a part of the
    videos at a time (each eligible video counts from the day it was posted)."""

    def __init__(self, days: Sequence[int], eligible: Mapping[str, int]) -> None:
        self.days = days
        self.eligible = eligible
        self.sums = [0] * len(days)

    def add(self, videos: Iterable[Video]) -> None:
        """Count ``videos`` (whole videos, each counted once)."""
        days, sums = self.days, self.sums
        for video in videos:
            created = self.eligible.get(video.video_id)
            if created is None:
                continue
            first = bisect_left(days, created)  # the first day that ends once it was posted
            if first == len(days):
                continue
            found = views_at_each(video.times, video.views, days[first:], create_time=created)
            for n, value in enumerate(found, first):
                sums[n] += value

    def totals(self) -> list[tuple[int, int]]:
        """Each day's end with the views then."""
        return list(zip(self.days, self.sums, strict=True))
