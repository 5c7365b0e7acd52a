"""Serving the sandbox API with uvicorn on a loopback port: in a background thread, or in front.

:func:`serve` is for tests and ``oyren demo`` (a free port, stopped on leaving the block);
:func:`serve_forever` is what ``oyren sandbox-api`` runs, on a sandbox built by
:func:`sandbox_for` with a clock that runs faster than real time.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

from oyren.clock import ScaledClock
from oyren.rules.campaign import Campaign
from oyren.sandbox.api import SandboxAPI, SandboxConfig
from oyren.sandbox.simulate import simulate

__all__ = ["sandbox_for", "serve", "serve_forever"]


@contextmanager
def serve(api: SandboxAPI, *, port: int = 0) -> Iterator[str]:
    """Serve ``api`` with uvicorn on 127.0.0.1 (a free port unless given); yield its base URL."""
    import uvicorn

    # IPPROTO_TCP spelled out: asyncio sets TCP_NODELAY only on sockets that say so, and without
    # it every answer waits 40 ms for the client's delayed ACK.
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", port))
    config = uvicorn.Config(
        api.asgi(),
        log_level="warning",
        lifespan="off",
        date_header=False,  # the sandbox stamps its own clock's Date
        server_header=False,
        access_log=False,
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        while not server.started:
            if not thread.is_alive():
                raise RuntimeError("the sandbox server did not start")
            time.sleep(0.01)
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


def serve_forever(api: SandboxAPI, *, port: int = 8000) -> None:
    """Serve ``api`` on 127.0.0.1:``port`` until interrupted (what ``oyren sandbox-api`` runs)."""
    import uvicorn

    uvicorn.run(
        api.asgi(),
        host="127.0.0.1",
        port=port,
        log_level="info",
        lifespan="off",
        date_header=False,
        server_header=False,
    )


def sandbox_for(
    campaign: Campaign,
    *,
    videos: int = 3000,
    seed: int = 1,
    speed: float = 1.0,
    start: int | None = None,
    config: SandboxConfig | None = None,
) -> SandboxAPI:
    """Simulate ``campaign`` and serve it on a clock ``speed`` times real time from ``start``.

    ``start`` defaults to the window's first instant; at ``speed`` 1440 a day of the campaign
    passes every minute, the two months in an hour.
    """
    sim = simulate(campaign, videos=videos, seed=seed)
    clock = ScaledClock(campaign.window_start_ts if start is None else start, speed)
    return SandboxAPI(sim.videos, clock, config or SandboxConfig(seed=seed))
