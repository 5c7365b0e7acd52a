"""The web app: public results, the creator's self-check, partners, charts, the organizer's pages.

:func:`create_app` builds the ASGI app from the settings; :func:`serve` runs it with uvicorn.
No SQL and no contest rules here: data comes from the pages and the store's functions. May import
every library layer but the sandbox. See docs/web.md.
"""

from oyren.web.app import DEFAULT_RATE_LIMITS, WebOptions, create_app
from oyren.web.server import serve

__all__ = ["DEFAULT_RATE_LIMITS", "WebOptions", "create_app", "serve"]
