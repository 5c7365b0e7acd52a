"""Shared builders of the screening tests: tracked videos, an honest campaign, bought views."""

from __future__ import annotations

import math
import random

import pytest

from oyren.rules.observations import Observation
from oyren.rules.videos import Video

HOUR = 3600


DAY = 86400


START = 1_708_459_200  # 2024-02-21T00:00:00+04:00


TRACK_EVERY = 6 * HOUR


TRACK_UNTIL = START + 40 * DAY


def curve(total: int, tau_h: float, age_s: int) -> int:
    """Views of an honest video: fast at first, then levelling off."""
    return int(total * -math.expm1(-max(age_s, 0) / (tau_h * HOUR)))


def video(
    video_id: str,
    username: str,
    create: int,
    views,
    *,
    every: int = TRACK_EVERY,
    like_rate: float = 0.07,
    comment_rate: float = 0.005,
    share_rate: float = 0.008,
    **meta,
) -> Video:
    """A video tracked every ``every`` seconds; ``views(age)`` gives its count at an age."""
    times = tuple(range(create + every, TRACK_UNTIL, every))
    counts = tuple(views(t - create) for t in times)
    last = counts[-1]
    fields = {
        "description": f"Video {video_id} about something #TikTokdanOyren",
        "duration_s": 40 + int(video_id) % 100,
        "music_id": f"m{video_id}",
    }
    fields.update(meta)
    obs = Observation(
        video_id=video_id,
        username=username,
        create_time=create,
        collected_at=times[-1],
        view_count=last,
        like_count=int(last * like_rate),
        comment_count=int(last * comment_rate),
        share_count=int(last * share_rate),
        **fields,
    )
    return Video(meta=obs, times=times, views=counts)


def honest_campaign(n: int = 80, seed: int = 4) -> list[Video]:
    """Honest videos of many sizes and lifetimes, with a little spread in their ratios."""
    rng = random.Random(seed)
    out = []
    for i in range(n):
        total = int(rng.lognormvariate(8.5, 1.5))
        tau = rng.uniform(12, 96)
        out.append(
            video(
                str(1000 + i),
                f"creator{i}",
                START + rng.randrange(0, 20 * DAY),
                lambda age, total=total, tau=tau: curve(total, tau, age),
                like_rate=rng.uniform(0.04, 0.1),
                comment_rate=rng.uniform(0.003, 0.008),
                share_rate=rng.uniform(0.004, 0.012),
            )
        )
    return out


@pytest.fixture(scope="module")
def honest():
    return honest_campaign()


def codes(flags, video_id):
    return tuple(f.code for f in flags.get(video_id, ()))


def block(at_age: int, views: int, over_s: int = 2 * HOUR):
    """Views bought at ``at_age``, delivered evenly over ``over_s``."""
    return lambda age: min(max(age - at_age, 0), over_s) * views // over_s
