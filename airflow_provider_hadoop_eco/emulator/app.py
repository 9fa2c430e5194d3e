"""The aiohttp app of the Hadoop Eco API emulator: which handler serves which path (both dialects)."""

from __future__ import annotations

from aiohttp import web

from airflow_provider_hadoop_eco.emulator import admin
from airflow_provider_hadoop_eco.emulator.contract import PATHS
from airflow_provider_hadoop_eco.emulator.handlers import STATE_KEY, api_handler, not_found
from airflow_provider_hadoop_eco.emulator.state import EmulatorState

__all__ = ["STATE_KEY", "create_app"]


def create_app(state: EmulatorState | None = None) -> web.Application:
    """Build the emulator's ``aiohttp.web.Application`` around ``state`` (a new default state if omitted)."""
    app = web.Application(client_max_size=1024 * 1024)
    app[STATE_KEY] = state if state is not None else EmulatorState()
    r = app.router
    r.add_get("/_emulator/health", admin.health)
    r.add_get("/_emulator/requests", admin.list_requests)
    r.add_delete("/_emulator/requests", admin.clear_requests)
    r.add_post("/_emulator/clusters", admin.add_clusters)
    r.add_get("/_emulator/faults", admin.list_faults)
    r.add_post("/_emulator/faults", admin.add_faults)
    r.add_delete("/_emulator/faults", admin.clear_faults)
    r.add_post("/_emulator/advance", admin.advance)
    r.add_post("/_emulator/reset", admin.reset)
    r.add_get("/_emulator/state", admin.get_state)
    # Every dialect is routed even when switched off, so that its requests get a recorded, explanatory 404.
    for paths in PATHS.values():
        r.add_post(paths.create, api_handler)
        r.add_get(paths.status, api_handler)
    r.add_route("*", "/{tail:.*}", not_found)  # JSON 404s (and recorded), not aiohttp's text page
    return app
