"""The sandbox Login Kit, Display API and oEmbed: TikTok's creator-facing doors, simulated.

:class:`SandboxLogin` answers, from the sandbox's simulated videos and on the sandbox's clock:

- ``GET /v2/auth/authorize/``: a page where a sandbox creator picks who they are and consents
  (``POST`` the same path), then is sent back to the ``redirect_uri`` with a one-time ``code``
  and the ``state`` unchanged (or ``error=access_denied`` when they cancel);
- ``POST /v2/oauth/token/`` with ``authorization_code`` (PKCE S256 checked, a code works once and
  for ten minutes) or ``refresh_token`` (each refresh rotates the refresh token: the old one stops
  working); tokens expire (``expires_in``/``refresh_expires_in`` in every answer);
- ``POST /v2/oauth/revoke/``; ``GET /v2/user/info/``;
- ``POST /v2/video/list/`` (newest first, ``max_count`` at most 20, ``cursor``, ``has_more``) and
  ``POST /v2/video/query/`` (at most 20 ids, only the creator's own public videos returned);
  captions cut at 150 characters as TikTok may; a per-minute limit per endpoint answered with 429
  ``rate_limit_exceeded``;
- ``GET /oembed?url=…``: author, caption and thumbnail of a public video, 404 for one removed or
  private;
- ``GET /thumbs/VID.png?x-expires=T``: the thumbnail (a small PNG drawn from the video's id) that
  oEmbed's ``thumbnail_url`` and the Display API's ``cover_image_url`` point at, on the sandbox's
  own origin; like TikTok's signed image addresses it stops working (403) once ``x-expires`` passes.

:meth:`SandboxLogin.vanish` makes a video disappear (deleted or made private) from a moment on;
:meth:`SandboxLogin.revoke_all` is a creator revoking the app in TikTok's settings. The fault
switches of :class:`~oyren.sandbox.api.Faults` apply here too (500s, HTML 504s, 429s), and
``die_mid_refresh`` drops a share of refresh requests before they are answered (nothing rotates).
"""

from __future__ import annotations

import base64
import hashlib
import html
import random
import re
import struct
import zlib
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlencode

import orjson

from oyren.rules.campaign import Campaign
from oyren.sandbox.simulate import DAY, HOUR, SimVideo

__all__ = [
    "SANDBOX_LOGIN_KEY",
    "SANDBOX_LOGIN_SECRET",
    "LoginConfig",
    "SandboxLogin",
    "creator_videos",
    "open_id_of",
    "thumbnail_png",
]

SANDBOX_LOGIN_KEY = "sandbox-login-key"
SANDBOX_LOGIN_SECRET = "sandbox-login-secret"
CAPTION_CUT = 150
CODE_TTL_S = 600
PROFILE = "https://www.tiktok.com/@"
THUMB_PATH = "/thumbs/"
THUMB_TTL_S = 6 * HOUR  # how long an image address works, like TikTok's signed ones
_THUMB = re.compile(r"^/thumbs/(\d{1,30})\.png$")
_VIDEO_LINK = re.compile(r"^https://(?:www\.)?tiktok\.com/@([A-Za-z0-9_.]{1,64})/video/(\d{1,30})")

Answer = tuple[int, tuple[tuple[str, str], ...], bytes]
"""(status, headers, body) of one answer."""


@dataclass(frozen=True, slots=True)
class LoginConfig:
    """The sandbox Login Kit app and its limits."""

    client_key: str = SANDBOX_LOGIN_KEY
    client_secret: str = field(default=SANDBOX_LOGIN_SECRET, repr=False)
    access_lifetime_s: int = 2 * HOUR
    refresh_lifetime_s: int = 180 * DAY
    rotate_refresh: bool = True
    per_minute: int = 600  # requests per endpoint per minute, then 429
    die_mid_refresh: float = 0.0  # share of refresh requests dropped before any answer


def open_id_of(username: str) -> str:
    """The sandbox open_id of a creator (stable, not the username)."""
    return "sbx-" + hashlib.sha256(username.encode()).hexdigest()[:24]


def thumbnail_png(video_id: str, width: int = 72, height: int = 128) -> bytes:
    """A small PNG standing in for a video's cover: two colours and a band, from the id."""
    digest = hashlib.sha256(video_id.encode()).digest()
    top, bottom, band = digest[0:3], digest[3:6], digest[6:9]
    rows = []
    for y in range(height):
        mix = y / max(1, height - 1)
        colour = bytes(int(a + (b - a) * mix) for a, b in zip(top, bottom, strict=True))
        if height // 2 - 6 <= y < height // 2 + 6:
            colour = band
        rows.append(b"\x00" + colour * width)
    raw = zlib.compress(b"".join(rows), 9)

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", raw) + chunk(b"IEND", b"")


def creator_videos(campaign: Campaign) -> list[SimVideo]:
    """Videos of two sandbox creators made for taking part by hand (and for the demo).

    ``lala.learns`` (a school pupil) posted one video with the tag, one whose long caption carries
    the tag past TikTok's 150-character cut, and one without the tag; ``samir.explains`` posted
    two tagged videos. Ids start at 7399…, clear of the simulation's.
    """
    tag = "#" + sorted(campaign.hashtags)[0].lstrip("#") if campaign.hashtags else "#contest"
    start = campaign.window_start_ts
    long_caption = (
        "Fotosintez necə işləyir? Bitkilər günəş işığını, suyu və karbon qazını şəkərə və "
        "oksigenə çevirir. Bu videoda hər addımı sadə təcrübə ilə göstərirəm, evdə təkrar edin! "
        f"{tag} #biologiya"
    )
    specs = [
        (
            "7399000000000000001",
            "lala.learns",
            2,
            f"Kəsrləri 1 dəqiqədə öyrən {tag} #riyaziyyat",
            62,
            48_000,
        ),
        ("7399000000000000002", "lala.learns", 5, long_caption, 75, 31_000),
        ("7399000000000000003", "lala.learns", 9, "Məktəbdən bir gün #vlog", 40, 90_000),
        ("7399000000000000004", "samir.explains", 3, f"Elektrik dövrəsi {tag}", 95, 120_000),
        ("7399000000000000005", "samir.explains", 12, f"Newtonun qanunları {tag}", 80, 15_000),
    ]
    return [
        SimVideo(
            video_id=vid,
            username=user,
            create_time=start + day * DAY + 15 * HOUR,
            region_code="AZ",
            description=text,
            hashtags=tuple(t.lstrip("#") for t in re.findall(r"#\w+", text)),
            duration_s=duration,
            total_views=views,
            tau_s=3 * DAY,
            like_rate=0.08,
            comment_rate=0.01,
            share_rate=0.005,
            music_id="7000000000000000001",
            voice_to_text=None,
            theme="science",
        )
        for vid, user, day, text, duration, views in specs
    ]


@dataclass(slots=True)
class _Grant:
    open_id: str
    scopes: tuple[str, ...]
    expires_at: float


class SandboxLogin:
    """The creator-facing endpoints, served by :class:`~oyren.sandbox.api.SandboxAPI`."""

    def __init__(
        self,
        videos: Sequence[SimVideo],
        *,
        config: LoginConfig | None = None,
        seed: int = 0,
        roll: Callable[[str], bool] | None = None,
    ) -> None:
        self.config = config or LoginConfig()
        self._rng = random.Random(seed + 17)
        self._roll = roll or (lambda _fault: False)
        self.by_creator: dict[str, list[SimVideo]] = defaultdict(list)
        for v in videos:
            self.by_creator[open_id_of(v.username)].append(v)
        for vids in self.by_creator.values():
            vids.sort(key=lambda v: (-v.create_time, v.video_id))
        self.username = {open_id_of(v.username): v.username for v in videos}
        self._by_id = {v.video_id: v for v in videos}
        self._codes: dict[str, tuple[str, str, str, float, tuple[str, ...]]] = {}
        self._access: dict[str, _Grant] = {}
        self._refresh: dict[str, _Grant] = {}
        self._vanished: dict[str, float] = {}
        self._window: dict[tuple[str, int], int] = defaultdict(int)
        self.stats: dict[str, int] = defaultdict(int)

    # Truth and switches, for tests and the demo ---------------------------------------------------

    def vanish(self, video_id: str, at: float) -> None:
        """The video is deleted or made private from ``at`` on."""
        self._vanished[video_id] = at

    def revoke_all(self, open_id: str) -> None:
        """The creator removes the app in TikTok's settings: every token stops working."""
        for book in (self._access, self._refresh):
            for token in [t for t, g in book.items() if g.open_id == open_id]:
                del book[token]

    def expire_refresh_tokens(self, open_id: str) -> None:
        """The creator's refresh tokens reach their end (as after months without use)."""
        for grant in self._refresh.values():
            if grant.open_id == open_id:
                grant.expires_at = 0

    def featured(self) -> list[str]:
        """Usernames offered first on the authorize page."""
        planted = [u for u in ("lala.learns", "samir.explains") if open_id_of(u) in self.username]
        rest = sorted(
            (u for u in self.username.values() if u not in planted),
            key=lambda u: (-len(self.by_creator[open_id_of(u)]), u),
        )
        return planted + rest[:10]

    def visible(self, video: SimVideo, now: float) -> bool:
        """Whether the video is public at ``now``."""
        gone = self._vanished.get(video.video_id)
        return video.create_time <= now and (gone is None or now < gone)

    # Serving --------------------------------------------------------------------------------------

    def handle(
        self,
        method: str,
        path: str,
        query: str,
        headers: Mapping[str, str],
        body: bytes,
        now: float,
    ) -> Answer | None:
        """Answer a request for one of these endpoints, or None when the path is not one."""
        routes: dict[str, Callable[[], Answer]] = {
            "/v2/auth/authorize/": lambda: self._authorize(method, query, body, now),
            "/v2/oauth/revoke/": lambda: self._revoke(body, now),
            "/v2/user/info/": lambda: self._user(headers, now),
            "/v2/video/list/": lambda: self._list(headers, body, now),
            "/v2/video/query/": lambda: self._query(headers, body, now),
            "/oembed": lambda: self._oembed(query, headers, now),
        }
        if method == "GET" and path.startswith(THUMB_PATH):
            return self._thumbnail(path, query, now)
        if path == "/v2/oauth/token/":
            form = _form(body)
            if form.get("grant_type") in ("authorization_code", "refresh_token"):
                limited = self._limit(path, now)
                return limited or self._token(form, now)
            return None
        route = routes.get(path)
        if route is None:
            return None
        if path not in ("/v2/auth/authorize/", "/oembed"):
            limited = self._limit(path, now)
            if limited:
                return limited
        return route()

    # Endpoints ------------------------------------------------------------------------------------

    def _limit(self, path: str, now: float) -> Answer | None:
        fault = self._faults(now)
        if fault:
            return fault
        key = (path, int(now // 60))
        self._window[key] += 1
        if self._window[key] > self.config.per_minute:
            self.stats["429"] += 1
            return _api_error(429, "rate_limit_exceeded", "Too many requests.", now)
        return None

    def _faults(self, now: float) -> Answer | None:
        if self._roll("throttle"):
            self.stats["429"] += 1
            return _api_error(429, "rate_limit_exceeded", "Too many requests.", now)
        if self._roll("server_error"):
            self.stats["500"] += 1
            return _api_error(500, "internal_error", "Something went wrong.", now)
        if self._roll("gateway_timeout"):
            self.stats["504"] += 1
            page = b"<html><body><h1>504 Gateway Time-out</h1></body></html>"
            return 504, (("content-type", "text/html"), ("date", _date(now))), page
        return None

    def _authorize(self, method: str, query: str, body: bytes, now: float) -> Answer:
        params = {k: v[0] for k, v in parse_qs(query).items()}
        if method == "POST":
            params.update(_form(body))
        if params.get("client_key") != self.config.client_key:
            return _page(400, "Unknown client_key: this app is not registered.")
        redirect = params.get("redirect_uri", "")
        if not redirect.startswith(("http://", "https://")) or "?" in redirect or "#" in redirect:
            return _page(400, "redirect_uri must be an absolute URL without a query or fragment.")
        if params.get("response_type") != "code":
            return _page(400, "response_type must be code.")
        scopes = tuple(s for s in params.get("scope", "").split(",") if s)
        state = params.get("state", "")
        if method == "GET":
            return self._consent_page(params, scopes)
        if params.get("decision") != "allow":
            target = (
                redirect
                + "?"
                + urlencode(
                    {
                        "error": "access_denied",
                        "error_description": "The user cancelled.",
                        "state": state,
                    }
                )
            )
            return 302, (("location", target),), b""
        username = params.get("username", "").strip().lstrip("@")
        open_id = open_id_of(username)
        if open_id not in self.username:
            return _page(400, f"No sandbox creator @{html.escape(username)}.")
        code = "sbxcode." + self._secret()
        challenge = params.get("code_challenge", "")
        self._codes[code] = (open_id, redirect, challenge, now + CODE_TTL_S, scopes)
        self.stats["authorized"] += 1
        query_out = {"code": code, "scopes": ",".join(scopes), "state": state}
        return 302, (("location", redirect + "?" + urlencode(query_out)),), b""

    def _consent_page(self, params: Mapping[str, str], scopes: Sequence[str]) -> Answer:
        hidden = "".join(
            f'<input type="hidden" name="{html.escape(k)}" value="{html.escape(v)}">'
            for k, v in params.items()
            if k not in ("username", "decision")
        )
        options = "".join(
            f'<label class="who"><input type="radio" name="username" value="{html.escape(u)}"'
            f"{' checked' if i == 0 else ''}> @{html.escape(u)}</label>"
            for i, u in enumerate(self.featured())
        )
        items = "".join(f"<li>{html.escape(s)}</li>" for s in scopes)
        text = (
            "<!doctype html><html lang=en><head><meta charset=utf-8>"
            '<meta name=viewport content="width=device-width, initial-scale=1">'
            "<title>TikTok sandbox: authorize</title><style>body{font-family:sans-serif;"
            "max-width:32rem;margin:1rem auto;padding:0 1rem}label.who{display:block;"
            "padding:.4rem 0}button{font-size:1rem;padding:.6rem 1rem;margin:.3rem .3rem 0 0}"
            "</style></head><body><h1>TikTok sandbox</h1>"
            "<p>An app asks to read:</p><ul>" + items + "</ul>"
            '<form method="post"><fieldset><legend>Who are you?</legend>'
            + options
            + "</fieldset>"
            + hidden
            + '<button type="submit" name="decision" value="allow">Authorize</button>'
            '<button type="submit" name="decision" value="deny">Cancel</button></form>'
            "</body></html>"
        )
        return 200, (("content-type", "text/html; charset=utf-8"),), text.encode()

    def _token(self, form: Mapping[str, str], now: float) -> Answer:
        if (
            form.get("client_key") != self.config.client_key
            or form.get("client_secret") != self.config.client_secret
        ):
            return _oauth_error(401, "invalid_client", "Client key or secret is incorrect.", now)
        if form["grant_type"] == "authorization_code":
            code = form.get("code", "")
            found = self._codes.pop(code, None)  # a code works once
            if found is None:
                return _oauth_error(400, "invalid_grant", "Authorization code is expired.", now)
            open_id, redirect, challenge, expires_at, scopes = found
            if expires_at <= now:
                return _oauth_error(400, "invalid_grant", "Authorization code is expired.", now)
            if form.get("redirect_uri") != redirect:
                return _oauth_error(400, "invalid_request", "redirect_uri does not match.", now)
            if challenge and _s256(form.get("code_verifier", "")) != challenge:
                return _oauth_error(
                    400, "invalid_request", "Code verifier or code challenge is invalid.", now
                )
            return self._issue(open_id, scopes, now)
        token = form.get("refresh_token", "")
        grant = self._refresh.get(token)
        if grant is None or grant.expires_at <= now:
            self.stats["refresh_refused"] += 1
            return _oauth_error(400, "invalid_grant", "Refresh token is invalid or expired.", now)
        if self.config.die_mid_refresh and self._rng.random() < self.config.die_mid_refresh:
            self.stats["died"] += 1
            raise ConnectionAbortedError("the sandbox dropped the refresh request")
        self.stats["refreshed"] += 1
        if self.config.rotate_refresh:
            del self._refresh[token]
            return self._issue(grant.open_id, grant.scopes, now)
        return self._issue(grant.open_id, grant.scopes, now, refresh=token)

    def _issue(
        self, open_id: str, scopes: tuple[str, ...], now: float, *, refresh: str | None = None
    ) -> Answer:
        access = "act." + self._secret()
        self._access[access] = _Grant(open_id, scopes, now + self.config.access_lifetime_s)
        if refresh is None:
            refresh = "rft." + self._secret()
            self._refresh[refresh] = _Grant(open_id, scopes, now + self.config.refresh_lifetime_s)
        payload = {
            "open_id": open_id,
            "scope": ",".join(scopes),
            "access_token": access,
            "expires_in": self.config.access_lifetime_s,
            "refresh_token": refresh,
            "refresh_expires_in": int(self._refresh[refresh].expires_at - now),
            "token_type": "Bearer",
        }
        self.stats["token"] += 1
        return _json(200, payload, now)

    def _revoke(self, body: bytes, now: float) -> Answer:
        form = _form(body)
        if (
            form.get("client_key") != self.config.client_key
            or form.get("client_secret") != self.config.client_secret
        ):
            return _oauth_error(401, "invalid_client", "Client key or secret is incorrect.", now)
        grant = self._access.get(form.get("token", ""))
        if grant is not None:
            self.revoke_all(grant.open_id)
        self.stats["revoked"] += 1
        return _json(200, {}, now)

    def _grant(self, headers: Mapping[str, str], scope: str, now: float) -> _Grant | Answer:
        auth = headers.get("authorization", "")
        token = auth[len("Bearer ") :] if auth.startswith("Bearer ") else ""
        grant = self._access.get(token)
        if grant is None or grant.expires_at <= now:
            return _api_error(401, "access_token_invalid", "The access token is invalid.", now)
        if scope not in grant.scopes:
            return _api_error(401, "scope_not_authorized", f"Scope {scope} not granted.", now)
        return grant

    def _user(self, headers: Mapping[str, str], now: float) -> Answer:
        grant = self._grant(headers, "user.info.basic", now)
        if not isinstance(grant, _Grant):
            return grant
        name = self.username[grant.open_id]
        user = {
            "open_id": grant.open_id,
            "union_id": "u" + grant.open_id,
            "display_name": name.replace(".", " ").title(),
            "avatar_url": None,
        }
        if "user.info.profile" in grant.scopes:
            user["username"] = name
        return _ok({"user": {k: v for k, v in user.items() if v is not None}}, now)

    def _list(self, headers: Mapping[str, str], body: bytes, now: float) -> Answer:
        grant = self._grant(headers, "video.list", now)
        if not isinstance(grant, _Grant):
            return grant
        request = _json_body(body)
        count, cursor = request.get("max_count", 10), request.get("cursor")
        if not isinstance(count, int) or not 1 <= count <= 20:
            return _api_error(400, "invalid_params", "max_count must be 1 to 20.", now)
        if cursor is not None and (not isinstance(cursor, int) or cursor < 0):
            return _api_error(400, "invalid_params", "Invalid cursor.", now)
        public = [v for v in self.by_creator[grant.open_id] if self.visible(v, now)]
        # The cursor is a create_time in milliseconds: videos posted before it come next.
        if cursor is not None:
            public = [v for v in public if v.create_time * 1000 < cursor]
        page = public[:count]
        has_more = len(public) > count
        next_cursor = page[-1].create_time * 1000 if page else (cursor or 0)
        data = {
            "videos": [self._render(v, headers, now) for v in page],
            "cursor": next_cursor,
            "has_more": has_more,
        }
        return _ok(data, now)

    def _query(self, headers: Mapping[str, str], body: bytes, now: float) -> Answer:
        grant = self._grant(headers, "video.list", now)
        if not isinstance(grant, _Grant):
            return grant
        filters = _json_body(body).get("filters")
        ids = filters.get("video_ids") if isinstance(filters, dict) else None
        if not isinstance(ids, list) or not ids or not all(isinstance(i, str) for i in ids):
            return _api_error(400, "invalid_params", "filters.video_ids must list ids.", now)
        if len(ids) > 20:
            return _api_error(400, "invalid_params", "At most 20 video ids.", now)
        found = [
            v
            for v in (self._by_id.get(i) for i in ids)
            if v is not None and open_id_of(v.username) == grant.open_id and self.visible(v, now)
        ]
        self.stats["queried"] += len(ids)
        return _ok({"videos": [self._render(v, headers, now) for v in found]}, now)

    def _thumbnail(self, path: str, query: str, now: float) -> Answer:
        match = _THUMB.match(path)
        video = self._by_id.get(match.group(1)) if match else None
        if video is None or not self.visible(video, now):
            return _page(404, "No such image.")
        expires = parse_qs(query).get("x-expires", [""])[0]
        if not expires.isdigit() or int(expires) < now:
            self.stats["thumb_expired"] += 1
            return _page(403, "Access denied: the address has expired.")
        self.stats["thumbs"] += 1
        headers = (("content-type", "image/png"), ("date", _date(now)))
        return 200, headers, thumbnail_png(video.video_id)

    def _thumbnail_url(self, video: SimVideo, headers: Mapping[str, str], now: float) -> str:
        """The video's image on this sandbox's own origin, signed until ``now`` + 6 hours."""
        host = headers.get("host", "sandbox.invalid")
        expires = int(now) + THUMB_TTL_S
        signature = hashlib.sha256(f"{video.video_id}:{expires}".encode()).hexdigest()[:16]
        return (
            f"http://{host}{THUMB_PATH}{video.video_id}.png"
            f"?x-expires={expires}&x-signature={signature}"
        )

    def _oembed(self, query: str, headers: Mapping[str, str], now: float) -> Answer:
        url = parse_qs(query).get("url", [""])[0]
        match = _VIDEO_LINK.match(url)
        if not match:
            return _json(400, {"status_msg": "Something went wrong", "code": 400}, now)
        video = self._by_id.get(match.group(2))
        if video is None or not self.visible(video, now):
            return _json(404, {"status_msg": "Something went wrong", "code": 404}, now)
        author = video.username
        payload = {
            "version": "1.0",
            "type": "video",
            "title": video.description,
            "author_url": PROFILE + author,
            "author_name": author.replace(".", " ").title(),
            "provider_name": "TikTok",
            "provider_url": "https://www.tiktok.com",
            "thumbnail_url": self._thumbnail_url(video, headers, now),
            "thumbnail_width": 72,
            "thumbnail_height": 128,
            "html": "",
        }
        return _json(200, payload, now)

    def _render(self, video: SimVideo, headers: Mapping[str, str], now: float) -> dict[str, Any]:
        obs = video.observe(int(now))
        caption = video.description[:CAPTION_CUT]
        return {
            "id": video.video_id,
            "create_time": video.create_time,
            "title": caption,
            "video_description": caption,
            "duration": video.duration_s,
            "view_count": obs.view_count,
            "like_count": obs.like_count,
            "comment_count": obs.comment_count,
            "share_count": obs.share_count,
            "share_url": f"https://www.tiktok.com/@{video.username}/video/{video.video_id}",
            "embed_link": f"https://www.tiktok.com/player/v1/{video.video_id}",
            "cover_image_url": self._thumbnail_url(video, headers, now),
        }

    def _secret(self) -> str:
        return f"{self._rng.getrandbits(128):032x}"


def _s256(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode("ascii", "replace")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def _form(body: bytes) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(body.decode("utf-8", "replace")).items()}


def _json_body(body: bytes) -> dict[str, Any]:
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError:
        return {}
    return data if isinstance(data, dict) else {}


def _date(now: float) -> str:
    from email.utils import formatdate

    return formatdate(int(now), usegmt=True)


def _json(status: int, payload: object, now: float) -> Answer:
    headers = (("content-type", "application/json; charset=utf-8"), ("date", _date(now)))
    return status, headers, orjson.dumps(payload)


def _ok(data: object, now: float) -> Answer:
    return _json(200, {"data": data, "error": {"code": "ok", "message": "", "log_id": "sbx"}}, now)


def _api_error(status: int, code: str, message: str, now: float) -> Answer:
    return _json(
        status, {"data": {}, "error": {"code": code, "message": message, "log_id": "sbx"}}, now
    )


def _oauth_error(status: int, code: str, description: str, now: float) -> Answer:
    return _json(status, {"error": code, "error_description": description, "log_id": "sbx"}, now)


def _page(status: int, message: str) -> Answer:
    text = f"<!doctype html><html lang=en><meta charset=utf-8><title>Error</title><p>{message}</p>"
    return status, (("content-type", "text/html; charset=utf-8"),), text.encode()
