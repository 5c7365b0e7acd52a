"""Bounds on every route parameter and form field: past a bound is a 4xx naming the field, never
a 500, and the visitor's keep-alive connection goes on serving requests afterwards."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from urllib.parse import urlencode

import httpx
import pytest
import uvicorn
from sqlalchemy import Engine

from oyren.settings import Settings
from oyren.web.app import WebOptions, create_app
from oyren.web.security import csrf_token
from tests.web.conftest import Clock, InProcess, csrf_of, log_in

ORG = "/organizer/campaigns/sandbox-2024"
HUGE = "99999999999999999999999"
HUGER = "9" * 20_000


def test_audit_before_past_the_largest_id_is_a_400(organizer: httpx.Client) -> None:
    for before in (HUGE, str(2**31), HUGER):
        response = organizer.get(ORG + "/audit.json", params={"before": before})
        assert response.status_code == 400, before
        assert response.json()["error"]["message"].startswith("query.before: ")
    assert organizer.get(ORG + "/audit.json", params={"before": 2**31 - 1}).status_code == 200


@pytest.mark.parametrize("value", [HUGE, HUGER, "0", "١٢", " 3 4"])
def test_jury_round_top_n_out_of_bounds_is_a_400(organizer: httpx.Client, value: str) -> None:
    token = csrf_of(organizer, ORG + "/jury")
    response = organizer.post(
        ORG + "/jury",
        data={"name": "Final", "rule": "top", "value": value, "csrf_token": token},
        headers={"Accept": "application/json"},
    )
    assert response.status_code == 400
    assert response.json()["error"]["message"] == "Neçə video götürüləcəyini yazın."


def test_jury_answer_places_past_the_batch_are_a_400(juror: httpx.Client) -> None:
    token = csrf_of(juror, "/jury")
    response = juror.post(
        "/jury/rounds/1/answer",
        data={"entry": ["1", "2"], "place": [HUGE, "1"], "csrf_token": token},
        headers={"Accept": "application/json"},
    )
    assert response.status_code == 400
    assert response.json()["error"]["message"].startswith("place.0: ")


def test_round_id_past_the_largest_id_is_a_400(juror: httpx.Client) -> None:
    assert juror.get("/jury/rounds/" + HUGE + ".json").status_code == 400


# --- On a real server: the connection survives a refused request ------------------------------


@dataclass
class Live:
    port: int
    cookies: str
    csrf: str


@pytest.fixture
def live(sandbox_db: Engine, clock: Clock) -> Iterator[Live]:
    """The app served by uvicorn on loopback, and the organizer's cookies."""
    app = create_app(
        Settings(database_url="sqlite://"),
        engine=sandbox_db,
        options=WebOptions(clock=clock, secure_cookies=False),
    )
    with httpx.Client(transport=InProcess(app), base_url="http://testserver") as signer:
        log_in(signer, "olga")
        jar = dict(signer.cookies.items())
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="critical"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.02)
    cookies = "; ".join(f"{k}={v}" for k, v in jar.items())
    yield Live(port, cookies, csrf_token(app.state.web.secret, jar["oyren_csrf"]))
    server.should_exit = True
    thread.join(timeout=10)


def _exchange(sock: socket.socket, request: bytes) -> tuple[int, dict[str, str]]:
    """Send one request on ``sock`` and read its whole response; the status and headers."""
    sock.sendall(request)
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        assert chunk, "the server closed the connection"
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = {k.lower(): v.strip() for k, v in (line.split(":", 1) for line in lines[1:])}
    length = int(headers.get("content-length", "0"))
    while len(body) < length:
        chunk = sock.recv(65536)
        assert chunk, "the server closed the connection"
        body += chunk
    return int(lines[0].split()[1]), headers


def test_a_refused_huge_number_keeps_the_connection_open(live: Live) -> None:
    common = f"Host: 127.0.0.1\r\nCookie: {live.cookies}\r\nAccept: application/json\r\n"
    form = urlencode({"name": "x", "rule": "top", "value": HUGER, "csrf_token": live.csrf})
    requests = [
        f"GET {ORG}/audit.json?before={HUGE} HTTP/1.1\r\n{common}\r\n".encode(),
        (
            f"POST {ORG}/jury HTTP/1.1\r\n{common}"
            "Content-Type: application/x-www-form-urlencoded\r\n"
            f"Content-Length: {len(form)}\r\n\r\n{form}"
        ).encode(),
        f"GET {ORG}/audit.json HTTP/1.1\r\n{common}\r\n".encode(),
    ]
    with socket.create_connection(("127.0.0.1", live.port), timeout=10) as sock:
        answers = [_exchange(sock, request) for request in requests]
    assert [status for status, _ in answers] == [400, 400, 200]
    assert [h.get("connection", "") for _, h in answers] == ["", "", ""]
