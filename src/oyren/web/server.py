"""Running the web app: :func:`serve` starts uvicorn on the app built from the settings.

``oyren serve`` and ``oyren demo`` both call it; ``on_ready`` receives the address once the
socket listens (with port 0, the port the system chose), so a shell can print it.

With ``workers`` above 1, uvicorn's supervisor starts that many processes on one listening
socket and restarts any that dies. Each builds its own app with :func:`app_from_environment`
from the settings, which the parent hands down as ``OYREN_…`` environment variables (the
highest precedence, so each worker reads exactly the parent's settings). Nothing a page needs
is kept in one process's memory alone: validators and shared rate limits live in the database
(a process keeps the pages it rendered only under the store's version, which every write moves).
The same factory serves under another process manager::

    gunicorn -k uvicorn_worker.UvicornWorker -w 4 --keep-alive 75 \
        'oyren.web.server:app_from_environment()'
"""

from __future__ import annotations

import dataclasses
import os
import socket
from collections.abc import Callable
from typing import Any

import uvicorn
from fastapi import FastAPI
from uvicorn.supervisors import Multiprocess

from oyren.settings import ENV_PREFIX, Settings, load_settings
from oyren.web.app import WebOptions, create_app

__all__ = ["KEEP_ALIVE_S", "app_from_environment", "serve", "settings_environment"]

KEEP_ALIVE_S = 75
"""How long an idle keep-alive connection stays open. Longer than what clients and proxies keep
one idle (nginx keeps upstream connections 60 s, httpx 5 s): when the server closes first, a
request sent at that moment meets a closed connection and fails (uvicorn's default is 5 s)."""


def settings_environment(settings: Settings) -> dict[str, str]:
    """``settings`` as ``OYREN_…`` variables (empty ones left out: unset means the default)."""
    return {
        ENV_PREFIX + f.name.upper(): str(getattr(settings, f.name))
        for f in dataclasses.fields(settings)
        if str(getattr(settings, f.name))
    }


def app_from_environment() -> FastAPI:
    """The app built from the settings in the environment (a worker process's factory)."""
    return create_app(load_settings())


def _address(sock: socket.socket) -> str:
    host, port = sock.getsockname()[:2]
    shown = f"[{host}]" if ":" in host else host
    return f"http://{shown}:{port}/"


class _Server(uvicorn.Server):
    """uvicorn's server, telling the caller its address once it listens."""

    def __init__(self, config: uvicorn.Config, on_ready: Callable[[str], None] | None) -> None:
        super().__init__(config)
        self._on_ready = on_ready

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets=sockets)
        if self._on_ready is not None and self.servers:
            self._on_ready(_address(self.servers[0].sockets[0]))


def serve(
    settings: Settings,
    *,
    host: str = "127.0.0.1",
    port: int = 8000,
    options: WebOptions | None = None,
    on_ready: Callable[[str], None] | None = None,
    log_level: str = "info",
    workers: int = 1,
) -> None:
    """Serve the web app until interrupted (Ctrl-C), in ``workers`` processes."""
    if workers > 1:
        _serve_workers(settings, host=host, port=port, workers=workers,
                       on_ready=on_ready, log_level=log_level)  # fmt: skip
        return
    app = create_app(settings, options=options)
    _Server(_config(app, host=host, port=port, log_level=log_level), on_ready).run()


def _config(
    app: FastAPI | str, *, host: str, port: int, log_level: str, **more: Any
) -> uvicorn.Config:
    """uvicorn's configuration for ``app`` (the app, or the import string of its factory), as
    every way of serving it sets it. Forwarded headers are read by the app itself, and only from
    the trusted_proxies setting; uvicorn's own reading (which trusts 127.0.0.1 by default) stays
    off."""
    return uvicorn.Config(
        app,
        host=host,
        port=port,
        log_level=log_level,
        proxy_headers=False,
        server_header=False,
        timeout_keep_alive=KEEP_ALIVE_S,
        **more,
    )


def _serve_workers(
    settings: Settings,
    *,
    host: str,
    port: int,
    workers: int,
    on_ready: Callable[[str], None] | None,
    log_level: str,
) -> None:
    os.environ.update(settings_environment(settings))  # inherited by every worker
    config = _config(
        "oyren.web.server:app_from_environment",
        host=host,
        port=port,
        log_level=log_level,
        factory=True,
        workers=workers,
    )
    sock = config.bind_socket()
    sock.listen(config.backlog)  # connections wait in the backlog until a worker is up
    if on_ready is not None:
        on_ready(_address(sock))
    Multiprocess(config, sockets=[sock]).run()
