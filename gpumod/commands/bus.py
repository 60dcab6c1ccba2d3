"""Running a command: read state, decide, append; a refusal is recorded too.

The only place events are created from commands. Clock and ids come in from bootstrap, so tests
can pin them.
"""

from __future__ import annotations

import socket
from collections.abc import Callable
from dataclasses import dataclass, field

import gpumod
from gpumod.commands.current_state import current_state
from gpumod.commands.errors import Rejected
from gpumod.commands.handlers import HANDLERS
from gpumod.commands.messages import Command
from gpumod.events import catalogue as ev
from gpumod.events.base import Event, NewEvent, RecordedEvent
from gpumod.events.errors import WrongExpectedVersion
from gpumod.events.store import EventStore

MAX_ATTEMPTS = 5


@dataclass(frozen=True)
class Origin:
    """Who asked, and which user operation this command belongs to."""

    actor: str
    correlation_id: str | None = None
    causation_id: str | None = None
    host: str = field(default_factory=socket.gethostname)


class CommandBus:
    def __init__(self, store: EventStore, new_id: Callable[[], str]) -> None:
        self.store, self.new_id = store, new_id

    def handle(self, command: Command, origin: Origin) -> list[RecordedEvent]:
        """Append what `command` decides; raise Rejected (after recording it) if refused."""
        command_id = self.new_id()
        metadata = self._metadata(command, origin, command_id)
        decide = HANDLERS[type(command)]
        for _attempt in range(MAX_ATTEMPTS):
            state = current_state(self.store)
            try:
                events = decide(command, state)
            except Rejected as rejected:
                self._record_rejection(command, rejected, metadata)
                raise
            if not events:
                return []
            batch = [self._new(event, metadata) for event in events]
            expected = {e.stream: state.version_of(e.stream) for e in batch}
            try:
                return self.store.append(batch, expected)
            except WrongExpectedVersion:
                continue  # another process wrote first: decide again on the fresh state
        raise Rejected("busy", f"gave up after {MAX_ATTEMPTS} conflicting writes; try again")

    def _new(self, event: Event, metadata: dict[str, object]) -> NewEvent:
        return NewEvent(self.new_id(), event.stream(), event.type_name, event.schema_version,
                        event.model_dump(mode="json"), metadata)

    def _record_rejection(
        self, command: Command, rejected: Rejected, metadata: dict[str, object]
    ) -> None:
        event = ev.CommandRejected(command=_name(command), arguments=command.arguments(),
                                   reason=rejected.reason, code=rejected.code)
        self.store.append([self._new(event, metadata)])

    def _metadata(self, command: Command, origin: Origin, command_id: str) -> dict[str, object]:
        return {
            "actor": origin.actor,
            "correlation_id": origin.correlation_id or command_id,
            "causation_id": origin.causation_id or command_id,
            "command": {"name": _name(command), "arguments": command.arguments()},
            "host": origin.host,
            "gpumod_version": gpumod.__version__,
        }


def _name(command: Command) -> str:
    return type(command).__name__
