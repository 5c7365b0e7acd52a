"""Sign-in limits per account (shared through the database) and trusted proxies' headers.

Clients call the app in this process with the client address set in the ASGI scope; no packet
leaves the process. The app's clock is the test's, so "5 seconds" is exact.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import httpx
import pytest
from sqlalchemy import Engine

from oyren.errors import InputError
from oyren.settings import Settings
from oyren.store.signins import FREE_FAILURES, MAX_DELAY_S
from oyren.web.app import WebOptions, create_app
from oyren.web.security import RateLimit
from tests.conftest import PASSWORD
from tests.web.conftest import Clock, InProcess, csrf_of

Factory = Callable[..., httpx.Client]


@pytest.fixture
def client_at(sandbox_db: Engine, clock: Clock) -> Iterator[Factory]:
    """Clients of one app (or of a second app on the same database: another web process),
    each calling from the address it is given."""
    made: list[httpx.Client] = []

    def make(
        address: str,
        *,
        app: object | None = None,
        proxies: str = "",
        rate_limits: dict[str, RateLimit] | None = None,
    ) -> httpx.Client:
        if app is None:
            options = WebOptions(clock=clock, secure_cookies=None)
            if rate_limits is not None:
                options = WebOptions(clock=clock, secure_cookies=None, rate_limits=rate_limits)
            settings = Settings(database_url="sqlite://", trusted_proxies=proxies)
            app = create_app(settings, options=options, engine=sandbox_db)
        transport = InProcess(app)  # type: ignore[arg-type]
        transport._asgi = httpx.ASGITransport(app, client=(address, 40000))  # type: ignore[arg-type]
        client = httpx.Client(transport=transport, base_url="http://testserver")
        made.append(client)
        return client

    yield make
    for client in made:
        client.close()


def _sign_in(client: httpx.Client, username: str, password: str) -> httpx.Response:
    token = csrf_of(client)
    return client.post(
        "/login", data={"username": username, "password": password, "csrf_token": token}
    )


def test_many_addresses_guessing_one_account_are_held_back(
    client_at: Factory, clock: Clock
) -> None:
    first = client_at("127.0.0.1")
    app = first._transport._asgi.app  # type: ignore[attr-defined]
    guessers = [first] + [client_at(f"127.0.0.{i}", app=app) for i in range(2, 11)]
    start = clock.now
    codes = []
    for n in range(50):  # 50 guesses from 10 addresses in 5 seconds
        clock.now = start + n * 0.1
        codes.append(_sign_in(guessers[n % 10], "olga", f"guess-{n}").status_code)
    checked, refused = codes.count(401), codes.count(429)
    # Each address stays within its own limit (5 a minute): only the account's limit acts.
    assert checked + refused == 50
    assert FREE_FAILURES <= checked <= FREE_FAILURES + 3
    assert refused >= 50 - FREE_FAILURES - 3
    # The owner, from an address never seen before, after the longest back-off.
    clock.now = start + 5 + MAX_DELAY_S
    assert _sign_in(client_at("127.0.0.99", app=app), "olga", PASSWORD).status_code == 303


def test_the_wait_is_shared_by_every_web_process(client_at: Factory, clock: Clock) -> None:
    one, other = client_at("127.0.0.1"), client_at("127.0.0.2")  # two apps, one database
    for n in range(FREE_FAILURES):
        assert _sign_in(one, "olga", f"guess-{n}").status_code == 401
    assert _sign_in(other, "olga", "guess-x").status_code == 401  # one too many: wait 1 s
    refused = _sign_in(other, "olga", "guess-y")
    assert (refused.status_code, refused.headers["retry-after"]) == (429, "1")
    assert _sign_in(other, "olga", PASSWORD).status_code == 429  # not even checked


def test_the_owner_signs_in_from_a_known_address_while_guessers_wait(
    client_at: Factory, clock: Clock
) -> None:
    owner = client_at("127.0.0.50", rate_limits={})  # only the account's limit
    app = owner._transport._asgi.app  # type: ignore[attr-defined]
    assert _sign_in(owner, "olga", PASSWORD).status_code == 303
    guesser = client_at("127.0.0.60", app=app)
    for n in range(FREE_FAILURES + 4):
        _sign_in(guesser, "olga", f"guess-{n}")
        clock.now += 0.5
    assert _sign_in(guesser, "olga", PASSWORD).status_code == 429
    assert _sign_in(client_at("127.0.0.50", app=app), "olga", PASSWORD).status_code == 303
    # That success cleared the failures: the guesser's next wrong password is checked again.
    assert _sign_in(guesser, "olga", "guess-again").status_code == 401


def test_the_back_off_is_bounded(client_at: Factory, clock: Clock) -> None:
    guesser = client_at("127.0.0.1", rate_limits={})
    waits = []
    for n in range(30):
        response = _sign_in(guesser, "nobody-here", f"guess-{n}")
        if response.status_code == 429:
            waits.append(int(response.headers["retry-after"]))
            clock.now += waits[-1]
    assert max(waits) == MAX_DELAY_S
    assert waits[:4] == [1, 2, 4, 8]


def test_forwarded_headers_only_from_a_trusted_proxy(client_at: Factory) -> None:
    one_try = {"login": RateLimit(per_minute=1, burst=1)}
    proxied = client_at("127.0.0.1", proxies="127.0.0.1, ::1", rate_limits=one_try)
    app = proxied._transport._asgi.app  # type: ignore[attr-defined]
    stranger = client_at("127.0.0.2", app=app)

    https = {"X-Forwarded-Proto": "https", "X-Forwarded-For": "203.0.113.7"}
    behind = proxied.get("/login", headers=https)
    direct = stranger.get("/login", headers=https)
    assert behind.headers["strict-transport-security"].startswith("max-age=31536000")
    assert "secure" in behind.headers["set-cookie"].lower()
    assert "strict-transport-security" not in direct.headers
    assert "secure" not in direct.headers["set-cookie"].lower()

    # A stranger cannot dodge its address's limit by claiming to be someone else.
    def try_as(client: httpx.Client, claimed: str) -> int:
        token = csrf_of(client)
        data = {"username": "x", "password": "y", "csrf_token": token}
        return client.post("/login", data=data, headers={"X-Forwarded-For": claimed}).status_code

    assert [try_as(stranger, f"198.51.100.{i}") for i in (1, 2)] == [401, 429]
    # Behind the trusted proxy, each forwarded visitor has a limit of their own.
    assert [try_as(proxied, f"198.51.100.{i}") for i in (3, 4)] == [401, 401]


def test_a_bad_trusted_proxies_setting_names_it() -> None:
    with pytest.raises(InputError, match=r"trusted_proxies': 'proxy\.example' is not an IP"):
        Settings(trusted_proxies="127.0.0.1, proxy.example")
