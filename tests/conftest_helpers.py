"""Helpers for tests that run triggers in a fresh event loop."""

from __future__ import annotations

import asyncio
from typing import Any


def run_trigger(trigger: Any) -> dict[str, Any]:
    """Run a trigger to its single event and return the payload; closes the shared HTTP session."""
    from airflow_provider_hadoop_eco.hooks.async_http import close_shared_session

    async def go() -> list[dict[str, Any]]:
        try:
            return [event.payload async for event in trigger.run()]
        finally:
            await close_shared_session()

    events = asyncio.run(go())
    assert len(events) == 1, events
    return events[0]
