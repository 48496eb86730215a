"""ASGI entry point: `uvicorn service.main:app` (settings from TIMELINE_* variables)."""

from service.api import create_app

app = create_app()
