"""Which function decides each command. Deciders are pure: (command, state) -> events."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from gpumod.commands import configuration
from gpumod.commands.messages import ImportConfiguration, InitStore, RemoveMode, RemoveService
from gpumod.events.base import Event
from gpumod.projections.state import State

Decider = Callable[[Any, State], list[Event]]

HANDLERS: dict[type, Decider] = {
    InitStore: configuration.init_store,
    ImportConfiguration: configuration.import_configuration,
    RemoveService: configuration.remove_service,
    RemoveMode: configuration.remove_mode,
}
