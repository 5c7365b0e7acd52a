"""Planted fraud for the sandbox: bought views, re-uploads, lockstep groups, with ground truth.

:func:`plant` takes a :class:`~oyren.sandbox.simulate.Simulation` and returns a new one in which
some
videos carry what integrity screening should find, each named in ``SimVideo.planted``:

- ``bought_views``: a block of views delivered within a few hours, no likes with it;
- ``views_removed``: the platform later takes back part of a bought block (the count drops);
- ``bought_engagement``: a block of likes, comments or shares far beyond the video's audience;
- ``reupload``: a later copy of another video (its length, often its description and sound),
  posted by another account or by the same one;
- ``lockstep``: videos of a group of accounts boosted by the same amounts at the same moments
  (these carry ``bought_views`` too);
- ``off_theme``: a description that is not educational at all.

It also plants hard cases that are *honest*, so that a benchmark can count false alarms on them:
``second_wave`` (the platform pushes an old video again, a fast organic rise late in life) and
trending sounds (many unrelated videos share one ``music_id``; not listed in ``planted``).
Speech transcripts are lengthened into unique ones (the base simulator reuses the description's
line). Everything is drawn from one seeded generator, so a simulation and a seed give one campaign.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, replace

from oyren.sandbox.simulate import DAY, HOUR, Boost, Simulation, SimVideo, Wave

__all__ = ["FRAUD", "HONEST", "PlantRates", "plant"]

FRAUD = (
    "bought_views",
    "views_removed",
    "bought_engagement",
    "reupload",
    "lockstep",
    "off_theme",
)
HONEST = ("second_wave",)

# View packages as sellers list them; a buyer picks one regardless of the video's size.
VIEW_PACKAGES = (1_000, 2_500, 5_000, 10_000, 25_000, 50_000, 100_000)
TRENDING_SOUNDS = 40  # distinct popular sounds that honest videos share

_OFF_THEME_LINES = (
    "Dance challenge with my friends 💃",
    "Mənim günüm: vlog",
    "Смешные коты, смотреть до конца",
    "Giveaway! Follow and like to win",
    "POV: bazar ertəsi səhəri",
    "Прикол дня 😂",
    "Outfit of the day",
)
# Words for speech transcripts. The base simulator's transcript is the description's line, which
# thousands of videos share; real transcripts of half a minute of speech are all different.
# fmt: off
_SPEECH_WORDS = (
    "bu", "gün", "biz", "öyrənəcəyik", "sonra", "isə", "çox", "vacib", "sual", "cavab", "misal",
    "birinci", "ikinci", "üçüncü", "today", "we", "will", "learn", "then", "very", "important",
    "question", "answer", "example", "first", "second", "third", "look", "сегодня", "мы",
    "узнаем", "потом", "очень", "важно", "вопрос", "ответ", "пример", "первый", "второй",
    "третий", "смотрите", "su", "duz", "un", "yağ", "kitab", "dərs", "qayda", "formula", "test",
    "ev", "məktəb",
)
# fmt: on
_COPY_EXTRAS = ("🔥", "❤️", "part 2", "repost", "watch till the end", "👇")


@dataclass(frozen=True, slots=True)
class PlantRates:
    """How often each plant occurs: shares of the simulation's videos, and group counts."""

    bought_views: float = 0.02
    removal: float = 0.4  # share of bought blocks the platform later takes (partly) back
    bought_engagement: float = 0.01
    reupload: float = 0.01
    same_account_reupload: float = 0.3  # share of re-uploads posted by the original's creator
    lockstep_groups_per_1000: float = 1.5
    off_theme: float = 0.02
    second_wave: float = 0.02
    trending_sound: float = 0.25


def plant(
    sim: Simulation, *, rates: PlantRates | None = None, seed: int | None = None
) -> Simulation:
    """Return ``sim`` with fraud and honest hard cases planted; deterministic from the seed."""
    rates = rates or PlantRates()
    rng = random.Random(f"plants-{sim.seed if seed is None else seed}")
    start, cutoff = sim.campaign.window_start_ts, sim.campaign.cutoff_ts
    videos = list(sim.videos)
    in_window = [i for i, v in enumerate(videos) if start <= v.create_time < cutoff - DAY]

    sounds = [str(6_900_000_000_000_000_000 + rng.randrange(10**9)) for _ in range(TRENDING_SOUNDS)]
    sound_weights = [1.0 / (rank + 1) for rank in range(TRENDING_SOUNDS)]
    for i, v in enumerate(videos):
        if rng.random() < rates.trending_sound:
            videos[i] = replace(v, music_id=rng.choices(sounds, sound_weights)[0])

    for i, v in enumerate(videos):
        if v.voice_to_text is not None:
            said = " ".join(rng.choices(_SPEECH_WORDS, k=rng.randint(12, 30)))
            videos[i] = replace(v, voice_to_text=f"{v.voice_to_text} {said}")

    for i in _pick(rng, range(len(videos)), rates.second_wave):
        v = videos[i]
        wave = Wave(
            at=v.create_time + int(rng.uniform(3, 25) * DAY),
            total_views=int(v.total_views * rng.uniform(0.3, 2.0)) + 1,
            tau_s=int(rng.uniform(0.5, 3.0) * DAY),
        )
        videos[i] = _add(v, "second_wave", wave=wave)

    for i in _pick(rng, in_window, rates.bought_views):
        v = videos[i]
        at = _buy_time(rng, v.create_time, cutoff)
        amount = rng.choice(VIEW_PACKAGES)
        boost = Boost(at=at, over_s=rng.randint(1 * HOUR, 6 * HOUR), views=amount)
        codes = ["bought_views"]
        if rng.random() < rates.removal:
            boost = replace(
                boost,
                removed_at=at + int(rng.uniform(1, 10) * DAY),
                removed_views=int(amount * rng.uniform(0.5, 1.0)),
            )
            codes.append("views_removed")
        videos[i] = _add(videos[i], *codes, boost=boost)

    for i in _pick(rng, in_window, rates.bought_engagement):
        v = videos[i]
        audience = max(v.organic_views_at(cutoff), 1)
        likes = comments = shares = 0
        kinds = [k for k in ("likes", "comments", "shares") if rng.random() < 0.4] or ["likes"]
        if "likes" in kinds:
            likes = int(audience * rng.uniform(0.3, 0.8))
        if "comments" in kinds:
            comments = int(audience * rng.uniform(0.03, 0.1))
        if "shares" in kinds:
            shares = int(audience * rng.uniform(0.05, 0.2))
        boost = Boost(
            at=_buy_time(rng, v.create_time, cutoff),
            over_s=rng.randint(1 * HOUR, 6 * HOUR),
            likes=likes,
            comments=comments,
            shares=shares,
        )
        videos[i] = _add(v, "bought_engagement", boost=boost)

    groups = round(len(sim.videos) * rates.lockstep_groups_per_1000 / 1000)
    for _ in range(max(1, groups) if rates.lockstep_groups_per_1000 > 0 else 0):
        _plant_lockstep(rng, videos, in_window, start, cutoff)

    for i in _pick(rng, range(len(videos)), rates.off_theme):
        v = videos[i]
        line = rng.choice(_OFF_THEME_LINES)
        description = line + " " + " ".join(f"#{t}" for t in v.hashtags)
        videos[i] = replace(_add(v, "off_theme"), description=description, theme="off_theme")

    next_id = max(int(v.video_id) for v in videos) + 1
    popular = sorted(range(len(videos)), key=lambda i: -videos[i].total_views)
    sources = popular[: max(1, len(popular) // 5)]
    creators = sorted({v.username for v in videos})
    for n in range(round(len(sim.videos) * rates.reupload)):
        original = videos[rng.choice(sources)]
        same_account = rng.random() < rates.same_account_reupload
        username = original.username if same_account else rng.choice(creators)
        videos.append(_copy(rng, original, str(next_id + n), username))
    return replace(sim, videos=tuple(videos))


def _pick(rng: random.Random, indices: range | list[int], share: float) -> list[int]:
    return [i for i in indices if rng.random() < share]


def _add(
    video: SimVideo, *codes: str, wave: Wave | None = None, boost: Boost | None = None
) -> SimVideo:
    planted = tuple(dict.fromkeys((*video.planted, *codes)))
    waves = (*video.waves, wave) if wave is not None else video.waves
    boosts = (*video.boosts, boost) if boost is not None else video.boosts
    return replace(video, planted=planted, waves=waves, boosts=boosts)


def _buy_time(rng: random.Random, create: int, cutoff: int) -> int:
    # Views are bought after posting: when a video is not doing well, or to climb before the end.
    latest = min(cutoff - HOUR, create + 20 * DAY)
    earliest = min(create + 6 * HOUR, latest)
    return rng.randint(earliest, latest)


def _plant_lockstep(
    rng: random.Random, videos: list[SimVideo], in_window: list[int], start: int, cutoff: int
) -> None:
    # Early videos of 3-6 different accounts; 3-5 rounds of boosts after the last was posted.
    early = [i for i in in_window if videos[i].create_time < start + (cutoff - start) // 2]
    by_creator: dict[str, list[int]] = {}
    for i in early:
        by_creator.setdefault(videos[i].username, []).append(i)
    names = sorted(by_creator)
    if len(names) < 3:
        return
    members = rng.sample(names, min(len(names), rng.randint(3, 6)))
    chosen = [i for name in members for i in rng.sample(by_creator[name], 1)]
    first = max(videos[i].create_time for i in chosen) + 6 * HOUR
    days = range(first, cutoff - HOUR, DAY)
    if len(days) < 5:
        return
    rounds = sorted(d + rng.randrange(DAY - HOUR) for d in rng.sample(days, rng.randint(3, 5)))
    for at in rounds:
        amount = rng.choice(VIEW_PACKAGES[1:])
        over = rng.randint(1 * HOUR, 3 * HOUR)
        for i in chosen:
            jitter = rng.randint(-15 * 60, 15 * 60)
            boost = Boost(at=at + jitter, over_s=over, views=int(amount * rng.uniform(0.9, 1.1)))
            videos[i] = _add(videos[i], "lockstep", "bought_views", boost=boost)


def _copy(rng: random.Random, original: SimVideo, video_id: str, username: str) -> SimVideo:
    """A re-upload of ``original``: the same file, posted later, often with its words and sound."""
    roll = rng.random()
    if roll < 0.5:
        description, hashtags = original.description, original.hashtags
    elif roll < 0.8:
        description = f"{original.description} {rng.choice(_COPY_EXTRAS)}"
        hashtags = original.hashtags
    else:
        description = original.description.split("#")[0] + "#" + original.hashtags[0]
        hashtags = original.hashtags[:1]
    create = original.create_time + int(rng.uniform(2 * HOUR, 20 * DAY))
    return SimVideo(
        video_id=video_id,
        username=username,
        create_time=create,
        region_code=original.region_code,
        description=description,
        hashtags=hashtags,
        duration_s=original.duration_s + (rng.choice((-1, 1)) if rng.random() < 0.2 else 0),
        total_views=int(rng.lognormvariate(7.0, 1.6)),
        tau_s=int(rng.uniform(0.5, 6.0) * DAY),
        like_rate=rng.uniform(0.03, 0.12),
        comment_rate=rng.uniform(0.001, 0.01),
        share_rate=rng.uniform(0.001, 0.02),
        music_id=original.music_id
        if rng.random() < 0.6
        else str(7_000_000_000_000_000_000 + rng.randrange(10**9)),
        voice_to_text=original.voice_to_text if rng.random() < 0.8 else None,
        theme=original.theme,
        planted=("reupload",),
    )
