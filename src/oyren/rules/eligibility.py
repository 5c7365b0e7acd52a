"""Eligibility: whether a video takes part in the contest, and every reason why not.

:func:`decide` is pure: a video's metadata at the deadline, the campaign's rules and any
moderation decision in; an :class:`Eligibility` out. Reasons are stable codes (listed in
:data:`REASONS`, in the order they are reported); a video is eligible exactly when it has none.

Hard rules (window, duration, region, partner account, removal) cannot be cleared by a person.
Soft reasons — a hashtag the API may have missed, a duration or region the API did not report —
can be cleared by a moderator's inclusion, who has checked the video by hand.
"""

from __future__ import annotations

from dataclasses import dataclass

from oyren.rules.campaign import Campaign
from oyren.rules.decisions import Decision
from oyren.rules.hashtags import has_campaign_hashtag
from oyren.rules.observations import Observation

__all__ = ["HARD_REASONS", "REASONS", "SOFT_REASONS", "Eligibility", "RuleSet", "decide"]

REASONS = (
    "no_campaign_hashtag",
    "outside_window",
    "too_short",
    "duration_unknown",
    "outside_region",
    "region_unknown",
    "partner_account",
    "removed",
    "excluded_by_moderator",
)
SOFT_REASONS = frozenset({"no_campaign_hashtag", "duration_unknown", "region_unknown"})
HARD_REASONS = frozenset(REASONS) - SOFT_REASONS - {"excluded_by_moderator"}


@dataclass(frozen=True, slots=True)
class Eligibility:
    """The verdict on one video: eligible exactly when ``reasons`` is empty."""

    reasons: tuple[str, ...]

    @property
    def eligible(self) -> bool:
        """True when no reason keeps the video out."""
        return not self.reasons


@dataclass(frozen=True, slots=True)
class RuleSet:
    """The campaign's rules, pre-computed once for deciding many videos."""

    hashtags: frozenset[str]
    window_start: int
    cutoff: int
    min_duration_s: int
    regions: frozenset[str]
    partners: frozenset[str]

    @classmethod
    def of(cls, campaign: Campaign) -> RuleSet:
        """Build the rule set of ``campaign``."""
        return cls(
            hashtags=campaign.folded_hashtags,
            window_start=campaign.window_start_ts,
            cutoff=campaign.cutoff_ts,
            min_duration_s=campaign.min_duration_s,
            regions=campaign.regions,
            partners=campaign.partner_usernames,
        )


def decide(
    meta: Observation,
    rules: RuleSet,
    *,
    decision: Decision | None = None,
    removed: bool = False,
) -> Eligibility:
    """Apply every rule to a video's metadata at the deadline and return all reasons that fail."""
    reasons: list[str] = []
    if not has_campaign_hashtag(meta.hashtags, rules.hashtags):
        reasons.append("no_campaign_hashtag")
    if not rules.window_start <= meta.create_time <= rules.cutoff:
        reasons.append("outside_window")
    if meta.duration_s is None:
        reasons.append("duration_unknown")
    elif meta.duration_s < rules.min_duration_s:
        reasons.append("too_short")
    if meta.region_code is None:
        reasons.append("region_unknown")
    elif meta.region_code not in rules.regions:
        reasons.append("outside_region")
    if meta.username.casefold() in rules.partners:
        reasons.append("partner_account")
    if removed:
        reasons.append("removed")
    if decision is not None:
        if decision.action == "exclude":
            reasons.append("excluded_by_moderator")
        else:
            reasons = [r for r in reasons if r not in SOFT_REASONS]
    return Eligibility(tuple(reasons))
