from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _fast_retries(fast_retries):
    """Every test here backs off for milliseconds."""
