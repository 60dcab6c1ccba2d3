"""Running a configuration command: decide on the current state, record the events.

Clock and ids come in from bootstrap, so tests can pin them. Commands that act on the machine
(start, stop, sleep, wake, switch) are sagas in gpumod/commands/sagas/ using the same Recorder.
"""

from __future__ import annotations

from collections.abc import Callable

from gpumod.commands.handlers import HANDLERS, READS
from gpumod.commands.messages import Command
from gpumod.commands.recorder import Origin, Recorder
from gpumod.events.base import RecordedEvent
from gpumod.events.store import EventStore

__all__ = ["CommandBus", "Origin"]


class CommandBus:
    def __init__(self, store: EventStore, new_id: Callable[[], str]) -> None:
        self.store, self.new_id = store, new_id

    def recorder(self, command: Command, origin: Origin) -> Recorder:
        return Recorder(self.store, self.new_id, type(command).__name__, command.arguments(),
                        origin)

    def handle(self, command: Command, origin: Origin) -> list[RecordedEvent]:
        """Append what `command` decides; raise Rejected (after recording it) if refused."""
        decide, reads = HANDLERS[type(command)], READS.get(type(command))
        return self.recorder(command, origin).decide(
            lambda state: decide(command, state),
            (lambda state: reads(command, state)) if reads else None)
