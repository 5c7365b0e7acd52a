"""The videos' metadata as columns, as an engine returns them. No I/O.

Screening reads a few fields of every video (counts, captions, sounds, lengths) and whole
observations of only the few it flags. :class:`MetaColumns` holds one list per field of
:class:`~oyren.rules.observations.Observation` and is a sequence of observations built on demand,
so the screener's loops over every video read columns and a query's result needs no object per
video. :func:`as_columns` gives the columns of any sequence of observations.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, fields
from typing import Any, overload

from oyren.rules.observations import Observation

__all__ = ["FIELDS", "MetaColumns", "as_columns"]

# Observation's fields, in order: the columns, and the arguments that build one back.
FIELDS = tuple(f.name for f in fields(Observation))


@dataclass(frozen=True, slots=True)
class MetaColumns(Sequence[Observation]):
    """Videos' metadata observations as one list per field, all of one length."""

    video_id: list[str]
    username: list[str]
    create_time: list[int]
    collected_at: list[int]
    view_count: list[int]
    region_code: list[str | None]
    description: list[str]
    hashtags: list[tuple[str, ...]]
    duration_s: list[int | None]
    like_count: list[int | None]
    comment_count: list[int | None]
    share_count: list[int | None]
    music_id: list[str | None]
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
