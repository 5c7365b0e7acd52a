"""Settings: one typed object for everything an installation configures.

Each setting is read, in order of precedence, from the environment (``OYREN_`` and the name in
capitals, e.g. ``OYREN_DATABASE_URL``), then from a TOML file (``--config FILE``, else
``oyren.toml`` in the working folder when there is one; keys are the setting names), then its
default. Every field of :class:`Settings` carries its help text; :func:`describe_settings` lists
them, and a test checks the README's configuration table against that list.
"""

from __future__ import annotations

import getpass
import ipaddress
import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from oyren.errors import InputError

__all__ = [
    "CONFIG_FILE",
    "ENV_PREFIX",
    "SettingInfo",
    "Settings",
    "describe_settings",
    "load_settings",
    "loads_toml",
]

CONFIG_FILE = "oyren.toml"
ENV_PREFIX = "OYREN_"
MAX_TOML_DEPTH = 100
"""Arrays and inline tables nested deeper than this are refused before tomllib reads them."""

# What can hold a bracket without opening or closing one: TOML's four kinds of string, and
# comments. A multi-line string may end in one or two of its own quotes before the closing three.
# A string left open runs to the end of its line (or of the text, if multi-line): tomllib refuses
# it there, and a token that always matches once begun keeps the scan linear (a pattern that
# could fail would be tried again from every later quote: quadratic on a run of '\"').
_TOML_TOKEN = re.compile(
    r'"""(?:[^\\]|\\.)*?(?:"""(?!")|\\?\Z)'
    r"|'''.*?(?:'''(?!')|\Z)"
    r'|"(?:[^"\\\n]|\\.)*(?:"|(?=\n)|\\?\Z)'
    r"|'[^'\n]*(?:'|(?=\n)|\Z)"
    r"|#[^\n]*"
    r"|[\[\]{}]",
    re.DOTALL,
)


def _login_name() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no login name in some containers
        return "unknown"


def _setting(default: str, help: str, *, shown: str | None = None) -> Any:
    return field(default=default, metadata={"help": help, "shown": shown or default})


@dataclass(frozen=True, slots=True)
class Settings:
    """The effective settings of an installation."""

    database_url: str = _setting(
        "sqlite:///oyren.db",
        "Where the contest data lives, as an SQLAlchemy URL: SQLite (a file in the working folder "
        "by default) or PostgreSQL (`postgresql://user@host/db`, driven by psycopg 3). On SQLite "
        "a writer waits up to 30 s for another; `?timeout=SECONDS` in the URL changes that.",
    )
    user: str = _setting(
        "",
        "Who is acting, as written in the audit log; a command's `--by` overrides it.",
        shown="your login name",
    )

    tiktok_api_base: str = _setting(
        "https://open.tiktokapis.com",
        "Base URL of TikTok's APIs: the Research API for `oyren crawl` and `oyren track`, and "
        "the token endpoint and Display API for creators who sign in; point it at "
        "`oyren sandbox-api` to rehearse.",
    )
    tiktok_auth_url: str = _setting(
        "https://www.tiktok.com/v2/auth/authorize/",
        "TikTok's Login Kit authorize page, where a creator signs in and consents; "
        "`oyren sandbox-api` serves a stand-in at `/v2/auth/authorize/`.",
    )
    tiktok_oembed_url: str = _setting(
        "https://www.tiktok.com/oembed",
        "TikTok's oEmbed endpoint, which checks a pasted link is a public video and gives its "
        "author and caption; `oyren sandbox-api` serves a stand-in at `/oembed`.",
    )
    public_url: str = _setting(
        "http://127.0.0.1:8000",
        "This site's own address as creators' browsers reach it; the Login Kit redirect URI is "
        "this plus `/creators/callback` and must be registered with TikTok exactly so.",
    )

    signing_key: str = _setting(
        "",
        "File holding the organizer's Ed25519 private key (`oyren keys generate` makes one); "
        "`oyren award` signs the award's audit bundle with it. Keep it on the organizer's "
        "machine only, readable by its owner; it is never stored in the database.",
        shown="none: awards are not signed",
    )

    trusted_proxies: str = _setting(
        "",
        "Addresses or networks of the reverse proxies in front of `oyren serve`, separated by "
        "commas (e.g. `127.0.0.1, 10.0.0.0/8`). Only from these are `X-Forwarded-For` and "
        "`X-Forwarded-Proto` believed: the visitor's address (for rate limits) and HTTPS (for "
        "`Secure` cookies and HSTS). From anyone else those headers are ignored.",
        shown="none",
    )

    def __post_init__(self) -> None:
        if not self.user:
            object.__setattr__(self, "user", _login_name())
        for item in self.proxies:
            try:
                ipaddress.ip_network(item, strict=False)
            except ValueError:
                raise InputError(
                    f"'{item}' is not an IP address or network",
                    path="settings",
                    field="trusted_proxies",
                ) from None

    @property
    def proxies(self) -> list[str]:
        """The trusted proxies' addresses and networks, as a list."""
        return [item.strip() for item in self.trusted_proxies.split(",") if item.strip()]


@dataclass(frozen=True, slots=True)
class SettingInfo:
    """A setting as documented: its name, environment variable, default and help."""

    name: str
    env: str
    default: str
    help: str


def describe_settings() -> list[SettingInfo]:
    """List every setting with its environment variable, default and help text."""
    return [
        SettingInfo(f.name, ENV_PREFIX + f.name.upper(), f.metadata["shown"], f.metadata["help"])
        for f in fields(Settings)
    ]


def load_settings(
    *,
    config: str | Path | None = None,
    environ: Mapping[str, str] | None = None,
    cwd: Path | None = None,
) -> Settings:
    """Read settings from the environment, then ``config`` (or ``oyren.toml``), then defaults."""
    env = os.environ if environ is None else environ
    values: dict[str, Any] = {}
    path = Path(config) if config is not None else (cwd or Path.cwd()) / CONFIG_FILE
    if config is not None or path.is_file():
        values.update(_read_file(path))
    for info in describe_settings():
        if info.env in env:
            value = env[info.env].strip()
            if not value:
                raise InputError(f"{info.env} is set but empty: unset it or give a value")
            values[info.name] = value
    return Settings(**values)


def loads_toml(text: str) -> dict[str, Any]:
    """``tomllib.loads``, refusing arrays or inline tables nested over ``MAX_TOML_DEPTH`` deep.

    tomllib reads nesting by recursion, so thousands of levels (``x = [[[[…]]]]``) would exhaust
    Python's stack, after a number of levels that depends on how deep its caller already is; and
    garbage collected that close to the limit makes finalizers fail noisily. The depth is measured
    first, skipping strings and comments, and too much of it is a ``TOMLDecodeError`` like any
    other malformed TOML.
    """
    depth = deepest = 0
    for match in _TOML_TOKEN.finditer(text):
        token = match[0]
        if token in ("[", "{"):
            depth += 1
            deepest = max(deepest, depth)
        elif token in ("]", "}"):
            depth -= 1
    if deepest > MAX_TOML_DEPTH:
        raise tomllib.TOMLDecodeError("arrays or tables nested too deeply")
    try:
        return tomllib.loads(text)
    except RecursionError:  # a caller already near the limit of its stack
        raise tomllib.TOMLDecodeError("arrays or tables nested too deeply") from None


def _read_file(path: Path) -> dict[str, str]:
    name = str(path)
    try:
        data = loads_toml(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError("configuration file not found", path=name) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read the configuration file ({exc})", path=name) from None
    except tomllib.TOMLDecodeError as exc:
        raise InputError(f"not valid TOML: {exc}", path=name) from None
    known = {f.name for f in fields(Settings)}
    for key, value in data.items():
        if key not in known:
            raise InputError(
                f"unknown setting (known: {', '.join(sorted(known))})", path=name, field=key
            )
        if not isinstance(value, str) or not value.strip():
            raise InputError("must be a non-empty string", path=name, field=key)
    return {key: value.strip() for key, value in data.items()}
