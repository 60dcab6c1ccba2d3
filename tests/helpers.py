"""Building state from events in tests, without a database."""

from __future__ import annotations

from gpumod.events.base import Event, RecordedEvent
from gpumod.projections.fold import fold
from gpumod.projections.state import State


def recorded(*events: Event, correlation_id: str = "corr-1") -> list[RecordedEvent]:
    """Events as if appended in this order, one millisecond apart."""
    versions: dict[str, int] = {}
    out = []
    for position, event in enumerate(events, 1):
        stream = event.stream()
        versions[stream] = versions.get(stream, 0) + 1
        out.append(RecordedEvent(
            position, stream, versions[stream], f"ev-{position}", event.type_name,
            event.schema_version, event.model_dump(mode="json"),
            {"actor": "cli:tester", "correlation_id": correlation_id},
            f"2026-01-01T00:00:00.{position:06d}+00:00", f"hash-{position}",
        ))
    return out


def given(*events: Event) -> State:
    return fold(recorded(*events))
