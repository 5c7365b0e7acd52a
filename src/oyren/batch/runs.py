"""One-shot runs over files: the inputs of a campaign's decision, read and handed to the engine.

``oyren run`` and ``oyren verify`` both come here, so a result computed from files and one
recomputed from an audit bundle go through the same reading and the same engine. Judgments are
read after the observations because every id they name must be a video of the campaign.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from oyren.batch.evaluate import decide
from oyren.inputs.decisions import read_decisions
from oyren.inputs.grouping import read_videos
from oyren.inputs.judgments import read_judgments
from oyren.inputs.observations import SkipReport, read_observations
from oyren.inputs.removals import read_removals
from oyren.rules.campaign import Campaign
from oyren.rules.results import Results

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
    decisions = read_decisions(inputs.decisions) if inputs.decisions else []
    removals = read_removals(inputs.removed) if inputs.removed else []
    videos = read_videos(
        read_observations(inputs.observations, skip=skip), cutoff=campaign.cutoff_ts
    )
    judgments = read_judgments(inputs.judgments, videos.keys()) if inputs.judgments else []
    return decide(
        campaign, videos, decisions=decisions, removals=removals, judgments=judgments, screen=screen
    )
