"""The emulator's clock: scaled real time, or manual time that only moves when told to."""

from __future__ import annotations

import time


class Clock:
    """Emulated time in seconds since the emulator started.

    * scaled (default): ``real elapsed seconds * time_scale`` plus any explicit :meth:`advance`;
    * manual (``manual=True``): time stands still until :meth:`advance` is called.
    """

    def __init__(self, time_scale: float = 1.0, manual: bool = False) -> None:
        if not manual and not time_scale > 0:
            raise ValueError(f"time_scale must be > 0, got {time_scale!r}")
        self.time_scale = float(time_scale)
        self.manual = bool(manual)
        self._t0 = time.monotonic()
        self._offset = 0.0

    def now(self) -> float:
        """Current emulated time in seconds."""
        if self.manual:
            return self._offset
        return (time.monotonic() - self._t0) * self.time_scale + self._offset

    def advance(self, seconds: float) -> float:
        """Move emulated time forward by ``seconds``; return the new time."""
        seconds = float(seconds)
        if seconds < 0:
            raise ValueError(f"cannot move the clock backwards ({seconds})")
        self._offset += seconds
        return self.now()

    def reset(self) -> None:
        """Back to time 0."""
        self._t0 = time.monotonic()
        self._offset = 0.0
