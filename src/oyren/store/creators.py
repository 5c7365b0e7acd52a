"""Creators who take part themselves: sign-ins, consents, tokens, entries, withdrawals, erasure.

Every query about creators is here. Tokens are encrypted with
:class:`~oyren.store.tokens.TokenCipher` before they reach a table. :class:`DbCreatorStore` is
what tracking uses
(:class:`~oyren.collect.creators.CreatorStore`): its :meth:`~DbCreatorStore.access_token` locks
the creator's token row, refreshes at TikTok when the access token is near its end, and stores the
rotated refresh token **in the same transaction** as its use — a refresh that fails (the server
died, the answer never came) rolls back and leaves the old refresh token to try again.

Erasing a creator ("withdraw and delete my data") withdraws every entry with the reason code
``data_erased`` (a removal, so the video can no longer win), deletes the tokens, the consents
(age statement, guardian's name and contact) and the entry rows, and blanks the creator's
username and display name. What stays is what the audit log needs: the observations already
stored (public counts and captions of the videos, which frozen awards and audit bundles are
computed from), the withdrawals (video id, reason code, time) and the audit log's entries.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import orjson
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from oyren.errors import StoreError
from oyren.rules.observations import Observation
from oyren.store.audit import record_event
from oyren.store.crawling import fresh_observations
from oyren.store.db import Engine, transaction
from oyren.store.ingest import ObservationWriter
from oyren.store.models import (
    CreatorEntryRow,
    CreatorLoginRow,
    CreatorParticipationRow,
    CreatorRow,
    CreatorTokenRow,
    CreatorWithdrawalRow,
    ObservationRow,
    RemovalRow,
    ThumbnailRow,
    VideoRow,
)
from oyren.store.removals import confirm_removals, remove_video
from oyren.store.rows import require_campaign
from oyren.store.tokens import TokenCipher, TokenSet

__all__ = [
    "LOGIN_TTL_S",
    "Creator",
    "DbCreatorStore",
    "Entry",
    "LoginStateError",
    "Participation",
    "PendingLogin",
    "TrackedCreator",
    "add_observations",
    "campaign_creators",
    "entries_of",
    "erase_creator",
    "get_creator",
    "join_campaign",
    "participation",
    "register_entries",
    "register_link",
    "rotate_keys",
    "save_creator",
    "start_login",
    "take_login",
    "withdraw_entry",
]

LOGIN_TTL_S = 15 * 60  # a sign-in must come back from TikTok within this
REFRESH_MARGIN_S = 10 * 60  # refresh an access token this long before it ends


class LoginStateError(StoreError):
    """The ``state`` a sign-in came back with is unknown, used, expired or another browser's."""


@dataclass(frozen=True, slots=True)
class PendingLogin:
    """A sign-in that came back: its campaign, PKCE verifier and what the creator consented to."""

    campaign_id: str
    verifier: str
    consent: dict[str, Any]


@dataclass(frozen=True, slots=True)
class Creator:
    """A creator as stored."""

    id: int
    open_id: str
    username: str
    display_name: str
    erased: bool
    token_status: str | None  # active, lost, or None when no token is kept
    token_problem: str | None
    token_problem_at: int | None


@dataclass(frozen=True, slots=True)
class Participation:
    """A creator's consent to one campaign."""

    campaign_id: str
    creator_id: int
    accepted_rules_at: int
    minor: bool
    guardian_name: str | None
    guardian_contact: str | None
    guardian_consent_at: int | None
    region: str | None


@dataclass(frozen=True, slots=True)
class Entry:
    """A registered entry."""

    campaign_id: str
    video_id: str
    creator_id: int | None
    source: str
    username: str
    caption: str
    hashtag: str
    tag_claimed: bool
    registered_at: int
    problem: str | None
    problem_at: int | None


@dataclass(frozen=True, slots=True)
class TrackedCreator:
    """A creator whose entries tracking follows: their entries and what the tokens say."""

    creator_id: int
    username: str
    region: str | None
    video_ids: tuple[str, ...]
    token_status: str | None


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


# Sign-ins ---------------------------------------------------------------------------------------


def start_login(
    session: Session,
    cipher: TokenCipher,
    *,
    campaign_id: str,
    state: str,
    browser: str,
    verifier: str,
    consent: dict[str, Any],
    now: int,
) -> None:
    """Remember a sign-in on its way to TikTok: only the state's hash, tied to this browser."""
    require_campaign(session, campaign_id)
    session.execute(delete(CreatorLoginRow).where(CreatorLoginRow.created_at < now - 86400))
    session.add(
        CreatorLoginRow(
            state_hash=_digest(state),
            campaign_id=campaign_id,
            browser_hash=_digest(browser),
            verifier=cipher.encrypt(verifier),
            consent=orjson.dumps(consent).decode(),
            created_at=now,
        )
    )


def take_login(
    session: Session, cipher: TokenCipher, *, state: str, browser: str, now: int
) -> PendingLogin:
    """Use up a sign-in's state: once, within :data:`LOGIN_TTL_S`, from the browser that began
    it."""
    row = session.get(CreatorLoginRow, _digest(state)) if 0 < len(state) <= 200 else None
    if row is None:
        raise LoginStateError("unknown_state")
    if row.used_at is not None:
        raise LoginStateError("used_state")
    if row.browser_hash != _digest(browser):
        raise LoginStateError("other_browser")
    if row.created_at + LOGIN_TTL_S < now:
        raise LoginStateError("expired_state")
    row.used_at = now
    return PendingLogin(row.campaign_id, cipher.decrypt(row.verifier), orjson.loads(row.consent))


# Creators and tokens ----------------------------------------------------------------------------


def save_creator(
    session: Session,
    cipher: TokenCipher,
    *,
    open_id: str,
    username: str,
    display_name: str,
    tokens: TokenSet,
    now: int,
) -> int:
    """Store (or update) the creator who signed in and their new tokens; return their id."""
    row = session.scalar(select(CreatorRow).where(CreatorRow.open_id == open_id))
    if row is None:
        row = CreatorRow(open_id=open_id, username="", display_name="", created_at=now)
        session.add(row)
    row.username, row.display_name, row.erased_at = username, display_name, None
    session.flush()
    _put_tokens(session, cipher, row.id, tokens, now)
    return row.id


def _put_tokens(
    session: Session, cipher: TokenCipher, creator_id: int, tokens: TokenSet, now: int
) -> None:
    token = session.get(CreatorTokenRow, creator_id)
    if token is None:
        token = CreatorTokenRow(creator_id=creator_id)
        session.add(token)
    token.access_token = cipher.encrypt(tokens.access_token)
    token.refresh_token = cipher.encrypt(tokens.refresh_token)
    token.expires_at = tokens.expires_at
    token.refresh_expires_at = tokens.refresh_expires_at
    token.scope = ",".join(tokens.scope)
    token.updated_at = now
    token.status, token.problem, token.problem_at = "active", None, None


def get_creator(session: Session, creator_id: int) -> Creator | None:
    """The creator with this id, or None."""
    row = session.get(CreatorRow, creator_id)
    if row is None:
        return None
    token = session.get(CreatorTokenRow, creator_id)
    return Creator(
        id=row.id,
        open_id=row.open_id,
        username=row.username,
        display_name=row.display_name,
        erased=row.erased_at is not None,
        token_status=token.status if token else None,
        token_problem=token.problem if token else None,
        token_problem_at=token.problem_at if token else None,
    )


def access_token(session: Session, cipher: TokenCipher, creator_id: int) -> str | None:
    """The creator's current access token (for the web flow right after sign-in), or None."""
    token = session.get(CreatorTokenRow, creator_id)
    if token is None or token.status != "active":
        return None
    return cipher.decrypt(token.access_token)


def join_campaign(
    session: Session, *, campaign_id: str, creator_id: int, consent: dict[str, Any], now: int
) -> None:
    """Record the creator's consent to a campaign (a later sign-in replaces it)."""
    row = session.scalar(
        select(CreatorParticipationRow).where(
            CreatorParticipationRow.campaign_id == campaign_id,
            CreatorParticipationRow.creator_id == creator_id,
        )
    )
    if row is None:
        row = CreatorParticipationRow(campaign_id=campaign_id, creator_id=creator_id)
        session.add(row)
    minor = bool(consent.get("minor"))
    row.accepted_rules_at = int(consent.get("accepted_at", now))
    row.minor = minor
    row.guardian_name = consent.get("guardian_name") if minor else None
    row.guardian_contact = consent.get("guardian_contact") if minor else None
    row.guardian_consent_at = int(consent.get("accepted_at", now)) if minor else None
    row.region = consent.get("region")
    record_event(
        session,
        campaign_id=campaign_id,
        action="creator.join",
        by=f"creator:{creator_id}",
        at=now,
        details={"creator_id": creator_id, "minor": minor, "guardian_consent": minor},
    )


def participation(session: Session, campaign_id: str, creator_id: int) -> Participation | None:
    """The creator's consent to the campaign, or None."""
    row = session.scalar(
        select(CreatorParticipationRow).where(
            CreatorParticipationRow.campaign_id == campaign_id,
            CreatorParticipationRow.creator_id == creator_id,
        )
    )
    if row is None:
        return None
    return Participation(
        campaign_id=row.campaign_id,
        creator_id=row.creator_id,
        accepted_rules_at=row.accepted_rules_at,
        minor=row.minor,
        guardian_name=row.guardian_name,
        guardian_contact=row.guardian_contact,
        guardian_consent_at=row.guardian_consent_at,
        region=row.region,
    )


# Entries ----------------------------------------------------------------------------------------


def _entry(row: CreatorEntryRow) -> Entry:
    return Entry(
        campaign_id=row.campaign_id,
        video_id=row.video_id,
        creator_id=row.creator_id,
        source=row.source,
        username=row.username,
        caption=row.caption,
        hashtag=row.hashtag,
        tag_claimed=row.tag_claimed,
        registered_at=row.registered_at,
        problem=row.problem,
        problem_at=row.problem_at,
    )


def entries_of(session: Session, campaign_id: str, creator_id: int | None = None) -> list[Entry]:
    """The campaign's registered entries (one creator's when ``creator_id`` is given)."""
    query = select(CreatorEntryRow).where(CreatorEntryRow.campaign_id == campaign_id)
    if creator_id is not None:
        query = query.where(CreatorEntryRow.creator_id == creator_id)
    return [_entry(r) for r in session.scalars(query.order_by(CreatorEntryRow.id))]


def add_observations(
    session: Session, campaign_id: str, observations: Sequence[Observation], *, source: str
) -> int:
    """Store observations with their source; one already stored for that video and instant (from
    any source) is passed over, so two sources feeding one campaign count it once."""
    fresh = fresh_observations(session, campaign_id, observations)
    if fresh:
        ObservationWriter(session, campaign_id, source=source).insert(fresh)
    return len(fresh)


def register_entries(
    session: Session,
    *,
    campaign_id: str,
    creator_id: int,
    picks: Sequence[tuple[Observation, str, bool]],
    now: int,
) -> list[str]:
    """Register the creator's picked videos, each ``(observation, hashtag state, tag claimed)``,
    with the observation that proved them theirs. Refuses, storing nothing, a video another
    creator registered or one withdrawn from this campaign."""
    require_campaign(session, campaign_id)
    if participation(session, campaign_id, creator_id) is None:
        raise StoreError("you have not accepted this campaign's rules yet")
    ids = [obs.video_id for obs, _, _ in picks]
    taken = {
        r.video_id: r.creator_id
        for r in session.scalars(
            select(CreatorEntryRow).where(
                CreatorEntryRow.campaign_id == campaign_id, CreatorEntryRow.video_id.in_(ids)
            )
        )
    }
    withdrawn = set(
        session.scalars(
            select(CreatorWithdrawalRow.video_id).where(
                CreatorWithdrawalRow.campaign_id == campaign_id,
                CreatorWithdrawalRow.video_id.in_(ids),
            )
        )
    )
    for vid in ids:
        if vid in withdrawn:
            raise StoreError(f"video {vid} was withdrawn from this campaign and cannot enter again")
        if vid in taken and taken[vid] != creator_id:
            raise StoreError(f"video {vid} is already registered by someone else")
    added = []
    for obs, hashtag, claimed in picks:
        if obs.video_id in taken:
            continue
        session.add(
            CreatorEntryRow(
                campaign_id=campaign_id,
                creator_id=creator_id,
                video_id=obs.video_id,
                source="display_api",
                username=obs.username,
                caption=obs.description,
                hashtag=hashtag,
                tag_claimed=claimed and hashtag != "present",
                registered_at=now,
            )
        )
        added.append(obs.video_id)
    add_observations(session, campaign_id, [o for o, _, _ in picks], source="display_api")
    if added:
        record_event(
            session,
            campaign_id=campaign_id,
            action="creator.entries",
            by=f"creator:{creator_id}",
            at=now,
            details={"video_ids": added, "tag_claimed": [o.video_id for o, _, c in picks if c]},
        )
    return added


def register_link(
    session: Session,
    *,
    campaign_id: str,
    video_id: str,
    username: str,
    caption: str,
    hashtag: str,
    now: int,
) -> bool:
    """Register a pasted link that oEmbed confirmed public; False when it is already an entry."""
    require_campaign(session, campaign_id)
    exists = session.scalar(
        select(CreatorEntryRow.id).where(
            CreatorEntryRow.campaign_id == campaign_id, CreatorEntryRow.video_id == video_id
        )
    )
    withdrawn = session.scalar(
        select(CreatorWithdrawalRow.id).where(
            CreatorWithdrawalRow.campaign_id == campaign_id,
            CreatorWithdrawalRow.video_id == video_id,
        )
    )
    if withdrawn is not None:
        raise StoreError(f"video {video_id} was withdrawn from this campaign")
    if exists is not None:
        return False
    session.add(
        CreatorEntryRow(
            campaign_id=campaign_id,
            creator_id=None,
            video_id=video_id,
            source="oembed",
            username=username,
            caption=caption,
            hashtag=hashtag,
            tag_claimed=False,
            registered_at=now,
        )
    )
    record_event(
        session,
        campaign_id=campaign_id,
        action="link.entry",
        by="visitor",
        at=now,
        details={"video_id": video_id, "source": "oembed"},
    )
    return True


def withdraw_entry(
    session: Session,
    *,
    campaign_id: str,
    creator_id: int,
    video_id: str,
    now: int,
    reason: str = "withdrawn_by_creator",
) -> None:
    """Withdraw one of the creator's entries: it can no longer win (a removal with our reason)."""
    row = session.scalar(
        select(CreatorEntryRow).where(
            CreatorEntryRow.campaign_id == campaign_id,
            CreatorEntryRow.video_id == video_id,
            CreatorEntryRow.creator_id == creator_id,
        )
    )
    if row is None:
        raise StoreError(f"no video {video_id} among your entries")
    session.delete(row)
    # The video's cached picture goes with it (and with the rest of an erased creator's data).
    session.execute(
        delete(ThumbnailRow).where(
            (ThumbnailRow.campaign_id == campaign_id) & (ThumbnailRow.video_id == video_id)
        )
    )
    session.add(
        CreatorWithdrawalRow(campaign_id=campaign_id, video_id=video_id, reason=reason, at=now)
    )
    known = session.scalar(
        select(VideoRow.id).where(
            VideoRow.campaign_id == campaign_id, VideoRow.video_id == video_id
        )
    )
    removed = session.scalar(
        select(RemovalRow.id).where(
            RemovalRow.campaign_id == campaign_id, RemovalRow.video_id == video_id
        )
    )
    if known is not None and removed is None:
        remove_video(
            session,
            campaign_id=campaign_id,
            video_id=video_id,
            reason=reason,
            by=f"creator:{creator_id}",
            at=now,
            source="creator",
        )
    else:
        record_event(
            session,
            campaign_id=campaign_id,
            action="creator.withdraw",
            by=f"creator:{creator_id}",
            at=now,
            details={"video_id": video_id, "reason": reason},
        )


def erase_creator(
    session: Session, cipher: TokenCipher, *, creator_id: int, now: int
) -> str | None:
    """Withdraw every entry (``data_erased``), delete tokens and consents, blank the names.

    Returns the access token (decrypted) so the caller can revoke it at TikTok, or None.
    """
    row = session.get(CreatorRow, creator_id)
    if row is None:
        raise StoreError("no such creator")
    for entry in session.scalars(
        select(CreatorEntryRow).where(CreatorEntryRow.creator_id == creator_id)
    ).all():
        withdraw_entry(
            session,
            campaign_id=entry.campaign_id,
            creator_id=creator_id,
            video_id=entry.video_id,
            now=now,
            reason="data_erased",
        )
    token = session.get(CreatorTokenRow, creator_id)
    access = None
    if token is not None:
        try:
            access = cipher.decrypt(token.access_token)
        except StoreError:
            access = None
        session.delete(token)
    session.execute(
        delete(CreatorParticipationRow).where(CreatorParticipationRow.creator_id == creator_id)
    )
    row.username, row.display_name, row.erased_at = "", "", now
    row.open_id = f"erased:{creator_id}"
    record_event(
        session,
        campaign_id=None,
        action="creator.erase",
        by=f"creator:{creator_id}",
        at=now,
        details={"creator_id": creator_id},
    )
    return access


def campaign_creators(session: Session, campaign_id: str) -> list[tuple[Creator, Participation]]:
    """Every creator taking part in the campaign, with their consent (for the organizer)."""
    rows = session.scalars(
        select(CreatorParticipationRow)
        .where(CreatorParticipationRow.campaign_id == campaign_id)
        .order_by(CreatorParticipationRow.id)
    ).all()
    out = []
    for row in rows:
        creator = get_creator(session, row.creator_id)
        found = participation(session, campaign_id, row.creator_id)
        if creator is not None and found is not None:
            out.append((creator, found))
    return out


def rotate_keys(session: Session, cipher: TokenCipher) -> int:
    """Re-encrypt every stored token and pending verifier with the newest key; return how many."""
    count = 0
    for token in session.scalars(select(CreatorTokenRow)):
        token.access_token = cipher.rotate(token.access_token)
        token.refresh_token = cipher.rotate(token.refresh_token)
        count += 1
    for login in session.scalars(select(CreatorLoginRow)):
        login.verifier = cipher.rotate(login.verifier)
        count += 1
    return count


# Tracking's store -------------------------------------------------------------------------------


class DbCreatorStore:
    """What tracking needs from the database about creators; each call is one transaction."""

    def __init__(self, engine: Engine, cipher: TokenCipher) -> None:
        self.engine = engine
        self.cipher = cipher

    def creators(self, campaign_id: str) -> list[TrackedCreator]:
        """The campaign's creators with entries, and their entries' ids."""
        with transaction(self.engine) as session:
            require_campaign(session, campaign_id)
            by_creator: dict[int, list[str]] = {}
            for entry in entries_of(session, campaign_id):
                if entry.creator_id is not None:
                    by_creator.setdefault(entry.creator_id, []).append(entry.video_id)
            out = []
            for creator_id, ids in sorted(by_creator.items()):
                creator = get_creator(session, creator_id)
                joined = participation(session, campaign_id, creator_id)
                if creator is None or joined is None:
                    continue
                out.append(
                    TrackedCreator(
                        creator_id=creator_id,
                        username=creator.username,
                        region=joined.region,
                        video_ids=tuple(ids),
                        token_status=creator.token_status,
                    )
                )
            return out

    def last_seen(self, campaign_id: str) -> dict[str, int]:
        """Each registered entry's latest observation time (from any source)."""
        with transaction(self.engine) as session:
            query = (
                select(VideoRow.video_id, func.max(ObservationRow.collected_at))
                .join(ObservationRow, ObservationRow.video_pk == VideoRow.id)
                .join(
                    CreatorEntryRow,
                    (CreatorEntryRow.campaign_id == VideoRow.campaign_id)
                    & (CreatorEntryRow.video_id == VideoRow.video_id),
                )
                .where(VideoRow.campaign_id == campaign_id)
                .group_by(VideoRow.video_id)
            )
            return {v: int(t) for v, t in session.execute(query)}

    def access_token(self, creator_id: int, *, now: int, refresh: Callable[[str], TokenSet]) -> str:
        """A valid access token: refreshed (and the rotated refresh token stored, in the same
        transaction) when it ends within :data:`REFRESH_MARGIN_S`. Raises what ``refresh`` raises;
        the transaction then rolls back and the stored tokens are as they were."""
        with transaction(self.engine) as session:
            token = session.scalar(
                select(CreatorTokenRow)
                .where(CreatorTokenRow.creator_id == creator_id)
                .with_for_update()
            )
            if token is None or token.status != "active":
                raise StoreError(f"creator {creator_id} has no working TikTok access")
            if token.expires_at - REFRESH_MARGIN_S > now:
                return self.cipher.decrypt(token.access_token)
            fresh = refresh(self.cipher.decrypt(token.refresh_token))
            _put_tokens(session, self.cipher, creator_id, fresh, now)
            return fresh.access_token

    def access_lost(self, creator_id: int, problem: str, *, now: int) -> None:
        """Note that TikTok no longer lets us read for this creator, and why."""
        with transaction(self.engine) as session:
            token = session.get(CreatorTokenRow, creator_id)
            if token is not None and token.status == "active":
                token.status, token.problem, token.problem_at = "lost", problem, now
                record_event(
                    session,
                    campaign_id=None,
                    action="creator.access_lost",
                    by="tracker",
                    at=now,
                    details={"creator_id": creator_id, "problem": problem},
                )

    def add(self, campaign_id: str, observations: Sequence[Observation]) -> int:
        """Store Display API observations (each video and instant once, whatever the source)."""
        with transaction(self.engine) as session:
            return add_observations(session, campaign_id, observations, source="display_api")

    def videos_gone(self, campaign_id: str, video_ids: Iterable[str], *, now: int) -> None:
        """Note entries TikTok no longer returned to their own creator (deleted or private)."""
        ids = set(video_ids)
        if not ids:
            return
        with transaction(self.engine) as session:
            for row in session.scalars(
                select(CreatorEntryRow).where(
                    CreatorEntryRow.campaign_id == campaign_id, CreatorEntryRow.video_id.in_(ids)
                )
            ):
                if row.problem is None:
                    row.problem, row.problem_at = "video_gone", now
            confirm_removals(
                session,
                campaign_id=campaign_id,
                missing_video_ids=ids,
                crawled_at=now,
                by="tracker",
            )
