"""TikTok links: reading what a visitor pastes, and building links we show.

Everything here treats its input as hostile. :func:`parse_lookup` turns a pasted link, ``@name``
or bare username into a :class:`Lookup`, accepting only TikTok's own hosts; :func:`video_url` and
:func:`profile_url` build links only from a username and id that look like TikTok's, so a page
never carries a link to anywhere else (and never a ``javascript:`` one).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urlsplit

__all__ = [
    "TIKTOK_HOSTS",
    "Lookup",
    "parse_lookup",
    "profile_url",
    "video_url",
]

# Hosts TikTok serves videos and profiles from; a short link (vm./vt.) redirects to a video we
# cannot resolve without the network, so it is kept as it is for the next crawl to follow.
TIKTOK_HOSTS = frozenset(
    {"tiktok.com", "www.tiktok.com", "m.tiktok.com", "vm.tiktok.com", "vt.tiktok.com"}
)
SHORT_LINK_HOSTS = frozenset({"vm.tiktok.com", "vt.tiktok.com"})
MAX_INPUT = 500  # a pasted link is short; anything longer is not one

_USERNAME_RE = re.compile(r"[A-Za-z0-9_.]{1,64}")
_VIDEO_ID_RE = re.compile(r"[0-9]{5,25}")
_BARE_VIDEO_ID_RE = re.compile(r"[0-9]{15,25}")
_SHORT_CODE_RE = re.compile(r"[A-Za-z0-9]{4,20}")
_VIDEO_PATH_RE = re.compile(r"/@([A-Za-z0-9_.]{1,64})/(?:video|photo)/([0-9]{5,25})/?")
_MOBILE_PATH_RE = re.compile(r"/v/([0-9]{5,25})(?:\.html)?/?")
_PROFILE_PATH_RE = re.compile(r"/@([A-Za-z0-9_.]{1,64})/?")


@dataclass(frozen=True, slots=True)
class Lookup:
    """What a visitor asked about.

    ``kind`` is ``"video"`` (``video_id`` set, ``username`` when the link named one),
    ``"username"``, ``"short_link"`` (``url`` set: a vm.tiktok.com link to resolve later) or
    ``"invalid"`` (``problem`` says why, as a code: ``empty``, ``too_long``, ``not_tiktok``,
    ``not_understood``).
    """

    kind: str
    video_id: str | None = None
    username: str | None = None
    url: str | None = None
    problem: str | None = None

    @property
    def canonical_url(self) -> str | None:
        """The link in TikTok's canonical form, when there is one."""
        if self.kind == "short_link":
            return self.url
        if self.kind == "video" and self.video_id is not None:
            return video_url(self.username or "", self.video_id)
        return None


def parse_lookup(text: str) -> Lookup:
    """Read a pasted TikTok link, ``@username`` or username."""
    value = text.strip()
    if not value:
        return Lookup("invalid", problem="empty")
    if len(value) > MAX_INPUT:
        return Lookup("invalid", problem="too_long")
    # A bare number as long as TikTok's ids is a video id; anything else bare is a username.
    if _BARE_VIDEO_ID_RE.fullmatch(value):
        return Lookup("video", video_id=value)
    bare = value.removeprefix("@")
    if _USERNAME_RE.fullmatch(bare):
        return Lookup("username", username=bare)
    url = value if "://" in value else "https://" + value
    try:
        parts = urlsplit(url)
        host = (parts.hostname or "").lower().rstrip(".")
    except ValueError:
        return Lookup("invalid", problem="not_understood")
    if parts.scheme.lower() not in ("http", "https") or host not in TIKTOK_HOSTS:
        return Lookup("invalid", problem="not_tiktok")
    if parts.username or parts.password or parts.port not in (None, 80, 443):
        return Lookup("invalid", problem="not_tiktok")
    path = parts.path
    if host in SHORT_LINK_HOSTS:
        code = path.strip("/")
        if _SHORT_CODE_RE.fullmatch(code):
            return Lookup("short_link", url=f"https://{host}/{code}/")
        return Lookup("invalid", problem="not_understood")
    if match := _VIDEO_PATH_RE.fullmatch(path):
        return Lookup("video", username=match.group(1), video_id=match.group(2))
    if match := _MOBILE_PATH_RE.fullmatch(path):
        return Lookup("video", video_id=match.group(1))
    if match := _PROFILE_PATH_RE.fullmatch(path):
        return Lookup("username", username=match.group(1))
    return Lookup("invalid", problem="not_understood")


def video_url(username: str, video_id: str) -> str | None:
    """Return the TikTok link of a video, or None when the id does not look like TikTok's."""
    if not _VIDEO_ID_RE.fullmatch(video_id):
        return None
    # TikTok redirects /@/video/ID to the right profile, so a missing username still links.
    name = username if _USERNAME_RE.fullmatch(username) else ""
    return f"https://www.tiktok.com/@{name}/video/{video_id}"


def profile_url(username: str) -> str | None:
    """Return the TikTok link of a profile, or None when the name is not a TikTok username."""
    if not _USERNAME_RE.fullmatch(username):
        return None
    return f"https://www.tiktok.com/@{username}"
