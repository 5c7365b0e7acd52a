"""The request context: who is asking, in which language, and where to send them next."""

from __future__ import annotations

from oyren.web.context import safe_next


def test_safe_next_keeps_only_paths_on_this_site() -> None:
    assert [
        safe_next(v) for v in ("/a?b=1", "//x.y", "https://x.y", "/\\x", "", None, "/a\nb")
    ] == ["/a?b=1", "/", "/", "/", "/", "/", "/"]
