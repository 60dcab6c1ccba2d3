"""Configuration as events: services (presets), modes and settings."""

from __future__ import annotations

from typing import Any, ClassVar

from gpumod.events.base import Event
from gpumod.events.registry import registered


class _ServiceEvent(Event):
    service_id: str

    def stream(self) -> str:
        return f"service-{self.service_id}"


class _ModeEvent(Event):
    mode_id: str

    def stream(self) -> str:
        return f"mode-{self.mode_id}"


@registered
class ServiceRegistered(_ServiceEvent):
    """A service was added from a preset; carries the whole definition as written."""

    type_name: ClassVar[str] = "ServiceRegistered"
    definition: dict[str, Any]
    source: str | None = None


@registered
class ServiceDefinitionChanged(_ServiceEvent):
    """A re-imported preset differed: the fields set or changed, and the fields removed."""

    type_name: ClassVar[str] = "ServiceDefinitionChanged"
    changed: dict[str, Any]
    removed: list[str] = []
    previous: dict[str, Any] = {}  # old values of the changed and removed fields
    source: str | None = None


@registered
class ServiceRemoved(_ServiceEvent):
    type_name: ClassVar[str] = "ServiceRemoved"


@registered
class ModeDefined(_ModeEvent):
    type_name: ClassVar[str] = "ModeDefined"
    definition: dict[str, Any]
    source: str | None = None


@registered
class ModeDefinitionChanged(_ModeEvent):
    type_name: ClassVar[str] = "ModeDefinitionChanged"
    changed: dict[str, Any]
    removed: list[str] = []
    previous: dict[str, Any] = {}
    source: str | None = None


@registered
class ModeRemoved(_ModeEvent):
    type_name: ClassVar[str] = "ModeRemoved"


@registered
class SettingChanged(Event):
    type_name: ClassVar[str] = "SettingChanged"
    key: str
    value: Any

    def stream(self) -> str:
        return "settings"
