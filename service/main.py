"""ASGI entry point: `uvicorn service.main:app` (settings from TIMELINE_* variables)."""

import gc

from service.api import create_app

app = create_app()

# Everything imported so far (modules, models, validators, routes) lives as long
# as the process: keep the cycle collector from walking it again on every full
# collection, which ingest, allocating a lot, triggers often.
gc.freeze()
