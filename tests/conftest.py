"""Shared fixtures: the shipped campaign and builders for observations and input files."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import orjson
import pytest

from oyren.campaign import Campaign, load_campaign
from oyren.observations import Observation, observation_from_record

ROOT = Path(__file__).resolve().parent.parent
CAMPAIGN_FILE = ROOT / "campaigns" / "tiktokdan-oyren-2024.toml"


@pytest.fixture(scope="session")
def campaign() -> Campaign:
    """The shipped #TikTokdanÖyrən campaign (cutoff 2024-04-21T23:59:59+04:00)."""
    return load_campaign(CAMPAIGN_FILE)


@pytest.fixture
def campaign_file() -> Path:
    """Path of the shipped campaign file."""
    return CAMPAIGN_FILE


def record(campaign: Campaign, **overrides: Any) -> dict[str, Any]:
    """An observation record in API field names: an eligible video seen an hour before cutoff."""
    base: dict[str, Any] = {
        "id": 7340000000000000001,
        "username": "aysel_teaches",
        "create_time": campaign.cutoff_ts - 10 * 86400,
        "region_code": "AZ",
        "video_description": "Fotosintez nədir? #TikTokdanÖyrən #elm",
        "video_duration": 45,
        "view_count": 1000,
        "like_count": 100,
        "comment_count": 10,
        "share_count": 5,
        "collected_at": campaign.cutoff_ts - 3600,
    }
    base.update(overrides)
    return {k: v for k, v in base.items() if v is not None}


@pytest.fixture
def make_record(campaign: Campaign) -> Callable[..., dict[str, Any]]:
    """Build an observation record; keyword arguments override fields (None removes one)."""
    return lambda **kw: record(campaign, **kw)


@pytest.fixture
def make_obs(campaign: Campaign) -> Callable[..., Observation]:
    """Build a validated :class:`Observation`; keyword arguments override API fields."""
    return lambda **kw: observation_from_record(record(campaign, **kw))


@pytest.fixture
def write_jsonl(tmp_path: Path) -> Callable[..., Path]:
    """Write records (dicts, or raw strings written as they are) to a JSONL file."""

    def write(records: Iterable[dict[str, Any] | str], name: str = "observations.jsonl") -> Path:
        path = tmp_path / name
        with path.open("wb") as handle:
            for item in records:
                handle.write(item.encode() if isinstance(item, str) else orjson.dumps(item))
                handle.write(b"\n")
        return path

    return write
