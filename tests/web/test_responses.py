"""Schemathesis over the app's own ``/openapi.json``, as each role: no 5xx, and every status
code an operation answers is one its description lists.

The app is called in this process (no server, no network), on a copy of the sandbox database,
with rate limits off so the fuzzer reaches the handlers. Valid and invalid requests are drawn
across all operations, a bounded number per role, so the whole file stays near a minute; the
counts are printed (``-s``) for docs/security.md. Signing out is left out (it would end
the role's session mid-run) and tested on its own.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode

from oyren.web.security import RateLimit, csrf_token
from tests.web.conftest import log_in

EXAMPLES_PER_ROLE = 150
NO_LIMITS = {p: RateLimit(per_minute=0, burst=0) for p in ("page", "check", "submit", "login")}
ROLES = {"anonymous": None, "organizer": "olga", "moderator": "murad", "juror": "jale"}


@pytest.mark.parametrize("role", ROLES)
def test_fuzzing_the_api_finds_no_server_error_and_no_undocumented_code(
    make_client: Callable[..., httpx.Client], role: str
) -> None:
    with make_client(rate_limits=NO_LIMITS) as client:
        app = client._transport._asgi.app  # type: ignore[attr-defined]
        if ROLES[role] is not None:
            log_in(client, ROLES[role])
        client.get("/login")  # every visitor holds a CSRF cookie
        cookies = dict(client.cookies.items())
    headers = {"x-csrf-token": csrf_token(app.state.web.secret, cookies["oyren_csrf"])}

    schema = schemathesis.openapi.from_asgi("/openapi.json", app).exclude(path="/logout")
    documented = {
        (method.upper(), path): set(operation["responses"])
        for path, operations in app.openapi()["paths"].items()
        for method, operation in operations.items()
    }
    # Random campaign ids rarely name one: a third of the requests ask about the stored one.
    on_campaign = schema.include(path_regex=r"\{campaign_id\}").as_strategy(
        GenerationMode.POSITIVE, path_parameters={"campaign_id": "sandbox-2024"}
    )
    strategy = st.one_of(
        schema.as_strategy(GenerationMode.POSITIVE),
        schema.as_strategy(GenerationMode.NEGATIVE),
        on_campaign,
    )
    seen: Counter[tuple[str, str, int]] = Counter()
    problems: list[str] = []

    @given(case=strategy)
    @settings(
        max_examples=EXAMPLES_PER_ROLE,
        deadline=None,
        database=None,
        derandomize=True,
        suppress_health_check=list(HealthCheck),
    )
    def call(case: Any) -> None:
        response = case.call(headers=headers, cookies=cookies, allow_redirects=False, app=app)
        key = (case.operation.method.upper(), case.operation.path)
        seen[(*key, response.status_code)] += 1
        if response.status_code >= 500:
            problems.append(f"{key} {response.status_code}: {case.as_curl_command()}")
        elif str(response.status_code) not in documented[key]:
            problems.append(f"{key} answered {response.status_code}, not documented")

    call()
    codes = Counter(status for _m, _p, status in seen.elements())
    print(f"\n{role}: {sum(seen.values())} requests, {len(seen)} (operation, code) pairs, "
          f"codes {dict(sorted(codes.items()))}")  # fmt: skip
    assert sorted(set(problems)) == []
    assert sum(seen.values()) >= EXAMPLES_PER_ROLE // 2
    assert not any(status >= 500 for status in codes)


def test_sign_out_is_documented_and_refuses_without_a_token(client: httpx.Client) -> None:
    operation = client.get("/openapi.json").json()["paths"]["/logout"]["post"]
    assert {"303", "403"} <= set(operation["responses"])
    assert client.post("/logout").status_code == 403
