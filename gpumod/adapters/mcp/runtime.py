"""What every tool shares: the store, the machine (opened once), and one operation at a time.

Mutating tools run their saga through `operate` (GPU lock, recovery, Recorder), the function the
CLI uses, in a worker thread so the server keeps answering. An in-process lock queues them
before the GPU lock, so waiting calls hold no worker thread and reads are never starved.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass, field
from functools import partial
from typing import Any, TypeVar

import anyio
import anyio.from_thread
import anyio.to_thread
from mcp.server.mcpserver import Context
from mcp.server.mcpserver.exceptions import ToolError

from gpumod.adapters.mcp.errors import message_of
from gpumod.bootstrap import App
from gpumod.commands.current_state import current_state
from gpumod.commands.machine import Machine
from gpumod.commands.operate import operate
from gpumod.commands.recorder import Origin, Recorder
from gpumod.events.base import RecordedEvent
from gpumod.projections.state import State

T = TypeVar("T")
Saga = Callable[[Recorder, Machine], T]
CLIENT_NAME = re.compile(r"[^A-Za-z0-9._-]+")


def actor_of(ctx: Context) -> str:
    """`mcp:<client name>` from the initialize request, cleaned: it is the peer's text."""
    params = ctx.session.client_params
    name = params.client_info.name if params is not None else ""
    cleaned = CLIENT_NAME.sub("-", name).strip("-")[:64]
    return f"mcp:{cleaned or 'unknown'}"


@dataclass
class Outcome:
    """What one mutating tool call recorded, and what its saga returned."""

    correlation_id: str
    events: list[RecordedEvent]
    result: Any


@dataclass
class Runtime:
    app: App
    acting: anyio.Lock = field(default_factory=anyio.Lock)
    _machine: Machine | None = None
    _opening: threading.Lock = field(default_factory=threading.Lock)
    _state: State | None = None

    def state(self) -> State:
        """The current state, for reading only: kept until the log moves on, so a client
        polling an unchanged log costs one query, not a snapshot load."""
        cached = self._state
        if cached is None or cached.position != self.app.store.head()[0]:
            # A fresh object each time: threads still reading the old one are not disturbed.
            cached = self._state = current_state(self.app.store)
        return cached

    def machine(self) -> Machine:
        """Opened on first use (a server that only answers about history needs no GPU)."""
        with self._opening:
            if self._machine is None:
                self._machine = self.app.machine()
            return self._machine

    async def act(self, ctx: Context, name: str, arguments: dict[str, Any],
                  saga: Saga[T]) -> Outcome:
        """Run `saga` as the command `name`; each recorded step is sent as progress."""
        correlation_id = self.app.bus.new_id()
        origin = Origin(actor=actor_of(ctx), correlation_id=correlation_id)
        events: list[RecordedEvent] = []
        report = _progress_reporter(ctx, events)
        async with self.acting:
            machine = await anyio.to_thread.run_sync(self.machine)
            try:
                _, result = await anyio.to_thread.run_sync(partial(
                    operate, self.app.store, self.app.bus.new_id, machine, name, arguments,
                    origin, saga, listeners=[report]))
            except Exception as exc:
                if (message := message_of(exc)) is None or not events:
                    raise
                raise ToolError(f"{message} (correlation id {correlation_id}: get_switch or "
                                "postmortem show every step)") from None
        return Outcome(correlation_id, events, result)


def _progress_reporter(ctx: Context, events: list[RecordedEvent]) -> Callable[
        [list[RecordedEvent]], None]:
    def told(batch: list[RecordedEvent]) -> None:
        for step in batch:
            events.append(step)
            message = f"#{step.position} {step.type} ({step.stream})"
            # Called in the saga's worker thread; the notification goes out on the event loop.
            # A lost notification (client gone) must never abort a saga halfway through.
            with suppress(Exception):
                anyio.from_thread.run(partial(ctx.report_progress, len(events), None, message))

    return told
