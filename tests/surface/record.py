"""The product's outer surface: the `oyren` command tree and the web app's routes.

Run as a script to write what this version offers to ``interfaces.json`` beside it (after a
deliberate change of the interface); the test compares the live surface with that file.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click

RECORD = Path(__file__).resolve().parent / "interfaces.json"


def command_tree(command: click.Command) -> dict[str, Any]:
    """Every command's parameters (options by their flags, arguments by name) and subcommands."""
    params = []
    for param in command.params:
        if isinstance(param, click.Option):
            params.append(" ".join(sorted([*param.opts, *param.secondary_opts])))
        else:
            params.append(f"<{param.name}>")
    node: dict[str, Any] = {"params": sorted(params)}
    if isinstance(command, click.Group):
        node["commands"] = {
            name: command_tree(sub) for name, sub in sorted(command.commands.items())
        }
    return node


def http_routes() -> list[str]:
    """Every route of the web app as ``METHOD /path``, marked where OpenAPI leaves it out."""
    import tempfile

    from oyren.settings import Settings
    from oyren.store.db import open_database
    from oyren.web import create_app

    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite:///{Path(folder) / 'surface.db'}"
        app = create_app(Settings(database_url=url), engine=open_database(url, create=True))
        documented = {
            f"{method.upper()} {path}"
            for path, ops in app.openapi()["paths"].items()
            for method in ops
        }
        served = {
            f"{method} {route.path}"
            for route in _routes(app.routes)
            for method in getattr(route, "methods", None) or ()
            if method != "HEAD"
        }
    return sorted(f"{r} (not in OpenAPI)" if r not in documented else r for r in served)


def _routes(routes: Any) -> list[Any]:
    # Routers included in the app are walked into (FastAPI may keep them as included routers).
    out = []
    for route in routes:
        inner = getattr(route, "original_router", None)
        out.extend(_routes(inner.routes) if inner is not None else [route])
    return out


def surface() -> dict[str, Any]:
    """The whole surface, as recorded."""
    from oyren.cli import cli

    return {"cli": command_tree(cli), "http": http_routes()}


if __name__ == "__main__":
    out = Path(sys.argv[1]) if len(sys.argv) > 1 else RECORD
    out.write_text(json.dumps(surface(), indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
