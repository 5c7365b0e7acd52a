"""Precision and recall of the integrity flags on planted sandbox campaigns, and their speed.

Run from the repository root::

    PYTHONPATH=src python -m benchmarks.integrity            # everything, about ten minutes
    PYTHONPATH=src python -m benchmarks.integrity --no-scale # without the 100,000-video timing
    PYTHONPATH=src python benchmarks/integrity.py            # the same, as a plain script

Each campaign is the sandbox simulation with fraud planted (:mod:`oyren.sandbox.plants`) at fixed
seeds,
tracked the way a contest tracker would be. A flagged video counts as a true positive when it
carries a plant that flag is meant to find; recall is over the videos carrying the flag's main
plant. The theme classifier's section is printed when ``benchmarks/themes.py`` is present.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from oyren.rules.videos import Video, collect_videos
from oyren.sandbox.plants import plant
from oyren.sandbox.simulate import HOUR, Simulation, observations, sandbox_campaign, simulate
from oyren.screening.flags import FLAG_CODES, flag_videos

SIZES = ((1_000, 1), (5_000, 2), (20_000, 3))  # (videos, seed)
STEADY_EVERY_S = 6 * HOUR  # a tracker looking at every entry every 6 hours
SCALE_VIDEOS = 100_000
SCALE_SEEDS = (11, 12, 13, 14, 15)  # five 20,000-video campaigns make the 100,000

# What each flag is meant to find (recall is over these) …
TARGET = {
    "view_spike": {"bought_views"},
    "views_decreased": {"views_removed"},
    "engagement_outlier": {"bought_engagement"},
    "duplicate_upload": {"reupload"},
    "coordinated_accounts": {"lockstep"},
}
# … and what else it is right to raise it on (bought views dilute likes per view).
ALSO_RIGHT = {"engagement_outlier": {"bought_views"}}
NOT_INTEGRITY = {"off_theme", "second_wave"}  # plants no integrity flag is about


@dataclass(frozen=True)
class Row:
    """One flag's counts on one campaign."""

    code: str
    planted: int
    flagged: int
    correct: int
    found: int

    @property
    def precision(self) -> float:
        return self.correct / self.flagged if self.flagged else float("nan")

    @property
    def recall(self) -> float:
        return self.found / self.planted if self.planted else float("nan")


@dataclass(frozen=True)
class Outcome:
    """Scores of one planted campaign."""

    videos: int
    rows: tuple[Row, ...]
    honest: int
    honest_flagged: int
    waves: int
    waves_flagged: int
    seconds: float  # processor time of flag_videos
    examples: dict[str, str]  # one explanation per flag code, from a correctly flagged video


def tracked(sim: Simulation, every_s: int | None) -> list[Video]:
    """The videos as a tracker saw them."""
    return list(
        collect_videos(observations(sim, every_s=every_s), cutoff=sim.campaign.cutoff_ts).values()
    )


def score(sim: Simulation, videos: Sequence[Video]) -> Outcome:
    """Flag ``videos`` and compare with what was planted in ``sim``."""
    started = time.process_time()
    flags = flag_videos(videos)
    seconds = time.process_time() - started
    truth = {v.video_id: set(v.planted) for v in sim.videos}
    raised = {
        code: {vid for vid, fs in flags.items() if any(f.code == code for f in fs)}
        for code in FLAG_CODES
    }
    rows = []
    for code in FLAG_CODES:
        target = {vid for vid, p in truth.items() if p & TARGET[code]}
        right = TARGET[code] | ALSO_RIGHT.get(code, set())
        correct = {vid for vid in raised[code] if truth[vid] & right}
        rows.append(
            Row(code, len(target), len(raised[code]), len(correct), len(raised[code] & target))
        )
    examples = {}
    for vid in sorted(flags):
        for f in flags[vid]:
            if f.code not in examples and truth[vid] & TARGET[f.code]:
                examples[f.code] = f"{f.explanation} (score {f.score})"
    honest = {vid for vid, p in truth.items() if not p - NOT_INTEGRITY}
    waves = {vid for vid in honest if "second_wave" in truth[vid]}
    return Outcome(
        videos=len(sim.videos),
        rows=tuple(rows),
        honest=len(honest),
        honest_flagged=len(honest & set(flags)),
        waves=len(waves),
        waves_flagged=len(waves & set(flags)),
        seconds=seconds,
        examples=examples,
    )


def print_table(title: str, outcomes: Sequence[Outcome]) -> None:
    """Print one table: a block of rows per campaign."""
    print(title)
    print(f"{'videos':>8}  {'flag':<22}{'planted':>8}{'flagged':>9}{'precision':>11}{'recall':>8}")
    for o in outcomes:
        for n, r in enumerate(o.rows):
            size = f"{o.videos:,}" if n == 0 else ""
            print(
                f"{size:>8}  {r.code:<22}{r.planted:>8,}{r.flagged:>9,}"
                f"{_pct(r.precision):>11}{_pct(r.recall):>8}"
            )
        print(
            f"{'':>8}  honest videos with any flag: {o.honest_flagged:,} of {o.honest:,} "
            f"({100 * o.honest_flagged / o.honest:.2f} %); of them honest second waves: "
            f"{o.waves_flagged} of {o.waves}; flag_videos used {o.seconds:.1f} s of processor time"
        )
    print()


def _pct(x: float) -> str:
    return "—" if x != x else f"{100 * x:.0f} %"


def scale_timing() -> None:
    """Time flag_videos on 100,000 videos: five planted 20,000-video campaigns together."""
    campaign = sandbox_campaign()
    videos: list[Video] = []
    for seed in SCALE_SEEDS:
        sim = plant(simulate(campaign, videos=SCALE_VIDEOS // len(SCALE_SEEDS), seed=seed))
        videos.extend(tracked(sim, STEADY_EVERY_S))
    points = sum(len(v.times) for v in videos)
    wall, cpu = time.perf_counter(), time.process_time()
    flags = flag_videos(videos)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    print(
        f"Scale: {len(videos):,} videos, {points:,} observations (tracked every 6 h): "
        f"flag_videos used {cpu:.1f} s of processor time ({wall:.1f} s on the clock) "
        f"and flagged {len(flags):,} videos."
    )
    print()


def theme_section() -> None:
    """The theme classifier's accuracy, when the themes benchmark is present."""
    # Run as a plain script, the repository root is not on the path: put it there so that
    # ``benchmarks.themes`` is found either way.
    root = str(Path(__file__).resolve().parent.parent)
    if root not in sys.path:
        sys.path.append(root)
    try:
        import benchmarks.themes as themes
    except ModuleNotFoundError as exc:
        if exc.name not in ("benchmarks.themes", "benchmarks"):
            raise
        print("Themes: not available here (benchmarks/themes.py is not present).")
        return
    report = themes.theme_report()
    # The themes benchmark returns its measurements as data and renders them with ``render``.
    render = getattr(themes, "render", None)
    print(render(report) if callable(render) and not isinstance(report, str) else report)


def main() -> None:
    """Run the benchmark and print its tables."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--no-scale", action="store_true", help="skip the 100,000-video timing")
    args = parser.parse_args()
    campaign = sandbox_campaign()
    steady, sparse = [], []
    for videos, seed in SIZES:
        sim = plant(simulate(campaign, videos=videos, seed=seed))
        steady.append(score(sim, tracked(sim, STEADY_EVERY_S)))
        if videos == 5_000:
            sparse.append(score(sim, tracked(sim, None)))
    print_table("Integrity flags, tracker looking at every video every 6 h:", steady)
    print_table(
        "The same 5,000-video campaign with the simulator's default tracker "
        "(about 10 looks per video, thinning out with age):",
        sparse,
    )
    print("Example explanations (5,000-video campaign, steady tracker):")
    for code, text in steady[1].examples.items():
        print(f"- {code}: {text}")
    print()
    if not args.no_scale:
        scale_timing()
    theme_section()


if __name__ == "__main__":
    main()
