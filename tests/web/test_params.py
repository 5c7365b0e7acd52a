"""Bounds on every route parameter and form field: past a bound is a 4xx naming the field, never
a 500, and the visitor's keep-alive connection goes on serving requests afterwards."""

from __future__ import annotations

import re
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
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


def _bounded_fields(
    doc: dict[str, Any], *, every: bool = False
) -> list[tuple[str, str, str, str, dict[str, Any]]]:
    """Every (method, path, where, name, schema) of the OpenAPI document whose value has an upper
    bound (a string's length, an integer's maximum, a list's length or its items' bounds), or
    every field at all."""
    schemas = doc["components"]["schemas"]
    found = []
    for path, operations in doc["paths"].items():
        for method, operation in operations.items():
            fields = [(p["in"], p["name"], p["schema"]) for p in operation.get("parameters", [])]
            for content in operation.get("requestBody", {}).get("content", {}).values():
                body = schemas[content["schema"]["$ref"].rsplit("/", 1)[-1]]
                fields += [("form", name, s) for name, s in body["properties"].items()]
            for where, name, schema in fields:
                if every or _past(schema) is not None:
                    found.append((method.upper(), path, where, name, schema))
    return found


def _plain(schema: dict[str, Any]) -> dict[str, Any]:
    """The schema without its ``anyOf [X, null]`` wrapper."""
    options = [s for s in schema.get("anyOf", [schema]) if s.get("type") != "null"]
    return options[0]


def _past(schema: dict[str, Any]) -> Any:
    """A value one past the schema's upper bound, or None if it has none."""
    s = _plain(schema)
    if "maxLength" in s:
        return "a" * (s["maxLength"] + 1)
    if "maximum" in s:
        return str(int(s["maximum"]) + 1)
    if "maxItems" in s:
        return ["1"] * (s["maxItems"] + 1)
    item = _past(s["items"]) if "items" in s else None
    return None if item is None else [item]


def _closed(pattern: str) -> bool:
    """True if a pattern bounds a value's length: a choice of words, or a bounded repeat."""
    choice = re.fullmatch(r"\^\([^()*+]*\)\$", pattern) is not None
    return choice or ("*" not in pattern and "+" not in pattern and pattern.endswith("}$"))


def _valid(schema: dict[str, Any], name: str) -> Any:
    """A value the schema takes (only its form is checked before the handler runs)."""
    s = _plain(schema)
    if name == "campaign_id":
        return "sandbox-2024"
    if "pattern" in s and s["pattern"].startswith("^("):
        return s["pattern"][2:].split("|")[0].rstrip(")$")
    if s.get("type") == "integer" or s.get("type") == "number":
        return str(int(s.get("minimum", 1)))
    if s.get("type") == "array":
        return ["1"]
    if "pattern" in s:
        return "1"
    return "a" * max(2, s.get("minLength", 1))


def test_every_bounded_field_refuses_one_past_its_bound_naming_it(
    organizer: httpx.Client, juror: httpx.Client
) -> None:
    """Each upper bound the OpenAPI document shows is enforced: one past it is a 400 whose message
    names the field, before the handler runs (the juror's pages as a juror, the rest as the
    organizer, who may call them all)."""
    doc = organizer.get("/openapi.json").json()
    tokens = {"organizer": csrf_of(organizer), "juror": csrf_of(juror, "/jury")}
    cases = _bounded_fields(doc)
    assert len(cases) >= 40  # every bounded field of the app, not a handful
    # And every field has a bound, a closed pattern (a choice of words) or is a yes/no.
    unbounded = [
        f"{method} {path} {where}.{name}"
        for method, path, where, name, schema in _bounded_fields(doc, every=True)
        if _past(schema) is None
        and not _closed(_plain(schema).get("pattern", ""))
        and _plain(schema).get("type") != "boolean"
    ]
    assert unbounded == []
    wrong = []
    for method, path, where, name, _schema in cases:
        operation = doc["paths"][path][method.lower()]
        params = [(p["in"], p["name"], p["schema"]) for p in operation.get("parameters", [])
                  if p.get("required") or p["name"] == name]  # fmt: skip
        for content in operation.get("requestBody", {}).get("content", {}).values():
            body = doc["components"]["schemas"][content["schema"]["$ref"].rsplit("/", 1)[-1]]
            required = set(body.get("required", [])) | {name}
            params += [("form", n, s) for n, s in body["properties"].items() if n in required]
        values = {(w, n): _past(s) if (w, n) == (where, name) else _valid(s, n)
                  for w, n, s in params}  # fmt: skip
        url = path
        for (w, n), value in values.items():
            if w == "path":
                url = url.replace("{" + n + "}", str(value))
        query = {n: v for (w, n), v in values.items() if w == "query"}
        form = {n: v for (w, n), v in values.items() if w == "form"}
        who = "juror" if path.startswith("/jury/") else "organizer"
        token = tokens[who]
        response = (juror if who == "juror" else organizer).request(
            method,
            url,
            params=query,
            data={**form, "csrf_token": token} if method == "POST" else None,
            headers={"Accept": "application/json", "x-csrf-token": token},
        )
        loc = name if where == "form" else f"{where}.{name}"
        message = response.json()["error"]["message"] if response.status_code == 400 else ""
        if response.status_code != 400 or not message.startswith((f"{loc}: ", f"{loc}.")):
            wrong.append(f"{method} {url} {loc}: {response.status_code} {message[:80]}")
    assert not wrong, "\n".join(wrong)
