"""Running the web app: :func:`serve` starts uvicorn on the app built from the settings.

``oyren serve`` and ``oyren demo`` both call it; ``on_ready`` receives the address once the
socket listens (with port 0, the port the system chose), so a shell can print it.
"""

from __future__ import annotations

import socket
from collections.abc import Callable

import uvicorn

from oyren.settings import Settings
from oyren.web.app import WebOptions, create_app

__all__ = ["serve"]


class _Server(uvicorn.Server):
    """uvicorn's server, telling the caller its address once it listens."""

    def __init__(self, config: uvicorn.Config, on_ready: Callable[[str], None] | None) -> None:
        super().__init__(config)
        self._on_ready = on_ready

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets=sockets)
        if self._on_ready is not None and self.servers:
            host, port = self.servers[0].sockets[0].getsockname()[:2]
            shown = f"[{host}]" if ":" in host else host
            self._on_ready(f"http://{shown}:{port}/")


def serve(
    settings: Settings,
    *,
    host: str = "127.0.0.1",
    port: int = 8000,
    options: WebOptions | None = None,
    on_ready: Callable[[str], None] | None = None,
    log_level: str = "info",
) -> None:
    """Serve the web app until interrupted (Ctrl-C)."""
    app = create_app(settings, options=options)
    # Forwarded headers are read by the app itself, and only from the trusted_proxies setting;
    # uvicorn's own reading (which trusts 127.0.0.1 by default) stays off.
    config = uvicorn.Config(
        app, host=host, port=port, log_level=log_level, proxy_headers=False, server_header=False
    )
    _Server(config, on_ready).run()
