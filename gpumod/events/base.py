"""The base of every event type, and the record of an event once it is in the log."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict

from gpumod.events import codec


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


class _StoredMetadata:
    """Keeps an event's metadata as its stored JSON text until it is first asked for."""

    __slots__ = ("_metadata_json",)
    _metadata_json: str

    def __getattr__(self, name: str) -> Any:
        # Only called for an attribute that is unset: `metadata` of an event read from the log.
        if name != "metadata":
            raise AttributeError(name)
        metadata = codec.loads(self._metadata_json)
        object.__setattr__(self, "metadata", metadata)
        return metadata

    def _defer(self, metadata_json: str) -> None:
        """Drop the metadata __init__ set: __getattr__ parses this text instead, when asked."""
        delattr(self, "metadata")
        self._metadata_json = metadata_json


@dataclass(slots=True)
class RecordedEvent(_StoredMetadata):
    """An event as stored: position in the global log, version in its stream, chain hash.

    Treat it as read-only. It is not a frozen dataclass, and its metadata is parsed lazily
    (`stored`): a replay builds one per event, and a frozen dataclass's __init__ took four times
    as long, while parsing the metadata, which folds rarely need, took as long as the data.
    """

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

    @classmethod
    def stored(cls, position: int, stream: str, version: int, event_id: str, type: str,
               schema_version: int, data: dict[str, Any], metadata_json: str,
               recorded_at: str, hash: str) -> RecordedEvent:
        """An event as read from the log, its metadata still JSON text."""
        event = cls(position, stream, version, event_id, type, schema_version, data, _PENDING,
                    recorded_at, hash)
        event._defer(metadata_json)
        return event

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


_PENDING: dict[str, Any] = {}
