"""The base of every event type, and the record of an event once it is in the log."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict


class Event(BaseModel):
    """One fact that happened, named in the past tense.

    `type_name` is the stable string stored in the log (never a Python path), and
    `schema_version` is bumped whenever the fields change, with an upcaster for the old shape.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    type_name: ClassVar[str]
    schema_version: ClassVar[int] = 1

    def stream(self) -> str:
        """The stream this fact belongs to (its aggregate), e.g. `service-<id>`."""
        raise NotImplementedError


@dataclass(frozen=True, slots=True)
class NewEvent:
    """An event ready to append: serialised, with its identity and metadata."""

    event_id: str
    stream: str
    type: str
    schema_version: int
    data: dict[str, Any]
    metadata: dict[str, Any]


@dataclass(frozen=True, slots=True)
class RecordedEvent:
    """An event as stored: position in the global log, version in its stream, chain hash."""

    position: int
    stream: str
    version: int
    event_id: str
    type: str
    schema_version: int
    data: dict[str, Any]
    metadata: dict[str, Any]
    recorded_at: str
    hash: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "position": self.position,
            "stream": self.stream,
            "version": self.version,
            "event_id": self.event_id,
            "type": self.type,
            "schema_version": self.schema_version,
            "data": self.data,
            "metadata": self.metadata,
            "recorded_at": self.recorded_at,
            "hash": self.hash,
        }

    @property
    def correlation_id(self) -> str | None:
        value = self.metadata.get("correlation_id")
        return str(value) if value is not None else None

    @property
    def actor(self) -> str | None:
        value = self.metadata.get("actor")
        return str(value) if value is not None else None
