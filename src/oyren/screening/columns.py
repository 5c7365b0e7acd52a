"""The videos' metadata as columns, as an engine returns them. No I/O.

Screening reads a few fields of every video (counts, captions, sounds, lengths) and whole
observations of only the few it flags. :class:`MetaColumns` holds one list per field of
:class:`~oyren.rules.observations.Observation` and is a sequence of observations built on demand,
so the screener's loops over every video read columns and a query's result needs no object per
video. :func:`as_columns` gives the columns of any sequence of observations.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, fields
from typing import Any, Protocol, TypeVar, overload

from oyren.rules.observations import Observation

__all__ = ["FIELDS", "Column", "MetaColumns", "as_columns"]

T = TypeVar("T")

# Observation's fields, in order: the columns, and the arguments that build one back.
FIELDS = tuple(f.name for f in fields(Observation))


class Column(Protocol[T]):
    """A column read an item at a time: a list, or an engine's column whose items are made only
    when read (for fields the screener reads of the few videos it flags)."""

    def __len__(self) -> int: ...

    def __getitem__(self, index: int, /) -> T: ...

    def __setitem__(self, index: int, value: T, /) -> None: ...

    def __iter__(self) -> Iterator[T]: ...


@dataclass(frozen=True, slots=True)
class MetaColumns(Sequence[Observation]):
    """Videos' metadata observations as one list per field, all of one length (the fields read
    of flagged videos only may be any :class:`Column`)."""

    video_id: Column[str]
    username: Column[str]
    create_time: list[int]
    collected_at: Column[int]
    view_count: list[int]
    region_code: Column[str | None]
    description: list[str]
    hashtags: list[tuple[str, ...]]
    duration_s: list[int | None]
    like_count: list[int | None]
    comment_count: list[int | None]
    share_count: list[int | None]
    music_id: Column[str | None]
    voice_to_text: list[str | None]

    def __len__(self) -> int:
        return len(self.video_id)

    @overload
    def __getitem__(self, index: int) -> Observation: ...

    @overload
    def __getitem__(self, index: slice) -> list[Observation]: ...

    def __getitem__(self, index: int | slice) -> Observation | list[Observation]:
        if isinstance(index, slice):
            return [self[i] for i in range(len(self))[index]]
        return Observation(*(getattr(self, name)[index] for name in FIELDS))

    def put(self, index: int, observation: Observation) -> None:
        """Replace the observation at ``index``."""
        for name in FIELDS:
            column: list[Any] = getattr(self, name)
            column[index] = getattr(observation, name)


def as_columns(metas: Sequence[Observation]) -> MetaColumns:
    """The columns of ``metas`` (``metas`` itself when it is columns already)."""
    if isinstance(metas, MetaColumns):
        return metas
    return MetaColumns(*([getattr(m, name) for m in metas] for name in FIELDS))
