"""People's decisions: a moderator's verdict on one video, the latest one in force.

A decision either excludes a video (with a reason a person wrote) or includes it, which clears
the soft reasons a machine could be wrong about (see :mod:`oyren.rules.eligibility`). Reading them
from files is :mod:`oyren.inputs.decisions`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

__all__ = ["ACTIONS", "Decision", "latest_decisions"]

ACTIONS = ("exclude", "include")


@dataclass(frozen=True, slots=True)
class Decision:
    """A moderator's decision on a video at a moment (Unix seconds)."""

    video_id: str
    action: str
    reason: str
    by: str
    at: int

    def __post_init__(self) -> None:
        if self.action not in ACTIONS:
            raise ValueError(f"action must be one of {ACTIONS}")
        if self.action == "exclude" and not self.reason.strip():
            raise ValueError("an exclusion needs a reason")


def latest_decisions(decisions: Iterable[Decision]) -> dict[str, Decision]:
    """Return the decision in force per video: the latest, the later-listed on equal times."""
    out: dict[str, Decision] = {}
    for decision in decisions:
        current = out.get(decision.video_id)
        if current is None or decision.at >= current.at:
            out[decision.video_id] = decision
    return out
