"""Explaining a verdict to the creator: the facts behind each reason and what can still be done.

The engine says *that* a video is not counted (a reason code from
:data:`oyren.rules.eligibility.REASONS`); a creator needs to know *why* in terms of their own video
("posted at 01:00 on 22 April Baku time, after the deadline") and whether anything can still be
fixed. :func:`explain` is pure: it gathers those facts into an :class:`Explanation`, and a shell
puts them into words in the reader's language.

Fixes follow the engine's rules. Metadata counts *as the video stood at the deadline*, so a
missing hashtag can be added to the description until then; a video's length and posting time
cannot change, so the only fix is a new video posted in time; region, partner accounts and the
deadline itself cannot be fixed at all. Reasons a moderator clears by checking the video by hand
leave the creator nothing to do but wait, and a person's exclusion can be appealed.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from oyren.rules.campaign import Campaign
from oyren.rules.eligibility import REASONS

__all__ = [
    "FIXES",
    "PENDING_REASONS",
    "STATUSES",
    "Explanation",
    "entry_status",
    "explain",
]

STATUSES = ("counted", "pending", "not_counted")
# Reasons that mean "the API did not tell us": a moderator checks the video by hand, so the
# verdict is pending rather than final.
PENDING_REASONS = frozenset({"duration_unknown", "region_unknown"})
# What the creator can do: edit the description, post a new video, wait for a person's check,
# ask the organizer to look again, or nothing.
FIXES = ("add_hashtag", "post_again", "wait_for_check", "appeal", "none")


@dataclass(frozen=True, slots=True)
class Explanation:
    """The facts behind one reason, and the fix still open to the creator.

    Times are aware datetimes in the campaign's time zone. ``side`` is ``"early"`` or
    ``"late"`` for ``outside_window``; ``can_fix`` is False when ``fix`` is ``"none"`` or the
    deadline for it has passed.
    """

    reason: str
    fix: str
    can_fix: bool
    posted_at: datetime
    window_start: datetime
    cutoff: datetime
    side: str | None = None
    duration_s: int | None = None
    min_duration_s: int = 0
    region_code: str | None = None
    regions: tuple[str, ...] = ()
    hashtag: str = ""
    note: str = ""


def entry_status(reasons: Iterable[str]) -> str:
    """Return ``counted``, ``pending`` (only reasons a person still has to check) or
    ``not_counted``."""
    found = frozenset(reasons)
    if not found:
        return "counted"
    if found <= PENDING_REASONS:
        return "pending"
    return "not_counted"


def explain(
    reason: str,
    *,
    campaign: Campaign,
    now: int,
    create_time: int,
    duration_s: int | None = None,
    region_code: str | None = None,
    note: str = "",
) -> Explanation:
    """Return the facts behind ``reason`` for one video and what the creator can still do.

    ``now`` is Unix seconds; ``note`` is a moderator's written reason, shown with an exclusion.
    """
    if reason not in REASONS:
        raise ValueError(f"unknown reason {reason!r}")
    before_deadline = now <= campaign.cutoff_ts
    side = None
    if reason == "outside_window":
        side = "early" if create_time < campaign.window_start_ts else "late"
    fix = _fix(reason, side=side, before_deadline=before_deadline)
    can_fix = fix != "none" and (before_deadline or fix in ("wait_for_check", "appeal"))
    return Explanation(
        reason=reason,
        fix=fix,
        can_fix=can_fix,
        posted_at=campaign.local(create_time),
        window_start=campaign.window_start,
        cutoff=campaign.cutoff,
        side=side,
        duration_s=duration_s,
        min_duration_s=campaign.min_duration_s,
        region_code=region_code,
        regions=tuple(sorted(campaign.regions)),
        hashtag=campaign.hashtags[0],
        note=note,
    )


def _fix(reason: str, *, side: str | None, before_deadline: bool) -> str:
    if reason in PENDING_REASONS:
        return "wait_for_check"
    if reason in ("excluded_by_moderator", "removed"):
        return "appeal"
    if reason == "no_campaign_hashtag":
        # After the deadline the description is settled; a person can still see that the API
        # missed a hashtag that was there, which is what an appeal asks for.
        return "add_hashtag" if before_deadline else "appeal"
    if reason == "too_short" or (reason == "outside_window" and side == "early"):
        return "post_again" if before_deadline else "none"
    return "none"  # posted after the deadline, another region, a partner institution
