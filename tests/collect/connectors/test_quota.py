"""The daily quota: its limits and the ledger of what each UTC day spent."""

from __future__ import annotations

import pytest

from oyren.collect.connectors import (
    MemoryQuotaBook,
    QuotaLimits,
)
from oyren.errors import QuotaExhausted
from tests.collect.connectors.conftest import Edge, answer, query, video


def test_own_ledger_stops_requests_when_the_daily_quota_is_spent(client_for):
    edge = Edge(answer([]), answer([]))
    client = client_for(edge, limits=QuotaLimits(requests=2))
    client.query_videos(query())
    client.query_videos(query())
    with pytest.raises(QuotaExhausted, match="2 requests") as caught:
        client.query_videos(query())
    assert caught.value.reset_at == 1713744000
    assert len(edge.queries) == 2


def test_records_count_against_the_quota_too(client_for):
    edge = Edge(answer([video(), video(id=2)]))
    client = client_for(edge, limits=QuotaLimits(records=2))
    client.query_videos(query())
    assert client.quota_left() == (999, 0)
    with pytest.raises(QuotaExhausted):
        client.query_videos(query())


def test_quota_limits_default_to_the_documented_daily_share():
    assert (QuotaLimits().requests, QuotaLimits().records) == (1000, 100_000)


def test_memory_quota_book_adds_up_per_day():
    book = MemoryQuotaBook()
    assert book.quota_spent("2024-04-21") == (0, 0)
    book.record_quota("2024-04-21", 1, 100)
    book.record_quota("2024-04-21", 2, 0)
    book.record_quota("2024-04-22", 1, 5)
    assert book.quota_spent("2024-04-21") == (3, 100)
    assert book.quota_spent("2024-04-22") == (1, 5)
    assert book.quota_spent("2024-04-20") == (0, 0)
