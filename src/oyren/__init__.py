"""Öyrən: run hashtag short-video contests end to end."""

__version__ = "0.1.0"

__all__ = ["__version__"]
