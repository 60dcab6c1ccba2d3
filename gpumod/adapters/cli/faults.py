"""Fault injection for crash tests: GPUMOD_FAULT_KILL_AFTER=EventType[:N] makes this gpumod
SIGKILL itself right after the N-th (default first) such event is stored.

A real SIGKILL, not an exception: nothing after it runs, exactly as when a user's terminal dies.
"""

from __future__ import annotations

import os
import signal
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from gpumod.commands.recorder import Listener
    from gpumod.events.base import RecordedEvent


def fault_listeners() -> list[Listener]:
    spec = os.environ.get("GPUMOD_FAULT_KILL_AFTER")
    if not spec:
        return []
    event_type, _, nth = spec.partition(":")
    remaining = [int(nth) if nth else 1]

    def listener(events: list[RecordedEvent]) -> None:
        remaining[0] -= sum(1 for e in events if e.type == event_type)
        if remaining[0] <= 0:
            os.kill(os.getpid(), signal.SIGKILL)

    return [listener]
