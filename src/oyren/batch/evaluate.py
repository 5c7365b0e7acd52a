"""The engine with its inputs assembled: what ``oyren run``, the store and the tracking plan call.

:mod:`oyren.rules.engine` decides and settles the prizes; :func:`evaluate` adds the campaign's
screener (:class:`oyren.screening.screener.CampaignScreener`) unless ``screen`` is off, which
settles the same prizes faster. :func:`decide` is the one assembly of a campaign's inputs — videos,
people's decisions, removals, the jury's judgments — into the engine's arguments: the file path
(``oyren run``, ``oyren verify``) and the store path (standings, award) both call it, so a result
from the store and one recomputed from its audit bundle agree by construction.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Protocol

from oyren.inputs.judgments import Judgment, active, tiebreak
from oyren.inputs.removals import Removal, removed_ids
from oyren.rules import engine
from oyren.rules.awards import CreatorTotal, JuryPick, settle
from oyren.rules.campaign import Campaign
from oyren.rules.decisions import Decision, latest_decisions
from oyren.rules.eligibility import RuleSet
from oyren.rules.observations import Observation
from oyren.rules.results import Entry, Results, Winners
from oyren.rules.videos import Video

if TYPE_CHECKING:
    from oyren.screening.screener import CampaignScreener

__all__ = [
    "Engine",
    "PureEngine",
    "decide",
    "decide_videos",
    "decide_with",
    "evaluate",
    "evaluate_observations",
    "judged_entries",
    "jury_from_contenders",
    "jury_order",
    "settle_ranked",
]


def _screener(campaign: Campaign) -> CampaignScreener:
    """The campaign's screener, imported when asked for: a run without screening never loads
    the screening packages (and numpy)."""
    from oyren.screening.screener import CampaignScreener

    return CampaignScreener(campaign)


def evaluate(
    campaign: Campaign,
    videos: Iterable[Video],
    *,
    decisions: Mapping[str, Decision] | None = None,
    removed: frozenset[str] = frozenset(),
    jury: Sequence[JuryPick] = (),
    screen: bool = True,
) -> Results:
    """Decide every video and settle the prizes; ``screen`` adds integrity flags and topics."""
    return engine.evaluate(
        campaign, videos, decisions=decisions, removed=removed, jury=jury,
        screener=_screener(campaign) if screen else None,
    )  # fmt: skip


def evaluate_observations(
    campaign: Campaign,
    observations: Iterable[Observation],
    *,
    decisions: Mapping[str, Decision] | None = None,
    removed: frozenset[str] = frozenset(),
    jury: Sequence[JuryPick] = (),
    screen: bool = True,
) -> Results:
    """Group raw observations into videos and :func:`evaluate` them."""
    return engine.evaluate_observations(
        campaign, observations, decisions=decisions, removed=removed, jury=jury,
        screener=_screener(campaign) if screen else None,
    )  # fmt: skip


class Engine(Protocol):
    """An engine deciding a campaign from inputs :func:`decide_with` assembled.

    Two engines take the same assembled inputs: the pure rules over videos in memory
    (:class:`PureEngine`) and the query plan over a columnar file (:mod:`oyren.batch.plan`).
    """

    def eligible_ids(
        self, decisions: Mapping[str, Decision], removed: frozenset[str]
    ) -> Sequence[str]:
        """The eligible videos' ids in rank order (no jury, no screening): the jury's contenders."""
        ...

    def results(
        self,
        decisions: Mapping[str, Decision],
        removed: frozenset[str],
        jury: Sequence[JuryPick],
        *,
        screen: bool,
    ) -> Results:
        """Decide every video and settle the prizes."""
        ...


class PureEngine:
    """The pure rules engine over a campaign's videos held in memory."""

    def __init__(self, campaign: Campaign, videos: Mapping[str, Video]) -> None:
        self.campaign = campaign
        self.videos = videos

    def eligible_ids(
        self, decisions: Mapping[str, Decision], removed: frozenset[str]
    ) -> Sequence[str]:
        """The eligible videos' ids in rank order."""
        first = engine.evaluate(
            self.campaign, self.videos.values(), decisions=decisions, removed=removed
        )
        return [e.video_id for e in first.eligible]

    def results(
        self,
        decisions: Mapping[str, Decision],
        removed: frozenset[str],
        jury: Sequence[JuryPick],
        *,
        screen: bool,
    ) -> Results:
        """Decide every video and settle the prizes."""
        return evaluate(
            self.campaign, self.videos.values(), decisions=decisions, removed=removed, jury=jury,
            screen=screen,
        )  # fmt: skip


def jury_order(
    campaign: Campaign,
    videos: Mapping[str, Video],
    judgments: Iterable[Judgment],
    *,
    decisions: Mapping[str, Decision] | None = None,
    removed: frozenset[str] = frozenset(),
) -> list[JuryPick]:
    """The jury's order for the most creative prize: fitted over the judged entries that can win.

    P(best) is over the entries that can win, so a first pass without screening says which judged
    entries are eligible; an entry a moderator excluded takes no share of the jury's certainty.
    """
    return _jury_order(
        PureEngine(campaign, videos), judgments, decisions=decisions or {}, removed=removed
    )


def _jury_order(
    engine_: Engine,
    judgments: Iterable[Judgment],
    *,
    decisions: Mapping[str, Decision],
    removed: frozenset[str],
) -> list[JuryPick]:
    given = list(judgments)
    judged = judged_entries(given)
    if not judged:
        return []
    eligible = engine_.eligible_ids(decisions, removed)
    return jury_from_contenders(given, [video_id for video_id in eligible if video_id in judged])


def jury_from_contenders(
    judgments: Iterable[Judgment], contenders: Sequence[str]
) -> list[JuryPick]:
    """The jury's order fitted over ``contenders``: the judged entries that can win, ranked."""
    given = list(judgments)
    counted = active(given)
    decided = tiebreak(given)
    if decided is not None:
        counted.append(decided)  # the organizer's tie-break orders, the model ignores it
    if not (contenders and counted):
        return []
    # The model brings SciPy, which a run without judgments need not import.
    from oyren.jury.model import jury_picks

    return jury_picks(counted, list(contenders))


def judged_entries(judgments: Iterable[Judgment]) -> set[str]:
    """The entries the counted judgments name (the only ones the jury's order can hold)."""
    return {entry for j in active(list(judgments)) for entry in j.entries}


def decide(
    campaign: Campaign,
    videos: Mapping[str, Video],
    *,
    decisions: Iterable[Decision] = (),
    removals: Iterable[Removal] = (),
    judgments: Iterable[Judgment] = (),
    screen: bool = True,
) -> Results:
    """Decide a campaign from everything it has: the one assembly of the engine's inputs."""
    return decide_with(
        PureEngine(campaign, videos), decisions=decisions, removals=removals,
        judgments=judgments, screen=screen,
    )  # fmt: skip


def decide_with(
    engine_: Engine,
    *,
    decisions: Iterable[Decision] = (),
    removals: Iterable[Removal] = (),
    judgments: Iterable[Judgment] = (),
    screen: bool = True,
) -> Results:
    """:func:`decide` on any engine: the same decisions in force, removals and jury order."""
    latest, removed = _people(decisions, removals)
    jury = _jury_order(engine_, judgments, decisions=latest, removed=removed)
    return engine_.results(latest, removed, jury, screen=screen)


def _people(
    decisions: Iterable[Decision], removals: Iterable[Removal]
) -> tuple[dict[str, Decision], frozenset[str]]:
    """People's inputs as the engine takes them: the decision in force per video, the removed."""
    return latest_decisions(decisions), removed_ids(removals)


def decide_videos(
    campaign: Campaign,
    videos: Iterable[Video],
    *,
    decisions: Iterable[Decision] = (),
    removals: Iterable[Removal] = (),
    screen: bool = True,
    topic: Callable[[Observation], tuple[str | None, float | None]] | None = None,
) -> list[Entry]:
    """Each video's verdict with its topic, as :func:`decide` makes it, for some videos only.

    ``decisions`` and ``removals`` need only be those about ``videos``: a verdict depends on
    nothing else. Flags are campaign-wide and left out (the store keeps them apart); ``topic``
    stands in for the screener's (the store reuses a topic while a video's text is unchanged).
    """
    latest, removed = _people(decisions, removals)
    rules = RuleSet.of(campaign)
    if topic is None and screen:
        topic = _screener(campaign).topic
    return [
        engine.judge(
            video,
            rules,
            decision=latest.get(video.video_id),
            removed=video.video_id in removed,
            topic=topic(video.meta) if topic is not None else (None, None),
        )
        for video in videos
    ]


def settle_ranked(
    campaign: Campaign,
    ranked: Sequence[Entry],
    creators: Sequence[CreatorTotal],
    jury: Sequence[JuryPick] = (),
) -> Winners:
    """The prizes from the top of both rankings, with the engine's own settlement.

    ``ranked`` must start with the first eligible entries in rank order (at least as many as
    there are prizes) and hold every eligible entry the jury names; ``creators`` the first
    creators. Fewer prizes than places are held before each prize is settled, so a prefix this
    long settles them as the whole ranking would.
    """
    return settle(
        ranked, creators, max_prizes_per_creator=campaign.max_prizes_per_creator, jury=jury
    )
