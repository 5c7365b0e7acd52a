"""Rendering: one handler result, two forms — an HTML page or its JSON twin.

A handler gathers its data from one core function and hands it to :meth:`Pages.respond` with a
template name. The reader gets the page, or — for a path ending in ``.json`` or a request that
asks for ``application/json`` — the same data as JSON, so the two never drift apart.
:func:`jsonable` turns the core's frozen dataclasses, dates and tuples into JSON values.
"""

from __future__ import annotations

import dataclasses
import enum
import functools
from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined, pass_context
from jinja2.runtime import Context
from markupsafe import Markup
from starlette.requests import Request

from oyren.rules.campaign import Campaign, Text
from oyren.web.i18n import Catalogs, load_catalogs

__all__ = ["Pages", "jsonable", "shared_pages", "wants_json"]


def jsonable(value: Any) -> Any:
    """Convert ``value`` to plain JSON types: dataclasses become objects, times ISO 8601."""
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, Markup):
        return str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Text):
        return {"az": value.az, "en": value.en}
    if isinstance(value, Campaign):
        # The rules as data, plus the instants they imply (a reader should not have to rebuild
        # the deadline from a date and a time zone) and the digest naming this version.
        fields = {
            f.name: jsonable(getattr(value, f.name)) for f in dataclasses.fields(value) if f.repr
        }
        return {
            **fields,
            "window_start": value.window_start.isoformat(),
            "cutoff": value.cutoff.isoformat(),
            "rules_digest": value.digest,
        }
    if isinstance(value, enum.Enum):
        return value.value
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {
            f.name: jsonable(getattr(value, f.name))
            for f in dataclasses.fields(value)
            if not f.name.startswith("_") and f.repr
        }
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, frozenset | set):
        return sorted(jsonable(v) for v in value)
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    raise TypeError(f"cannot put {type(value).__name__} into JSON")


def wants_json(request: Request) -> bool:
    """Tell whether the reader asked for the JSON twin of a page."""
    if request.url.path.endswith(".json"):
        return True
    accept = request.headers.get("accept", "")
    return "application/json" in accept and "text/html" not in accept


class Pages:
    """The Jinja environment: autoescaping everywhere, gettext from the reader's language."""

    def __init__(self, catalogs: Catalogs) -> None:
        self.catalogs = catalogs
        env = Environment(
            loader=PackageLoader("oyren.web", "templates"),
            autoescape=True,  # every template, whatever its name: TikTok text is hostile
            undefined=StrictUndefined,
            extensions=["jinja2.ext.i18n"],
            trim_blocks=True,
            lstrip_blocks=True,
            auto_reload=False,  # templates ship with the package: no stat() per page
        )

        @pass_context
        def gettext(context: Context, message: str) -> str:
            return catalogs.translator(context["lang"]).gettext(message)

        @pass_context
        def ngettext(context: Context, singular: str, plural: str, n: int) -> str:
            return catalogs.translator(context["lang"]).ngettext(singular, plural, n)

        # newstyle: %-placeholders are filled by Jinja after escaping the values.
        env.install_gettext_callables(gettext, ngettext, newstyle=True)  # type: ignore[attr-defined]
        # Compile every template now, while the process starts, rather than in the first request
        # of each page: compiling the leaderboard's three templates was most of the first
        # visitor's wait after a restart.
        for name in env.list_templates(extensions=["html"]):
            env.get_template(name)
        self.env = env

    def render(self, template: str, context: Mapping[str, Any]) -> str:
        """Render ``template`` with ``context`` (which must hold ``lang``)."""
        return self.env.get_template(template).render(context)


@functools.cache
def shared_pages() -> Pages:
    """The process's templates, compiled once and shared by every app it builds (they are
    read-only: the same package files and catalogs for every app)."""
    return Pages(load_catalogs())
