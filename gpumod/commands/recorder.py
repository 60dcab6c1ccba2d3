"""Recording what one command decided or found, under one set of metadata.

Decisions are appended with expected-version checks (they were made on a view of the state that
must still hold); facts found while acting (a process exited, a health probe answered) are
appended unconditionally, because they happened whatever else was recorded meanwhile.
"""

from __future__ import annotations

import socket
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import gpumod
from gpumod.commands.current_state import current_state
from gpumod.commands.errors import Rejected
from gpumod.events import catalogue as ev
from gpumod.events.base import Event, NewEvent, RecordedEvent
from gpumod.events.errors import WrongExpectedVersion
from gpumod.events.store import EventStore
from gpumod.projections.state import State

MAX_ATTEMPTS = 5
Decide = Callable[[State], list[Event]]
Listener = Callable[[list[RecordedEvent]], None]


@dataclass(frozen=True)
class Origin:
    """Who asked, and which user operation this command belongs to."""

    actor: str
    correlation_id: str | None = None
    causation_id: str | None = None
    host: str = field(default_factory=socket.gethostname)


class Recorder:
    def __init__(self, store: EventStore, new_id: Callable[[], str], command_name: str,
                 arguments: dict[str, Any], origin: Origin) -> None:
        self.store, self.new_id = store, new_id
        self.command_name, self.arguments = command_name, arguments
        self.listeners: list[Listener] = []  # told of each batch once it is stored (progress)
        command_id = new_id()
        self.correlation_id = origin.correlation_id or command_id
        self.metadata: dict[str, Any] = {
            "actor": origin.actor,
            "correlation_id": self.correlation_id,
            "causation_id": origin.causation_id or command_id,
            "command": {"name": command_name, "arguments": arguments},
            "host": origin.host,
            "gpumod_version": gpumod.__version__,
        }

    def decide(self, decide: Decide,
               reads: Callable[[State], set[str]] | None = None) -> list[RecordedEvent]:
        """Append what `decide` returns on the current state; re-decide if another writer won
        (on a stream it writes, or on one of the streams `reads` says the decision read)."""
        for _attempt in range(MAX_ATTEMPTS):
            state = current_state(self.store)
            try:
                events = decide(state)
            except Rejected as rejected:
                self.reject(rejected)
                raise
            if not events:
                return []
            batch = [self._new(event) for event in events]
            streams = {e.stream for e in batch} | (reads(state) if reads else set())
            expected = {stream: state.version_of(stream) for stream in streams}
            try:
                return self._told(self.store.append(batch, expected))
            except WrongExpectedVersion:
                continue
        busy = Rejected("busy", f"gave up after {MAX_ATTEMPTS} conflicting writes; try again")
        self.reject(busy)  # a refusal is recorded, whatever its cause
        raise busy

    def fact(self, *events: Event) -> list[RecordedEvent]:
        return self._told(self.store.append([self._new(event) for event in events]))

    def _told(self, recorded: list[RecordedEvent]) -> list[RecordedEvent]:
        for listener in self.listeners:
            listener(recorded)
        return recorded

    def reject(self, rejected: Rejected) -> None:
        self.fact(ev.CommandRejected(command=self.command_name, arguments=self.arguments,
                                     reason=rejected.reason, code=rejected.code))

    def _new(self, event: Event) -> NewEvent:
        return NewEvent(self.new_id(), event.stream(), event.type_name, event.schema_version,
                        event.model_dump(mode="json"), self.metadata)
