"""Reading pasted TikTok links and building the links pages show."""

from __future__ import annotations

import pytest

from oyren.inputs.links import Lookup, parse_lookup, profile_url, video_url


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "https://www.tiktok.com/@aysel_teaches/video/7340000000000000001",
            Lookup("video", video_id="7340000000000000001", username="aysel_teaches"),
        ),
        (
            "https://www.tiktok.com/@aysel_teaches/video/7340000000000000001?is_from_webapp=1",
            Lookup("video", video_id="7340000000000000001", username="aysel_teaches"),
        ),
        (
            "tiktok.com/@aysel.teaches/video/7340000000000000001/",
            Lookup("video", video_id="7340000000000000001", username="aysel.teaches"),
        ),
        (
            "https://m.tiktok.com/v/7340000000000000001.html",
            Lookup("video", video_id="7340000000000000001"),
        ),
        ("  7340000000000000001 ", Lookup("video", video_id="7340000000000000001")),
        ("@aysel_teaches", Lookup("username", username="aysel_teaches")),
        ("aysel_teaches", Lookup("username", username="aysel_teaches")),
        ("https://www.tiktok.com/@aysel_teaches", Lookup("username", username="aysel_teaches")),
        (
            "https://vm.tiktok.com/ZMabc123/",
            Lookup("short_link", url="https://vm.tiktok.com/ZMabc123/"),
        ),
    ],
)
def test_parse_lookup_reads_tiktok_forms(text: str, expected: Lookup) -> None:
    assert parse_lookup(text) == expected


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("", "empty"),
        ("   ", "empty"),
        ("x" * 501, "too_long"),
        ("https://evil.example/@a/video/7340000000000000001", "not_tiktok"),
        ("https://tiktok.com.evil.example/@a/video/7340000000000000001", "not_tiktok"),
        ("javascript:alert(1)//tiktok.com/@a", "not_tiktok"),
        ("https://user:pw@www.tiktok.com/@a/video/7340000000000000001", "not_tiktok"),
        ("https://www.tiktok.com:8443/@a/video/7340000000000000001", "not_tiktok"),
        ("ftp://www.tiktok.com/@a/video/7340000000000000001", "not_tiktok"),
        ("https://www.tiktok.com/@a/video/73400<script>", "not_understood"),
        ('"><img src=x onerror=alert(1)>', "not_tiktok"),
    ],
)
def test_parse_lookup_refuses_what_is_not_a_tiktok_link(text: str, problem: str) -> None:
    result = parse_lookup(text)
    assert (result.kind, result.problem) == ("invalid", problem)


def test_parse_lookup_username_with_trailing_newline_is_read_stripped() -> None:
    assert parse_lookup("aysel_teaches\n") == Lookup("username", username="aysel_teaches")


def test_video_url_builds_only_tiktok_links() -> None:
    assert video_url("aysel_teaches", "7340000000000000001") == (
        "https://www.tiktok.com/@aysel_teaches/video/7340000000000000001"
    )
    assert video_url('"><script>', "7340000000000000001") == (
        "https://www.tiktok.com/@/video/7340000000000000001"
    )
    assert video_url("aysel", "javascript:alert(1)") is None


def test_profile_url_refuses_names_tiktok_would_not_allow() -> None:
    assert profile_url("aysel_teaches") == "https://www.tiktok.com/@aysel_teaches"
    assert profile_url("a/../b") is None
    assert profile_url("") is None


def test_lookup_canonical_url_of_video_and_username() -> None:
    assert parse_lookup("7340000000000000001").canonical_url == (
        "https://www.tiktok.com/@/video/7340000000000000001"
    )
    assert parse_lookup("@aysel").canonical_url is None
