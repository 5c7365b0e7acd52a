"""Security headers, CSRF tokens, rate limits and error pages."""

from __future__ import annotations

from collections.abc import Callable

import httpx

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


def test_cookies_are_http_only_and_same_site(client: httpx.Client) -> None:
    response = client.get("/login")
    cookie = response.headers["set-cookie"].lower()
    assert ("httponly" in cookie, "samesite=lax" in cookie) == (True, True)
