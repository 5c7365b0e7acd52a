"""docs/web.md documents every route of the web app."""

from __future__ import annotations

from pathlib import Path

from fastapi.routing import APIRoute

from oyren.web import jury, organizer, public

DOC = Path(__file__).resolve().parents[2] / "docs" / "web.md"
NAMES = {
    "{campaign_id}": "ID",
    "{video_id}": "VID",
    "{lang}": "az",
    "{fmt}": "csv",
    "{round_id}": "R",
}


def test_every_route_is_in_the_docs() -> None:
    text = DOC.read_text(encoding="utf-8")
    missing = []
    routes = [*public.router.routes, *organizer.router.routes, *jury.router.routes]
    assert len(routes) > 20
    for route in routes:
        if not isinstance(route, APIRoute) or route.path.endswith(".json"):
            continue  # a page's JSON twin is documented with the page
        path = route.path
        for name, shown in NAMES.items():
            path = path.replace(name, shown)
        methods = route.methods - {"HEAD"}
        documented = f"`{path}`" in text or f"`{path}?" in text or f"POST {path}`" in text
        if not documented or ("POST" in methods and f"POST {path}" not in text):
            missing.append(f"{'/'.join(sorted(methods))} {path}")
    assert missing == []
