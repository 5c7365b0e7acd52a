"""Results: the engine's output, and its JSON form (the schema shared by ``run``, ``standings``,
exports and audit bundles)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, tzinfo
from typing import Any

import orjson

__all__ = [
    "BestVideo",
    "Discover",
    "Entry",
    "Flag",
    "MostCreative",
    "Results",
    "Winners",
    "flag_to_dict",
    "id_sort_key",
    "results_from_dict",
    "results_json",
    "results_to_dict",
]


def id_sort_key(video_id: str) -> tuple[int, int, str]:
    """Order ids numerically when they are numbers (TikTok ids are), else as text after them."""
    if video_id.isdigit():
        return (0, int(video_id), "")
    return (1, 0, video_id)


@dataclass(frozen=True, slots=True)
class Flag:
    """An integrity flag: a machine's suspicion with its evidence, for a person to weigh."""

    code: str
    score: float
    explanation: str  # in English, for the command line and files
    # The same evidence as data (names and numbers, nested tuples), so that a page can put it into
    # the reader's language with the reader's number format. Empty in results written before it.
    evidence: tuple[tuple[str, Any], ...] = ()

    def facts(self) -> dict[str, Any]:
        """The evidence as a mapping."""
        return dict(self.evidence)


@dataclass(frozen=True, slots=True)
class Entry:
    """One video's verdict: eligibility with reasons, and its views at the deadline."""

    video_id: str
    username: str
    create_time: int
    eligible: bool
    reasons: tuple[str, ...]
    views_at_cutoff: int
    views_basis: str
    observations: int
    gap_s: int | None = None
    flags: tuple[Flag, ...] = ()
    topic: str | None = None
    topic_confidence: float | None = None

    @property
    def sort_key(self) -> tuple[int, int, tuple[int, int, str]]:
        """Rank order: most views, then the earlier post, then the smaller id."""
        return (-self.views_at_cutoff, self.create_time, id_sort_key(self.video_id))


@dataclass(frozen=True, slots=True)
class BestVideo:
    """Winner of the most-viewed video prize."""

    video_id: str
    username: str
    views: int


@dataclass(frozen=True, slots=True)
class Discover:
    """Winner of the creator prize: most views across their eligible videos."""

    username: str
    views: int
    video_ids: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class MostCreative:
    """Winner of the jury prize, with the model's probability that it is the best."""

    video_id: str
    username: str
    probability: float


@dataclass(frozen=True, slots=True)
class Winners:
    """The three prizes; a prize is None when no entry can take it."""

    best_video: BestVideo | None = None
    discover: Discover | None = None
    most_creative: MostCreative | None = None


@dataclass(frozen=True, slots=True)
class Results:
    """Everything decided for a campaign: entries in rank order, and the winners."""

    campaign: str
    cutoff: datetime
    entries: tuple[Entry, ...]
    winners: Winners
    creators: tuple[tuple[str, int, tuple[str, ...]], ...] = field(default=())

    @property
    def eligible(self) -> tuple[Entry, ...]:
        """The eligible entries, in rank order."""
        return tuple(e for e in self.entries if e.eligible)


def _iso_utc(ts: int) -> str:
    return datetime.fromtimestamp(ts, tz=UTC).isoformat().replace("+00:00", "Z")


def results_to_dict(results: Results) -> dict[str, Any]:
    """Return the JSON form of ``results`` (stable key order, ids as strings)."""
    w = results.winners
    return {
        "campaign": results.campaign,
        "cutoff": results.cutoff.isoformat(),
        "entries": [
            {
                "video_id": e.video_id,
                "username": e.username,
                "eligible": e.eligible,
                "reasons": list(e.reasons),
                "views_at_cutoff": e.views_at_cutoff,
                "views_basis": e.views_basis,
                "create_time": e.create_time,
                "posted_at": datetime.fromtimestamp(
                    e.create_time, tz=results.cutoff.tzinfo
                ).isoformat(),
                "observations": e.observations,
                "gap_s": e.gap_s,
                "flags": [flag_to_dict(f) for f in e.flags],
                "topic": e.topic,
                "topic_confidence": e.topic_confidence,
            }
            for e in results.entries
        ],
        "creators": [
            {"username": u, "views": v, "video_ids": list(ids)} for u, v, ids in results.creators
        ],
        "winners": {
            "best_video": None
            if w.best_video is None
            else {
                "video_id": w.best_video.video_id,
                "username": w.best_video.username,
                "views": w.best_video.views,
            },
            "discover": None
            if w.discover is None
            else {
                "username": w.discover.username,
                "views": w.discover.views,
                "video_ids": list(w.discover.video_ids),
            },
            "most_creative": None
            if w.most_creative is None
            else {
                "video_id": w.most_creative.video_id,
                "username": w.most_creative.username,
                "probability": w.most_creative.probability,
            },
        },
    }


def flag_to_dict(flag: Flag) -> dict[str, Any]:
    """The JSON form of an integrity flag, as :func:`results_to_dict` writes it in an entry."""
    return {
        "code": flag.code,
        "score": flag.score,
        "explanation": flag.explanation,
        "evidence": {k: _listed(v) for k, v in flag.evidence},
    }


def _listed(value: Any) -> Any:
    """Evidence for JSON: tuples become lists."""
    if isinstance(value, tuple | list):
        return [_listed(v) for v in value]
    return value


def _tupled(value: Any) -> Any:
    """Evidence from JSON: lists become tuples again, so flags stay hashable."""
    if isinstance(value, list | tuple):
        return tuple(_tupled(v) for v in value)
    return value


def results_json(results: Results) -> bytes:
    """Return the JSON bytes of ``results`` (indented, ending in a newline), as published."""
    return orjson.dumps(results_to_dict(results), option=orjson.OPT_INDENT_2) + b"\n"


def results_from_dict(data: dict[str, Any], *, tz: tzinfo) -> Results:
    """Rebuild :class:`Results` from :func:`results_to_dict` output; ``tz`` is the campaign's zone.

    ``results_to_dict(results_from_dict(d, tz=...)) == d`` for what this module wrote.
    """
    w = data["winners"]
    best, discover, creative = w["best_video"], w["discover"], w["most_creative"]
    return Results(
        campaign=data["campaign"],
        cutoff=datetime.fromisoformat(data["cutoff"]).astimezone(tz),
        entries=tuple(
            Entry(
                video_id=e["video_id"],
                username=e["username"],
                create_time=e["create_time"],
                eligible=e["eligible"],
                reasons=tuple(e["reasons"]),
                views_at_cutoff=e["views_at_cutoff"],
                views_basis=e["views_basis"],
                observations=e["observations"],
                gap_s=e["gap_s"],
                flags=tuple(
                    Flag(
                        f["code"],
                        f["score"],
                        f["explanation"],
                        tuple((k, _tupled(v)) for k, v in f.get("evidence", {}).items()),
                    )
                    for f in e["flags"]
                ),
                topic=e["topic"],
                topic_confidence=e["topic_confidence"],
            )
            for e in data["entries"]
        ),
        winners=Winners(
            best_video=None if best is None else BestVideo(**best),
            discover=None
            if discover is None
            else Discover(discover["username"], discover["views"], tuple(discover["video_ids"])),
            most_creative=None if creative is None else MostCreative(**creative),
        ),
        creators=tuple(
            (c["username"], c["views"], tuple(c["video_ids"])) for c in data["creators"]
        ),
    )
