"""The sandbox campaign at scale: observations invented in bulk with numpy, streamed to Parquet.

:mod:`oyren.sandbox.simulate` builds each video and observation as Python objects, about 5,000
observations a second: right for a realistic campaign of thousands of videos, hours for a hundred
million observations. :func:`write_bulk` invents a campaign of the same kinds of videos (posted
before, inside and after the window; short ones; other or unknown regions; every spelling of the
hashtags and longer look-alikes; partner accounts; crawls at the deadline instant and around it;
audiences from a heavy tail) a chunk of videos at a time, as arrays, and writes each chunk as a
row group of Öyrən's Parquet (:data:`oyren.inputs.columnar.SCHEMA`, folded at entry), so memory
stays flat however many observations it writes. The same seed gives the same file.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from oyren.inputs.columnar import SCHEMA, ParquetSink, folded_tags
from oyren.rules.campaign import Campaign
from oyren.rules.hashtags import spellings

__all__ = ["write_bulk"]

DAY = 86_400
HOUR = 3_600
# Videos invented per chunk: with about ten observations each, a row group of a million rows.
CHUNK_VIDEOS = 100_000
_FIRST = ("aysel", "nigar", "leyla", "gunel", "sevinc", "aynur", "elvin", "rashad", "tural",
          "orxan", "kamran", "farid", "nijat", "İlkin", "emin", "samir")  # fmt: skip
_SUFFIX = ("teaches", "az", "baku", "learn", "tv", "vlog", "ELM", "dərs")
_DESCRIPTIONS = ("", "Fotosintez nədir?", "Riyaziyyat dərsi", "Tarix: Şuşa", "Kimya təcrübəsi")


def _tag_sets(campaign: Campaign) -> list[list[str]]:
    """The hashtag lists videos carry: campaign tags in many spellings, look-alikes, others."""
    spelled = [s for tag in sorted(campaign.hashtags) for s in spellings(tag, limit=6)]
    sets = (
        [[s] for s in spelled]
        + [[s, "elm"] for s in spelled[:4]]
        + [[s.upper()] for s in spelled[:2]]
    )
    sets += [["LearnOnTikTok"], [spelled[0] + "2"], ["elm", "dərs"], []]
    return sets


def write_bulk(
    campaign: Campaign,
    path: Path,
    *,
    videos: int,
    seed: int = 1,
    observations_per_video: int = 10,
    progress: Callable[[int], None] | None = None,
) -> int:
    """Write about ``videos × observations_per_video`` observations to ``path`` (Parquet).

    ``progress`` is called with the number of videos written after each chunk. Returns the number
    of observations written.
    """
    rng = np.random.default_rng(seed)
    cutoff = campaign.cutoff_ts
    start = campaign.window_start_ts
    end = cutoff + 7 * DAY
    sets = _tag_sets(campaign)
    tags = pa.array(sets, type=pa.list_(pa.string()))
    folded = pa.array([folded_tags(s) for s in sets], type=pa.list_(pa.string()))
    in_set = len(sets) - 4  # the last four carry no campaign tag
    partners = sorted(p.username for p in campaign.partners if p.username)
    names = [f"{a}_{b}{i}" for i in range(8) for a in _FIRST for b in _SUFFIX][:1000] + partners
    usernames = pa.array(names)
    usernames_folded = pa.array([n.casefold() for n in names])
    descriptions = pa.array(_DESCRIPTIONS)
    regions = pa.array(["AZ", "TR", None])
    sink = ParquetSink(path)
    try:
        done = 0
        while done < videos:
            n = min(CHUNK_VIDEOS, videos - done)
            sink.write_table(_chunk(rng, done, n, observations_per_video, start, cutoff, end,
                                    tags, folded, in_set, usernames, usernames_folded,
                                    len(partners), descriptions, regions))  # fmt: skip
            done += n
            if progress is not None:
                progress(n)
    finally:
        sink.close()
    return sink.count


def _chunk(
    rng: np.random.Generator,
    first: int,
    n: int,
    per_video: int,
    start: int,
    cutoff: int,
    end: int,
    tags: pa.Array,
    folded: pa.Array,
    in_set: int,
    usernames: pa.Array,
    usernames_folded: pa.Array,
    partners: int,
    descriptions: pa.Array,
    regions: pa.Array,
) -> pa.Table:
    """One chunk of ``n`` videos (numbered from ``first``) and all their observations."""
    # Per video: when posted (5 % outside the window, some a second from its edges), creator,
    # region, duration, tags, audience size.
    create = rng.integers(start, cutoff + 1, n)
    outside = rng.random(n) < 0.05
    create[outside] = rng.choice([start - 1, cutoff + 1, start - 3 * DAY, cutoff + HOUR],
                                 outside.sum())  # fmt: skip
    edge = rng.random(n) < 0.01
    create[edge] = rng.choice([start, cutoff], edge.sum())
    pool = len(usernames) - partners
    creator = (rng.zipf(1.3, n) - 1) % pool
    if partners:
        partner = rng.random(n) < 0.005
        creator[partner] = pool + rng.integers(0, partners, partner.sum())
    region = np.where(rng.random(n) < 0.95, 0, rng.integers(1, 3, n))
    duration = rng.integers(30, 300, n).astype(np.int64)
    short = rng.random(n) < 0.08
    duration[short] = rng.choice([5, 15, 29], short.sum())
    tag_set = rng.integers(0, in_set, n)
    odd = rng.random(n) < 0.06
    tag_set[odd] = rng.integers(in_set, len(tags), odd.sum())
    audience = np.minimum(rng.pareto(1.2, n) * 2_000, 5e8)
    rate = 1.0 / rng.uniform(0.5 * DAY, 10 * DAY, n)  # how fast views approach the audience

    # Observations: a few per video, the first at discovery, some at the deadline instant itself.
    k = np.maximum(1, rng.poisson(per_video, n))
    video = np.repeat(np.arange(n), k)
    first_seen = create + rng.integers(60, 2 * HOUR, n)
    span = np.maximum(HOUR, end - first_seen)
    offsets = (rng.random(video.size) ** 2 * span[video]).astype(np.int64)
    offsets[np.r_[0, np.cumsum(k)[:-1]]] = 0  # each video's first observation: its discovery
    collected = first_seen[video] + offsets
    at_deadline = (rng.random(video.size) < 0.03) & (create[video] <= cutoff)
    collected[at_deadline] = cutoff
    collected = np.maximum(collected, create[video])
    age = (collected - create[video]).astype(np.float64)
    views = (audience[video] * (1.0 - np.exp(-age * rate[video]))).astype(np.int64)

    ids = pc.cast(pa.array(7_400_000_000_000_000_000 + first + video, type=pa.uint64()),
                  pa.string())  # fmt: skip
    who = pa.array(creator[video])
    description = pa.array(rng.integers(0, len(descriptions), video.size))
    tagged = pa.array(tag_set[video])
    columns = {
        "id": ids,
        "username": usernames.take(who),
        "create_time": pa.array(create[video]),
        "collected_at": pa.array(collected),
        "view_count": pa.array(views),
        "region_code": regions.take(pa.array(region[video])),
        "video_description": descriptions.take(description),
        "hashtag_names": tags.take(tagged),
        "video_duration": pa.array(duration[video]),
        "like_count": pa.array(views // 20),
        "comment_count": pa.array(views // 400),
        "share_count": pa.array(views // 900),
        "music_id": pa.nulls(video.size, pa.string()),
        "voice_to_text": pa.nulls(video.size, pa.string()),
        "hashtags_folded": folded.take(tagged),
        "username_folded": usernames_folded.take(who),
    }
    return pa.table([columns[name] for name in SCHEMA.names], schema=SCHEMA)
