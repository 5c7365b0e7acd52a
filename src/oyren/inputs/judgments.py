"""Judgments: what a juror answered, and reading a round's judgments from a JSONL file.

A juror answers a question in one of four ways, one JSON object a line::

    {"judge": "aysel", "winner": "7340000000000000001", "loser": "7340000000000000002"}
    {"judge": "aysel", "tie": ["7340000000000000001", "7340000000000000002"]}
    {"judge": "aysel", "ranking": ["7340000000000000003", "7340000000000000001", "…"]}
    {"judge": "aysel", "skip": ["7340000000000000004"]}

    {"judge": "ali", "tiebreak": ["7340000000000000001", "7340000000000000002"], "reason": "…"}

A ranking lists a small batch best first. A skip says the juror cannot judge those entries (a
video that will not play, a creator they know); they are not shown to that juror again. Optional
fields: ``at`` (ISO 8601 with an offset, or Unix seconds) and ``undone`` (``true`` when the juror
took the answer back: the line stays for the audit trail but no longer counts). A tie-break is
not a juror's answer but the organizer's decision between two entries the jury could not
separate, first over second, with its ``reason`` (required); the model never sees it, and the
latest one in force puts its first entry ahead of its second in the jury's order. Other keys are
ignored. :func:`read_judgments` raises :class:`~oyren.errors.InputError` naming the file, line
and field of the first bad line.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

from oyren.errors import InputError
from oyren.inputs.records import MAX_TIMESTAMP, json_objects

__all__ = [
    "KINDS",
    "MAX_RANKING",
    "Judgment",
    "active",
    "read_judgments",
    "tiebreak",
    "without_judges",
]

Kind = Literal["pair", "tie", "ranking", "skip", "tiebreak"]
KINDS: tuple[Kind, ...] = ("pair", "tie", "ranking", "skip", "tiebreak")
MAX_REASON = 2000
# A juror cannot meaningfully order more videos than fit on one screen; longer lists are
# imports of a different kind of data (or hostile input that would blow up the model's arrays).
MAX_RANKING = 20
MAX_ID_LENGTH = 64
MAX_JUDGE_LENGTH = 100


@dataclass(frozen=True, slots=True)
class Judgment:
    """One answer by one juror; ``entries`` are best first for a pair or a ranking."""

    judge: str
    kind: Kind
    entries: tuple[str, ...]
    at: int | None = None
    undone: bool = False
    note: str | None = None  # a tie-break's reason

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"kind must be one of {KINDS}")
        if not self.judge:
            raise ValueError("a judgment needs a judge")
        if len(set(self.entries)) != len(self.entries):
            raise ValueError("an entry appears twice in one judgment")
        if self.kind in ("pair", "tie", "tiebreak") and len(self.entries) != 2:
            raise ValueError(f"a {self.kind} names exactly two entries")
        if self.kind == "ranking" and not 2 <= len(self.entries) <= MAX_RANKING:
            raise ValueError(f"a ranking names 2 to {MAX_RANKING} entries")
        if self.kind == "skip" and not self.entries:
            raise ValueError("a skip names at least one entry")
        if self.kind == "tiebreak" and not (self.note or "").strip():
            raise ValueError("a tie-break needs a reason")

    @classmethod
    def pair(cls, judge: str, winner: str, loser: str, *, at: int | None = None) -> Judgment:
        """``judge`` preferred ``winner`` to ``loser``."""
        return cls(judge, "pair", (winner, loser), at)

    @classmethod
    def tie(cls, judge: str, a: str, b: str, *, at: int | None = None) -> Judgment:
        """``judge`` found ``a`` and ``b`` equal."""
        return cls(judge, "tie", (a, b), at)

    @classmethod
    def ranking(cls, judge: str, order: Iterable[str], *, at: int | None = None) -> Judgment:
        """``judge`` ordered a batch, best first (a ranking of two is a pair)."""
        entries = tuple(order)
        return cls(judge, "pair" if len(entries) == 2 else "ranking", entries, at)

    @classmethod
    def skip(cls, judge: str, entries: Iterable[str], *, at: int | None = None) -> Judgment:
        """``judge`` declined to judge ``entries``."""
        return cls(judge, "skip", tuple(entries), at)

    @classmethod
    def tiebreak(
        cls, organizer: str, first: str, second: str, reason: str, *, at: int | None = None
    ) -> Judgment:
        """The organizer put ``first`` ahead of ``second``, for ``reason``."""
        return cls(organizer, "tiebreak", (first, second), at, note=reason)

    @property
    def counts(self) -> bool:
        """Whether the answer carries a preference the ranking model uses."""
        return not self.undone and self.kind not in ("skip", "tiebreak")


def active(judgments: Iterable[Judgment]) -> list[Judgment]:
    """Return the judgments the model uses: not undone, not skips, not tie-breaks."""
    return [j for j in judgments if j.counts]


def tiebreak(judgments: Iterable[Judgment]) -> Judgment | None:
    """The organizer's tie-break in force: the latest one not undone, if any."""
    found = None
    for judgment in judgments:
        if judgment.kind == "tiebreak" and not judgment.undone:
            found = judgment
    return found


def without_judges(judgments: Iterable[Judgment], judges: Collection[str]) -> list[Judgment]:
    """Drop every judgment by ``judges`` (a juror found careless or conflicted)."""
    return [j for j in judgments if j.judge not in judges]


def read_judgments(path: str | Path, entry_ids: Collection[str]) -> list[Judgment]:
    """Read a JSONL judgments file; every id must be in ``entry_ids``."""
    name = str(path)
    known = entry_ids if isinstance(entry_ids, set | frozenset | Mapping) else set(entry_ids)
    return [
        _judgment_from_record(record, known, name, number) for number, record in json_objects(path)
    ]


_FORMS = {"winner": "pair", "loser": "pair", "tie": "tie", "ranking": "ranking", "skip": "skip",
          "tiebreak": "tiebreak"}  # fmt: skip


def _judgment_from_record(
    record: dict[str, Any], known: Collection[str], path: str, line: int
) -> Judgment:
    def fail(field: str | None, message: str) -> InputError:
        return InputError(message, path=path, line=line, field=field)

    forms = sorted({_FORMS[key] for key in record if key in _FORMS})
    if not forms:
        raise fail(None, 'needs "winner" and "loser", "tie", "ranking", "skip" or "tiebreak"')
    if len(forms) > 1:
        raise fail(None, f"mixes {' and '.join(forms)}: write one answer per line")
    kind = forms[0]
    judge = record.get("judge")
    if judge is None:
        raise fail("judge", "required field is missing: who answered")
    if not isinstance(judge, str) or not judge.replace("\x00", "").strip():
        raise fail("judge", "must be a non-empty string")
    judge = judge.replace("\x00", "").strip()
    if len(judge) > MAX_JUDGE_LENGTH:
        raise fail("judge", f"is longer than {MAX_JUDGE_LENGTH} characters")

    def entry(value: Any, field: str) -> str:
        if isinstance(value, bool) or not isinstance(value, int | str):
            raise fail(field, f"ids must be strings or integers, not {_json_type(value)}")
        text = str(value).replace("\x00", "").strip()
        if not text or len(text) > MAX_ID_LENGTH or any(ch.isspace() for ch in text):
            raise fail(field, f"'{text[:40]}' is not an id (no spaces, 1 to {MAX_ID_LENGTH} chars)")
        if text not in known:
            raise fail(field, f"'{text}' is not an entry of this contest: check the id")
        return text

    def entries(field: str, low: int, high: int) -> tuple[str, ...]:
        value = record[field]
        if not isinstance(value, list):
            raise fail(field, f"must be a list of ids, not {_json_type(value)}")
        if not low <= len(value) <= high:
            size = f"exactly {low}" if low == high else f"{low} to {high}"
            raise fail(field, f"must list {size} ids, not {len(value)}")
        ids = tuple(entry(item, field) for item in value)
        if len(set(ids)) != len(ids):
            repeated = next(i for i in ids if ids.count(i) > 1)
            raise fail(field, f"'{repeated}' appears twice")
        return ids

    if kind == "pair":
        for field in ("winner", "loser"):
            if record.get(field) is None:
                raise fail(field, "required field is missing (a pair needs winner and loser)")
        ids: tuple[str, ...] = (entry(record["winner"], "winner"), entry(record["loser"], "loser"))
        if ids[0] == ids[1]:
            raise fail("loser", "is the same entry as the winner")
    elif kind == "tie":
        ids = entries("tie", 2, 2)
    elif kind == "ranking":
        ids = entries("ranking", 2, MAX_RANKING)
    elif kind == "tiebreak":
        ids = entries("tiebreak", 2, 2)
    else:
        ids = entries("skip", 1, MAX_RANKING)
    note = None
    if kind == "tiebreak":
        reason = record.get("reason")
        if not isinstance(reason, str) or not reason.replace("\x00", "").strip():
            raise fail("reason", "a tie-break needs a reason (non-empty text)")
        note = reason.replace("\x00", "").strip()
        if len(note) > MAX_REASON:
            raise fail("reason", f"is longer than {MAX_REASON} characters")
    undone = record.get("undone", False)
    if not isinstance(undone, bool):
        raise fail("undone", f"must be true or false, not {_json_type(undone)}")
    at = _moment(record.get("at"), fail)
    if kind == "ranking" and len(ids) == 2:
        kind = "pair"
    return Judgment(judge, kind, ids, at, undone, note)  # type: ignore[arg-type]


def _moment(value: Any, fail: Callable[[str | None, str], InputError]) -> int | None:
    if value is None:
        return None
    if isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value.strip())
        except ValueError:
            example = "like 2024-04-25T10:00:00+04:00"
            raise fail("at", f"'{value[:40]}' is not ISO 8601 ({example})") from None
        if moment.tzinfo is None:
            raise fail("at", "needs a UTC offset, like +04:00 or Z")
        value = int(moment.timestamp())
    if isinstance(value, int) and not isinstance(value, bool):
        if not 0 <= value < MAX_TIMESTAMP:  # before 2100: anything else is a unit mistake
            raise fail("at", f"{value} is not a plausible time in Unix seconds")
        return value
    raise fail("at", f"must be ISO 8601 text or Unix seconds, not {_json_type(value)}")


_JSON_TYPES = {bool: "a boolean", int: "an integer", float: "a number", str: "a string",
               list: "a list", dict: "an object", type(None): "null"}  # fmt: skip


def _json_type(value: object) -> str:
    return _JSON_TYPES.get(type(value), "a value")
