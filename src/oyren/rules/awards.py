"""Awards: settling the prizes from ranked entries.

Prizes are settled in the order best video, discover, most creative. A creator who already holds
``max_prizes_per_creator`` prizes is passed over for the next in line. Ties go to the earlier post
(for a creator, their earlier first eligible post), then to the smaller id.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from oyren.rules.results import BestVideo, Discover, Entry, MostCreative, Winners, id_sort_key

__all__ = ["CreatorTotal", "JuryPick", "creator_totals", "settle"]


@dataclass(frozen=True, slots=True)
class CreatorTotal:
    """A creator's views summed over their eligible entries."""

    username: str
    views: int
    video_ids: tuple[str, ...]
    first_post: int
    first_post_id: str

    @property
    def sort_key(self) -> tuple[int, int, tuple[int, int, str]]:
        """Rank order: most views, then the earlier first post, then that post's smaller id."""
        return (-self.views, self.first_post, id_sort_key(self.first_post_id))


@dataclass(frozen=True, slots=True)
class JuryPick:
    """An entry in the jury's order, with the probability the model gives it of being best."""

    video_id: str
    probability: float


def creator_totals(eligible: Sequence[Entry]) -> list[CreatorTotal]:
    """Sum eligible entries per creator and return creators in rank order."""
    groups: dict[str, list[Entry]] = {}
    for entry in eligible:
        groups.setdefault(entry.username.casefold(), []).append(entry)
    totals = []
    for entries in groups.values():
        first = min(entries, key=lambda e: (e.create_time, id_sort_key(e.video_id)))
        ordered = sorted(entries, key=lambda e: e.sort_key)
        totals.append(
            CreatorTotal(
                username=first.username,
                views=sum(e.views_at_cutoff for e in entries),
                video_ids=tuple(e.video_id for e in ordered),
                first_post=first.create_time,
                first_post_id=first.video_id,
            )
        )
    totals.sort(key=lambda t: t.sort_key)
    return totals


def settle(
    ranked: Sequence[Entry],
    creators: Sequence[CreatorTotal],
    *,
    max_prizes_per_creator: int,
    jury: Sequence[JuryPick] = (),
) -> Winners:
    """Award the three prizes in order; ``ranked`` are eligible entries in rank order."""
    held: Counter[str] = Counter()

    def free(username: str) -> bool:
        return held[username.casefold()] < max_prizes_per_creator

    best_video = None
    for entry in ranked:
        if free(entry.username):
            best_video = BestVideo(entry.video_id, entry.username, entry.views_at_cutoff)
            held[entry.username.casefold()] += 1
            break
    discover = None
    for total in creators:
        if free(total.username):
            discover = Discover(total.username, total.views, total.video_ids)
            held[total.username.casefold()] += 1
            break
    most_creative = None
    by_id = {e.video_id: e for e in ranked}
    for pick in jury:
        pick_entry = by_id.get(pick.video_id)
        if pick_entry is not None and free(pick_entry.username):
            most_creative = MostCreative(pick.video_id, pick_entry.username, pick.probability)
            held[pick_entry.username.casefold()] += 1
            break
    return Winners(best_video=best_video, discover=discover, most_creative=most_creative)
