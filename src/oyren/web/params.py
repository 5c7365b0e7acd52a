"""The bounds of every route parameter and form field, in one place.

Each type is an ``Annotated`` FastAPI parameter: routes use them as they are, so a bound is
written once and shows in the OpenAPI description. Integers stop at what the database's 32-bit
ids hold (a larger number cannot name a stored row, and reaching the database with it fails),
texts at what a person or a TikTok link could need. A value past a bound is a 400 naming the
field, before a handler runs.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Form, Path, Query
from pydantic import Field

from oyren.jury.rounds import MAX_SIZE
from oyren.store.jury import MAX_SHORTLIST

__all__ = [
    "DB_ID_MAX",
    "MAX_BATCH",
    "MAX_SHORTLIST",
    "AuditBefore",
    "CampaignId",
    "EntryIds",
    "NextPath",
    "Offset",
    "Places",
    "RoundId",
    "VideoId",
]

DB_ID_MAX = 2**31 - 1
"""The largest id the database's integer keys hold (PostgreSQL ``integer``)."""
MAX_BATCH = MAX_SIZE
"""The most videos a juror compares at once."""

CampaignId = Annotated[
    str,
    Path(
        pattern=r"^[a-z0-9][a-z0-9-]{0,62}$",
        description="The campaign's id, e.g. tiktokdan-oyren-2024",
    ),
]
VideoId = Annotated[
    str, Path(pattern=r"^[A-Za-z0-9_-]{1,64}$", description="A video's id as TikTok gives it")
]
RoundId = Annotated[int, Path(ge=1, le=DB_ID_MAX, description="A jury round's number")]
AuditBefore = Annotated[
    int | None, Query(ge=1, le=DB_ID_MAX, description="Show entries older than this id")
]
Offset = Annotated[int, Query(ge=0, le=10_000_000, description="Rank to start after")]
NextPath = Annotated[str, Form(max_length=2000, description="Where to go afterwards")]
EntryIds = Annotated[
    list[Annotated[str, Field(max_length=64)]],
    Form(min_length=1, max_length=MAX_BATCH, description="The question's video ids, in order"),
]
Places = Annotated[
    list[Annotated[int, Field(ge=1, le=MAX_BATCH)]] | None,
    Form(max_length=MAX_BATCH, description="Each entry's place, 1 = best"),
]
