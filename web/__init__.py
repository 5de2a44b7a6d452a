"""The Flask web UI. Talks to ``eva_engine.services`` only."""

from web.app import create_app

__all__ = ["create_app"]
