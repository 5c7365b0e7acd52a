"""One-shot runs over files: the inputs of a campaign's decision, read and handed to the engine.

``oyren run`` and ``oyren verify`` both come here, so a result computed from files and one
recomputed from an audit bundle go through the same reading and the same engine. Judgments are
read after the observations because every id they name must be a video of the campaign.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from oyren.inputs.decisions import latest_decisions, read_decisions
from oyren.inputs.judgments import active, read_judgments, tiebreak
from oyren.inputs.observations import SkipReport, read_observations
from oyren.inputs.removals import read_removals, removed_ids
from oyren.jury.model import jury_picks
from oyren.rules.campaign import Campaign
from oyren.rules.engine import evaluate
from oyren.rules.results import Results
from oyren.rules.videos import collect_videos

__all__ = ["RunInputs", "run_files"]


@dataclass(frozen=True, slots=True)
class RunInputs:
    """The files a run decides from; only the observations are required."""

    observations: Path
    decisions: Path | None = None
    removed: Path | None = None
    judgments: Path | None = None


def run_files(
    campaign: Campaign,
    inputs: RunInputs,
    *,
    skip: SkipReport | None = None,
    screen: bool = True,
) -> Results:
    """Read the inputs (raising InputError naming file, line and field) and decide the campaign."""
    decisions = latest_decisions(read_decisions(inputs.decisions)) if inputs.decisions else None
    removed = removed_ids(read_removals(inputs.removed)) if inputs.removed else frozenset()
    videos = collect_videos(
        read_observations(inputs.observations, skip=skip), cutoff=campaign.cutoff_ts
    )
    jury = []
    if inputs.judgments is not None:
        read = read_judgments(inputs.judgments, videos.keys())
        judgments = active(read)
        judged = {entry for j in judgments for entry in j.entries}
        decided = tiebreak(read)
        if decided is not None:
            judgments.append(decided)  # the organizer's tie-break orders, the model ignores it
        if judged:
            # P(best) is over the entries that can win: a first pass, without screening, says
            # which judged entries are eligible.
            first = evaluate(campaign, videos.values(), decisions=decisions, removed=removed,
                             screen=False)  # fmt: skip
            contenders = [e.video_id for e in first.eligible if e.video_id in judged]
            jury = jury_picks(judgments, contenders) if contenders else []
    return evaluate(
        campaign, videos.values(), decisions=decisions, removed=removed, jury=jury, screen=screen
    )
