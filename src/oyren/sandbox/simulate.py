"""The sandbox campaign: a realistic, deterministic contest to run everything on.

:func:`simulate` invents creators and videos for a campaign — a few prolific creators and many
one-off ones, heavy-tailed audiences whose views grow fast and then level off, posts early and late
across the UTC/Baku date line, short videos, other regions, every spelling of the hashtags, partner
institutions — and :func:`observations` replays crawls that saw them through and past the deadline.
Each video's true view curve is a function of time (:meth:`SimVideo.views_at`), so a sandbox API can
answer for any instant and a benchmark can compare reconstructed views with the truth.
"""

from __future__ import annotations

import itertools
import math
import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path

from oyren.inputs.observations import write_observations_csv, write_observations_jsonl
from oyren.rules.campaign import Campaign, parse_campaign
from oyren.rules.hashtags import spellings
from oyren.rules.observations import Observation

__all__ = [
    "Boost",
    "SimVideo",
    "Simulation",
    "Wave",
    "observations",
    "sandbox_campaign",
    "simulate",
    "write_simulation",
]

HOUR = 3600
DAY = 86400
CRAWL_EVERY_S = 2 * HOUR  # the crawl grid; observations fall on it (plus a little jitter)
TRACK_AFTER_S = 7 * DAY  # crawls go on a week past the deadline

# Share of videos with each defect; the rest are plain eligible entries.
P_OTHER_REGION = 0.04
P_SHORT = 0.08
P_EARLY_OR_LATE = 0.05
P_GLOBAL_TAG_ONLY = 0.04  # only #LearnOnTikTok: does not enter
P_LOOKALIKE_TAG = 0.01  # e.g. #TikTokdanOyren2: a longer tag does not match
P_DEADLINE_CRAWL = 0.3  # videos whose tracker caught the exact deadline instant
P_SEEN_AFTER_DEADLINE = 0.85  # tracked videos looked at again after the deadline
P_MISSED_CRAWL = 0.03  # API gaps: a crawl that did not return a video

_FIRST = (
    "aysel",
    "nigar",
    "leyla",
    "gunel",
    "sevinc",
    "aynur",
    "narmin",
    "fidan",
    "lala",
    "zeyneb",
    "elvin",
    "rashad",
    "tural",
    "orxan",
    "kamran",
    "farid",
    "nijat",
    "ilkin",
    "emin",
    "samir",
)
_SUFFIX = (
    "teaches",
    "az",
    "baku",
    "official",
    "learn",
    "tv",
    "vlog",
    "edu",
    "science",
    "chef",
    "fit",
    "style",
    "history",
    "math",
    "2024",
    "studio",
)
_THEME_LINES: dict[str, tuple[str, ...]] = {
    "lifehacks": (
        "Evdə ləkəni 1 dəqiqəyə təmizləmək",
        "3 kitchen hacks you need",
        "Как быстро убрать пятно с одежды",
    ),
    "style_beauty": (
        "Gündəlik makiyaj addım-addım",
        "How to tie a scarf 5 ways",
        "Уход за кожей зимой: простые шаги",
    ),
    "cooking": (
        "Qutab resepti: nənəmin üsulu",
        "Perfect plov in 30 minutes",
        "Рецепт пахлавы дома",
    ),
    "fitness": (
        "Səhər 10 dəqiqəlik məşq",
        "No-equipment core workout",
        "Упражнения для спины дома",
    ),
    "science": (
        "Fotosintez necə işləyir?",
        "Why is the sky blue? Physics explained",
        "Как работает радуга — физика",
    ),
    "school": (
        "Riyaziyyat: kəsrlərin toplanması",
        "English grammar: present perfect",
        "Химия: таблица Менделеева за минуту",
    ),
    "culture": (
        "Novruz adətləri haqqında",
        "The story of the Maiden Tower",
        "История азербайджанского ковра",
    ),
}


def sandbox_campaign() -> Campaign:
    """The bundled sandbox campaign: the #TikTokdanÖyrən rules with invented partner accounts."""
    resource = files("oyren.data").joinpath("sandbox-2024.toml")
    return parse_campaign(resource.read_text(encoding="utf-8"), path="sandbox-2024.toml")


@dataclass(frozen=True, slots=True)
class Wave:
    """An organic second wave: the platform pushes the video again from ``at`` on."""

    at: int
    total_views: int
    tau_s: int

    def views_at(self, t: int) -> int:
        """The wave's views by Unix second ``t``."""
        if t <= self.at:
            return 0
        return int(self.total_views * -math.expm1(-(t - self.at) / self.tau_s))


@dataclass(frozen=True, slots=True)
class Boost:
    """Bought engagement: blocks of views, likes, comments or shares delivered over ``over_s``.

    The platform may later take back ``removed_views`` of the views, all at ``removed_at``.
    """

    at: int
    over_s: int
    views: int = 0
    likes: int = 0
    comments: int = 0
    shares: int = 0
    removed_at: int | None = None
    removed_views: int = 0

    def delivered(self, t: int, amount: int) -> int:
        """How much of ``amount`` has arrived by ``t`` (delivery is even over ``over_s``)."""
        if t <= self.at:
            return 0
        if t >= self.at + self.over_s:
            return amount
        return amount * (t - self.at) // self.over_s

    def views_by(self, t: int) -> int:
        """Bought views on the counter at ``t``, after any removal."""
        gone = self.removed_views if self.removed_at is not None and t >= self.removed_at else 0
        return self.delivered(t, self.views) - gone


@dataclass(frozen=True, slots=True)
class SimVideo:
    """A simulated video and its true view curve ``total * (1 - exp(-(t - create) / tau))``.

    Planted videos (see :mod:`oyren.sandbox.plants`) add organic second ``waves`` and bought
    ``boosts``
    to that curve; ``planted`` names what was planted, the ground truth a benchmark scores.
    Likes, comments and shares follow the organic views only, plus any bought ones.
    """

    video_id: str
    username: str
    create_time: int
    region_code: str
    description: str
    hashtags: tuple[str, ...]
    duration_s: int
    total_views: int
    tau_s: int
    like_rate: float
    comment_rate: float
    share_rate: float
    music_id: str
    voice_to_text: str | None
    theme: str
    waves: tuple[Wave, ...] = ()
    boosts: tuple[Boost, ...] = ()
    planted: tuple[str, ...] = ()

    def organic_views_at(self, t: int) -> int:
        """The views people gave the video by Unix second ``t``."""
        if t <= self.create_time:
            return 0
        views = int(self.total_views * -math.expm1(-(t - self.create_time) / self.tau_s))
        return views + sum(w.views_at(t) for w in self.waves)

    def views_at(self, t: int) -> int:
        """The true cumulative views at Unix second ``t``, bought ones included."""
        views = self.organic_views_at(t)
        if self.boosts and t > self.create_time:
            views += sum(b.views_by(t) for b in self.boosts)
        return views

    def observe(self, t: int) -> Observation:
        """What a crawl at ``t`` sees of this video."""
        organic = self.organic_views_at(t)
        views, likes, comments, shares = organic, 0, 0, 0
        if t > self.create_time:
            for b in self.boosts:
                views += b.views_by(t)
                likes += b.delivered(t, b.likes)
                comments += b.delivered(t, b.comments)
                shares += b.delivered(t, b.shares)
        return Observation(
            video_id=self.video_id,
            username=self.username,
            create_time=self.create_time,
            collected_at=t,
            view_count=views,
            region_code=self.region_code,
            description=self.description,
            hashtags=self.hashtags,
            duration_s=self.duration_s,
            like_count=int(organic * self.like_rate) + likes,
            comment_count=int(organic * self.comment_rate) + comments,
            share_count=int(organic * self.share_rate) + shares,
            music_id=self.music_id,
            voice_to_text=self.voice_to_text,
        )


@dataclass(frozen=True, slots=True)
class Simulation:
    """A simulated campaign: its videos and the seed that made them."""

    campaign: Campaign
    videos: tuple[SimVideo, ...]
    seed: int
    observations_per_video: int

    @property
    def crawl_end(self) -> int:
        """The last instant the simulated crawls look at."""
        return self.campaign.cutoff_ts + TRACK_AFTER_S


def simulate(
    campaign: Campaign,
    *,
    videos: int = 2000,
    seed: int = 1,
    observations_per_video: int = 10,
    progress: Callable[[int], None] | None = None,
) -> Simulation:
    """Invent ``videos`` videos for ``campaign``, deterministically from ``seed``."""
    if videos < 1:
        raise ValueError("videos must be at least 1")
    if observations_per_video < 1:
        raise ValueError("observations_per_video must be at least 1")
    rng = random.Random(seed)
    start, cutoff = campaign.window_start_ts, campaign.cutoff_ts
    tag_spellings = [s for tag in campaign.hashtags for s in spellings(tag, limit=6)]
    tag_spellings += [tag.upper() for tag in campaign.hashtags] + list(campaign.hashtags)
    regions = sorted(campaign.regions)
    other_regions = [r for r in ("TR", "RU", "GE", "KZ", "UZ", "DE") if r not in campaign.regions]
    partners = [p.username for p in campaign.partners if p.username]
    themes = [t.id for t in campaign.themes if t.id in _THEME_LINES] or list(_THEME_LINES)
    creators = _creators(rng, max(1, videos // 3))
    # Zipf-like: most creators post once or twice, a handful post dozens of videos.
    # Summed once: random.choices given plain weights sums them at every call, which made
    # inventing n videos take time in n² (n/3 creators summed for each).
    cum_weights = list(
        itertools.accumulate(1.0 / (rank + 1) ** 0.6 for rank in range(len(creators)))
    )
    base_id = 7_330_000_000_000_000_000 + seed * 10_000_000
    out: list[SimVideo] = []
    for n in range(videos):
        if partners and rng.random() < 0.02:
            username = rng.choice(partners)
        else:
            username = rng.choices(creators, cum_weights=cum_weights)[0]
        create = _create_time(rng, start, cutoff)
        region = rng.choice(regions)
        if other_regions and rng.random() < P_OTHER_REGION:
            region = rng.choice(other_regions)
        duration = rng.randint(30, 180)
        if rng.random() < P_SHORT:
            duration = rng.randint(7, 29)
        theme = rng.choice(themes)
        tags = [rng.choice(tag_spellings)]
        roll = rng.random()
        if roll < P_GLOBAL_TAG_ONLY:
            tags = ["LearnOnTikTok"]
        elif roll < P_GLOBAL_TAG_ONLY + P_LOOKALIKE_TAG:
            tags = [campaign.hashtags[0] + "2"]
        tags += rng.sample(["öyrən", "elm", "təhsil", "fyp", "baku", "azerbaijan", theme], 2)
        line = rng.choice(_THEME_LINES[theme])
        description = f"{line} " + " ".join(f"#{t}" for t in tags)
        # Heavy tail: most videos reach hundreds of views, a few hundreds of thousands.
        total = int(min(5e7, rng.lognormvariate(7.0, 1.6) * (1 + rng.paretovariate(2.5))))
        out.append(
            SimVideo(
                video_id=str(base_id + n),
                username=username,
                create_time=create,
                region_code=region,
                description=description,
                hashtags=tuple(tags),
                duration_s=duration,
                total_views=total,
                tau_s=int(rng.uniform(0.5, 6.0) * DAY),
                like_rate=rng.uniform(0.03, 0.12),
                comment_rate=rng.uniform(0.001, 0.01),
                share_rate=rng.uniform(0.001, 0.02),
                music_id=str(7_000_000_000_000_000_000 + rng.randrange(10**9)),
                voice_to_text=line if rng.random() < 0.2 else None,
                theme=theme,
            )
        )
        if progress is not None and (n + 1) % 1000 == 0:
            progress(1000)
    if progress is not None and videos % 1000:
        progress(videos % 1000)
    return Simulation(campaign, tuple(out), seed, observations_per_video)


def observations(sim: Simulation, *, every_s: int | None = None) -> Iterator[Observation]:
    """Replay the crawls of ``sim``: each video seen ``observations_per_video`` times or so.

    With ``every_s`` the tracker is steady instead: it looks at every video every ``every_s``
    seconds (on the crawl grid) from discovery to the end of tracking, missing a few crawls.
    """
    rng = random.Random(sim.seed * 7919 + 1)
    cutoff, end = sim.campaign.cutoff_ts, sim.crawl_end
    if every_s is not None and every_s < CRAWL_EVERY_S:
        raise ValueError(f"every_s must be at least the crawl interval, {CRAWL_EVERY_S} s")
    for video in sim.videos:
        if every_s is None:
            times = _observation_times(
                rng, video.create_time, cutoff, end, sim.observations_per_video
            )
        else:
            times = _steady_times(rng, video.create_time, end, every_s)
        for t in times:
            yield video.observe(t)


def write_simulation(
    campaign: Campaign,
    path: str | Path,
    *,
    videos: int,
    seed: int,
    observations_per_video: int = 10,
    progress: Callable[[int], None] | None = None,
) -> int:
    """Simulate ``campaign`` and write its observations to ``path`` (.csv or JSONL)."""
    sim = simulate(
        campaign,
        videos=videos,
        seed=seed,
        observations_per_video=observations_per_video,
        progress=progress,
    )
    p = Path(path)
    if p.suffix.lower() == ".csv":
        with p.open("w", encoding="utf-8", newline="") as handle:
            return write_observations_csv(observations(sim), handle)
    with p.open("wb") as handle:
        return write_observations_jsonl(observations(sim), handle)


def _observation_times(rng: random.Random, create: int, cutoff: int, end: int, k: int) -> list[int]:
    # Discovery happens at the first crawl after posting; later looks thin out over time, as a
    # tracker spending a quota would do. Times sit on the crawl grid with a few seconds of jitter.
    first = (create // CRAWL_EVERY_S + 1) * CRAWL_EVERY_S
    times = {first + rng.randrange(60)}
    span = max(CRAWL_EVERY_S, end - first)
    if rng.random() < P_DEADLINE_CRAWL and first <= cutoff:
        times.add(cutoff)
    if first <= cutoff and rng.random() < P_SEEN_AFTER_DEADLINE:
        times.add(cutoff + CRAWL_EVERY_S * rng.randint(1, 24) + rng.randrange(60))
    attempts = 0
    while len(times) < k and attempts < 4 * k:
        attempts += 1
        offset = int(span * rng.random() ** 2)
        t = first + (offset // CRAWL_EVERY_S) * CRAWL_EVERY_S + rng.randrange(60)
        if t <= end and rng.random() >= P_MISSED_CRAWL:
            times.add(t)
    return sorted(times)


def _steady_times(rng: random.Random, create: int, end: int, every_s: int) -> list[int]:
    step = every_s // CRAWL_EVERY_S * CRAWL_EVERY_S
    first = (create // CRAWL_EVERY_S + 1) * CRAWL_EVERY_S
    times = [first + rng.randrange(60)]
    for t in range(first + step, end + 1, step):
        if rng.random() >= P_MISSED_CRAWL:
            times.append(t + rng.randrange(60))
    return times


def _creators(rng: random.Random, n: int) -> list[str]:
    names: dict[str, None] = {}
    while len(names) < n:
        name = f"{rng.choice(_FIRST)}_{rng.choice(_SUFFIX)}"
        if name in names:
            name = f"{name}{rng.randrange(10, 10_000)}"
        names.setdefault(name, None)
    return list(names)


def _create_time(rng: random.Random, start: int, cutoff: int) -> int:
    roll = rng.random()
    if roll < P_EARLY_OR_LATE / 2:
        # Around the window's edges, across the UTC/Baku date line: some in, some out.
        return start + rng.randint(-6 * HOUR, 6 * HOUR)
    if roll < P_EARLY_OR_LATE:
        return cutoff + rng.randint(-6 * HOUR, 6 * HOUR)
    return rng.randint(start, cutoff)
