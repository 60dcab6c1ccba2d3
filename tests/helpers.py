"""Building state from events in tests, without a database."""

from __future__ import annotations

from typing import Any

from gpumod.commands.messages import ModeFile, ServiceFile
from gpumod.definitions import ModeDefinition, ServiceDefinition
from gpumod.events.base import Event, RecordedEvent
from gpumod.projections.fold import fold
from gpumod.projections.state import State


def recorded(*events: Event, correlation_id: str = "corr-1") -> list[RecordedEvent]:
    """Events as if appended in this order, one millisecond apart."""
    return recorded_in(*((event, correlation_id) for event in events))


def recorded_in(*entries: tuple[Event, str | None]) -> list[RecordedEvent]:
    """Like `recorded`, each event with its own correlation id (None: no correlation)."""
    versions: dict[str, int] = {}
    out = []
    for position, (event, correlation_id) in enumerate(entries, 1):
        stream = event.stream()
        versions[stream] = versions.get(stream, 0) + 1
        meta: dict[str, Any] = {"actor": "cli:tester"}
        if correlation_id is not None:
            meta["correlation_id"] = correlation_id
        out.append(RecordedEvent(
            position, stream, versions[stream], f"ev-{position}", event.type_name,
            event.schema_version, event.model_dump(mode="json"), meta,
            f"2026-01-01T00:00:00.{position:06d}+00:00", f"hash-{position}",
        ))
    return out


def given(*events: Event) -> State:
    return fold(recorded(*events))


def service_file(raw: dict[str, Any], source: str | None = None) -> ServiceFile:
    """A preset as if read from a YAML file holding exactly `raw`."""
    return ServiceFile(source=source, definition=ServiceDefinition.model_validate(raw))


def mode_file(raw: dict[str, Any], source: str | None = None) -> ModeFile:
    return ModeFile(source=source, definition=ModeDefinition.model_validate(raw))
