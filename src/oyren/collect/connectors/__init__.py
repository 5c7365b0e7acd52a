"""Connectors to the platforms contests run on, each wrapping an injected ``httpx`` client.

Today: the TikTok Research API (:mod:`~oyren.collect.connectors.tiktok`).
"""

from oyren.collect.connectors.answers import VideoPage
from oyren.collect.connectors.quota import MemoryQuotaBook, QuotaBook, QuotaLimits
from oyren.collect.connectors.tiktok import (
    DEFAULT_API_BASE,
    MAX_COUNT,
    MAX_SPAN_DAYS,
    VIDEO_FIELDS,
    RetryPolicy,
    TikTokClient,
    TikTokSettings,
    VideoQuery,
    connect,
    tiktok_settings,
)

__all__ = [
    "DEFAULT_API_BASE",
    "MAX_COUNT",
    "MAX_SPAN_DAYS",
    "VIDEO_FIELDS",
    "MemoryQuotaBook",
    "QuotaBook",
    "QuotaLimits",
    "RetryPolicy",
    "TikTokClient",
    "TikTokSettings",
    "VideoPage",
    "VideoQuery",
    "connect",
    "tiktok_settings",
]
