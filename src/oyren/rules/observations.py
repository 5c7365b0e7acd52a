"""An observation: what a crawl (or a creator's sign-in, or an import) saw of a video at one moment.

The rules decide from observations alone; reading them from files and answers is
:mod:`oyren.inputs`' business.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = ["Observation", "observation_to_record"]


@dataclass(frozen=True, slots=True)
class Observation:
    """One sighting of a video: its metadata and counts at ``collected_at`` (Unix seconds)."""

    video_id: str
    username: str
    create_time: int
    collected_at: int
    view_count: int
    region_code: str | None = None
    description: str = ""
    hashtags: tuple[str, ...] = ()
    duration_s: int | None = None
    like_count: int | None = None
    comment_count: int | None = None
    share_count: int | None = None
    music_id: str | None = None
    voice_to_text: str | None = None


def observation_to_record(obs: Observation) -> dict[str, Any]:
    """Return ``obs`` in API field names, as :func:`observation_from_record` reads it back."""
    record: dict[str, Any] = {
        "id": obs.video_id,
        "username": obs.username,
        "create_time": obs.create_time,
        "region_code": obs.region_code,
        "video_description": obs.description,
        "hashtag_names": list(obs.hashtags),
        "video_duration": obs.duration_s,
        "view_count": obs.view_count,
        "like_count": obs.like_count,
        "comment_count": obs.comment_count,
        "share_count": obs.share_count,
        "collected_at": obs.collected_at,
    }
    if obs.music_id is not None:
        record["music_id"] = obs.music_id
    if obs.voice_to_text is not None:
        record["voice_to_text"] = obs.voice_to_text
    return {k: v for k, v in record.items() if v is not None}
