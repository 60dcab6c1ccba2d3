"""A mode switch, recorded as a saga in its own stream `switch-<id>`."""

from __future__ import annotations

from typing import ClassVar

from gpumod.events.base import Event
from gpumod.events.registry import registered


class _Switch(Event):
    switch_id: str

    def stream(self) -> str:
        return f"switch-{self.switch_id}"


@registered
class ModeSwitchRequested(_Switch):
    type_name: ClassVar[str] = "ModeSwitchRequested"
    from_mode: str | None
    to_mode: str
    rollback: bool = False


@registered
class ModeSwitchPlanned(_Switch):
    type_name: ClassVar[str] = "ModeSwitchPlanned"
    stop: list[str] = []
    sleep: list[str] = []
    wake: list[str] = []
    start: list[str] = []
    restart: list[str] = []
    orphans: list[str] = []
    needed_mb: int
    free_mb: int


@registered
class ModeSwitchCompleted(_Switch):
    type_name: ClassVar[str] = "ModeSwitchCompleted"
    to_mode: str
    duration_ms: int


@registered
class ModeSwitchFailed(_Switch):
    """The switch stopped; `running` records what is up, `protection` which guard fired."""

    type_name: ClassVar[str] = "ModeSwitchFailed"
    to_mode: str
    reason: str
    protection: str | None = None
    running: list[str] = []


@registered
class ModeSwitchRolledBack(_Switch):
    type_name: ClassVar[str] = "ModeSwitchRolledBack"
    restored_mode: str | None


@registered
class ModeSwitchInterrupted(_Switch):
    """Found unfinished by a later gpumod (the one driving it died); how it was resolved."""

    type_name: ClassVar[str] = "ModeSwitchInterrupted"
    resolved_mode: str | None
    actions: list[str] = []
