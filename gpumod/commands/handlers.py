"""Which function decides each command. Deciders are pure: (command, state) -> events."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from gpumod.commands import configuration
from gpumod.commands.messages import ImportConfiguration, InitStore, RemoveMode, RemoveService
from gpumod.events.base import Event
from gpumod.projections.state import State

Decider = Callable[[Any, State], list[Event]]
Reads = Callable[[Any, State], set[str]]

HANDLERS: dict[type, Decider] = {
    InitStore: configuration.init_store,
    ImportConfiguration: configuration.import_configuration,
    RemoveService: configuration.remove_service,
    RemoveMode: configuration.remove_mode,
}


def _modes(command: RemoveService, state: State) -> set[str]:
    """Removal decided that no mode uses the service: a mode changed meanwhile voids that."""
    return {f"mode-{mid}" for mid in state.modes}


def _services_used(command: ImportConfiguration, state: State) -> set[str]:
    """A mode was checked against registered services: one removed meanwhile voids that."""
    return {f"service-{sid}" for mode in command.modes for sid in mode.definition.services
            if sid in state.services}


# Streams a decision read besides those it writes: appended only if they did not change since
# (no write skew between two commands that each wrote a stream the other had read).
READS: dict[type, Reads] = {
    RemoveService: _modes,
    ImportConfiguration: _services_used,
}
