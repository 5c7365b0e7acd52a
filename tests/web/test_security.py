"""Security headers, CSRF tokens, rate limits and error pages."""

from __future__ import annotations

from collections.abc import Callable

import httpx
from fastapi import APIRouter

from oyren.web.context import safe_next
from oyren.web.security import (
    CSP,
    RateLimit,
    RateLimiter,
    content_security_policy,
    csrf_token,
    csrf_valid,
)

BASE = "/campaigns/sandbox-2024"


def test_every_response_carries_the_security_headers(client: httpx.Client) -> None:
    for path in (BASE, BASE + ".json", "/static/style.css", "/no/such/page", "/login"):
        headers = client.get(path).headers
        policy = content_security_policy()
        assert (headers["content-security-policy"], headers["x-frame-options"]) == (policy, "DENY")
        assert headers["x-content-type-options"] == "nosniff"
        assert headers["referrer-policy"] == "same-origin"


def test_csp_allows_nothing_from_elsewhere_but_the_players_frames() -> None:
    sources = [part.split()[1:] for part in CSP.split("; ")]
    assert {s for group in sources for s in group} == {"'none'", "'self'", "data:"}
    policy = dict(part.split(" ", 1) for part in content_security_policy().split("; "))
    assert policy["frame-src"] == "https://www.tiktok.com"
    assert policy["script-src"] == "'self'" and policy["img-src"] == "'self' data:"
    assert content_security_policy("http://127.0.0.1:9").endswith("frame-src http://127.0.0.1:9")


def test_csrf_token_is_bound_to_the_cookie() -> None:
    secret = b"k" * 32
    token = csrf_token(secret, "cookie-a")
    assert (len(token), csrf_valid(secret, "cookie-a", token)) == (64, True)
    assert csrf_valid(secret, "cookie-b", token) is False
    assert csrf_valid(b"x" * 32, "cookie-a", token) is False
    assert (csrf_valid(secret, None, token), csrf_valid(secret, "cookie-a", None)) == (False, False)


def test_rate_limiter_allows_a_burst_then_refills() -> None:
    now = [0.0]
    limiter = RateLimiter({"page": RateLimit(per_minute=60, burst=3)}, clock=lambda: now[0])
    first = [limiter.hit("page", "1.2.3.4") for _ in range(4)]
    other = limiter.hit("page", "5.6.7.8")
    now[0] = 1.0
    later = limiter.hit("page", "1.2.3.4")
    assert (first, other, later) == ([0.0, 0.0, 0.0, 1.0], 0.0, 0.0)


def test_rate_limiter_forgets_the_oldest_clients() -> None:
    limiter = RateLimiter({"page": RateLimit(per_minute=1, burst=1)}, max_keys=2)
    for client in ("a", "b", "c"):
        limiter.hit("page", client)
    assert limiter.hit("page", "a") == 0.0  # forgotten, so a fresh bucket
    assert limiter.hit("page", "c") > 0


def test_rate_limiter_zero_rate_means_no_limit() -> None:
    limiter = RateLimiter({"page": RateLimit(per_minute=0, burst=0)})
    assert [limiter.hit("page", "a") for _ in range(3)] == [0.0, 0.0, 0.0]


def test_public_pages_are_rate_limited_per_client(make_client: Callable[..., httpx.Client]) -> None:
    limits = {"page": RateLimit(per_minute=60, burst=2)}
    with make_client(rate_limits=limits) as c:
        codes = [c.get(BASE + ".json").status_code for _ in range(3)]
        refused = c.get(BASE)
    assert codes == [200, 200, 429]
    assert (refused.status_code, refused.headers["retry-after"]) == (429, "1")
    assert "Həddindən çox sorğu" in refused.text


def test_self_check_has_its_own_tighter_limit(make_client: Callable[..., httpx.Client]) -> None:
    with make_client(rate_limits={"check": RateLimit(per_minute=60, burst=1)}) as c:
        codes = [c.get(BASE + "/check.json", params={"q": "x"}).status_code for _ in range(2)]
        page = c.get(BASE + ".json").status_code
    assert (codes, page) == ([200, 429], 200)


def test_unknown_page_is_a_404_page(client: httpx.Client) -> None:
    page = client.get("/no/such/page?lang=en")
    twin = client.get("/no/such/page.json")
    assert (page.status_code, twin.status_code) == (404, 404)
    assert "Page not found" in page.text
    assert '<html lang="en">' in page.text
    assert twin.json() == {
        "error": {
            "status": 404,
            "title": "Səhifə tapılmadı",
            "message": "Bu ünvanda heç nə yoxdur. Ola bilsin, başqa yerə köçürülüb.",
            "retry_after": None,
        }
    }


def test_unknown_campaign_is_a_404_that_names_the_stored_ones(client: httpx.Client) -> None:
    page = client.get("/campaigns/no-such-contest")
    assert page.status_code == 404
    assert "no campaign &#39;no-such-contest&#39;" in page.text
    assert "sandbox-2024" in page.text


def test_wrong_method_is_a_405_page(client: httpx.Client) -> None:
    assert client.post(BASE).status_code == 405


def test_server_error_shows_a_page_not_a_traceback(
    make_client: Callable[..., httpx.Client],
) -> None:
    with make_client(raise_server_exceptions=False) as c:
        boom = APIRouter()

        @boom.get("/boom")
        def explode() -> None:
            raise RuntimeError("secret detail in a traceback")

        c._transport._asgi.app.include_router(boom)  # type: ignore[attr-defined]
        page = c.get("/boom?lang=en")
        twin = c.get("/boom", headers={"Accept": "application/json"})
    assert page.status_code == 500
    assert "Something went wrong on our side" in page.text
    assert "secret detail" not in page.text + twin.text
    assert "Traceback" not in page.text
    assert twin.json()["error"]["status"] == 500


def test_safe_next_keeps_only_paths_on_this_site() -> None:
    assert [
        safe_next(v) for v in ("/a?b=1", "//x.y", "https://x.y", "/\\x", "", None, "/a\nb")
    ] == ["/a?b=1", "/", "/", "/", "/", "/", "/"]


def test_cookies_are_http_only_and_same_site(client: httpx.Client) -> None:
    response = client.get("/login")
    cookie = response.headers["set-cookie"].lower()
    assert ("httponly" in cookie, "samesite=lax" in cookie) == (True, True)
