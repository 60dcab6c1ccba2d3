"""The append-only event log in SQLite: atomic, ordered, idempotent, hash-chained appends."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, func, select

from gpumod.events import codec
from gpumod.events.base import NewEvent, RecordedEvent
from gpumod.events.database import open_engine, reading, writing
from gpumod.events.errors import DuplicateEventId, WrongExpectedVersion
from gpumod.events.query import EventFilter, filtered
from gpumod.events.schema import events as table

Clock = Callable[[], datetime]
COLUMNS = (
    table.c.position, table.c.stream, table.c.version, table.c.event_id, table.c.type,
    table.c.schema_version, table.c.data, table.c.metadata, table.c.recorded_at, table.c.hash,
)


class EventStore:
    """Appends and reads events. `expected` maps a stream to the version the writer last saw."""

    def __init__(self, engine: Engine, clock: Clock) -> None:
        self.engine, self.clock = engine, clock

    @classmethod
    def open(cls, path: Path, clock: Clock) -> EventStore:
        return cls(open_engine(path), clock)

    def append(
        self, batch: Sequence[NewEvent], expected: Mapping[str, int] | None = None
    ) -> list[RecordedEvent]:
        """Record `batch` atomically, or nothing. A retried batch returns what was recorded."""
        with writing(self.engine) as conn:
            already = self._already_recorded(conn, batch)
            if already is not None:
                return already
            _check_versions(conn, expected or {})
            rows = self._rows(conn, batch)
            conn.execute(table.insert(), rows)
        return [_record(row) for row in rows]

    def head(self) -> tuple[int, str]:
        with reading(self.engine) as conn:
            return _head(conn)

    def stream_version(self, stream: str) -> int:
        with reading(self.engine) as conn:
            return _stream_version(conn, stream)

    def read(self, flt: EventFilter | None = None) -> Iterator[RecordedEvent]:
        """Events in position order (newest first when the filter says so)."""
        query = filtered(select(*COLUMNS), flt or EventFilter())
        with reading(self.engine) as conn:
            for row in conn.execute(query):
                yield _from_row(row)

    def _already_recorded(
        self, conn: Connection, batch: Sequence[NewEvent]
    ) -> list[RecordedEvent] | None:
        ids = [event.event_id for event in batch]
        query = select(*COLUMNS).where(table.c.event_id.in_(ids)).order_by(table.c.position)
        found = [_from_row(row) for row in conn.execute(query)]
        if not found:
            return None
        if len(found) != len(batch):
            raise DuplicateEventId(
                f"{len(found)} of {len(batch)} event ids are already recorded; refusing a "
                "partial duplicate"
            )
        return found

    def _rows(self, conn: Connection, batch: Iterable[NewEvent]) -> list[dict[str, Any]]:
        position, previous = _head(conn)
        versions: dict[str, int] = {}
        recorded_at = self.clock().astimezone(UTC).isoformat(timespec="microseconds")
        rows = []
        for event in batch:
            position += 1
            if event.stream not in versions:
                versions[event.stream] = _stream_version(conn, event.stream)
            versions[event.stream] += 1
            row = _row(event, position, versions[event.stream], recorded_at, previous)
            previous = row["hash"]
            rows.append(row)
        return rows


def _row(
    event: NewEvent, position: int, version: int, recorded_at: str, previous: str
) -> dict[str, Any]:
    data, meta = codec.dumps(event.data), codec.dumps(event.metadata)
    digest = codec.chain_hash(
        previous, position, event.stream, version, event.event_id, event.type,
        event.schema_version, data, meta, recorded_at,
    )
    return {
        "position": position, "stream": event.stream, "version": version,
        "event_id": event.event_id, "type": event.type, "schema_version": event.schema_version,
        "data": data, "metadata": meta, "recorded_at": recorded_at, "hash": digest,
        "correlation_id": event.metadata.get("correlation_id"),
        "actor": event.metadata.get("actor"),
    }


def _check_versions(conn: Connection, expected: Mapping[str, int]) -> None:
    for stream, version in expected.items():
        actual = _stream_version(conn, stream)
        if actual != version:
            raise WrongExpectedVersion(stream, version, actual)


def _head(conn: Connection) -> tuple[int, str]:
    query = select(table.c.position, table.c.hash).order_by(table.c.position.desc()).limit(1)
    row = conn.execute(query).first()
    return (row[0], row[1]) if row else (0, codec.GENESIS_HASH)


def _stream_version(conn: Connection, stream: str) -> int:
    query = select(func.max(table.c.version)).where(table.c.stream == stream)
    return int(conn.execute(query).scalar() or 0)


def _from_row(row: Any) -> RecordedEvent:
    return RecordedEvent(
        row[0], row[1], row[2], row[3], row[4], row[5],
        codec.loads(row[6]), codec.loads(row[7]), row[8], row[9],
    )


def _record(row: dict[str, Any]) -> RecordedEvent:
    return RecordedEvent(
        row["position"], row["stream"], row["version"], row["event_id"], row["type"],
        row["schema_version"], codec.loads(row["data"]), codec.loads(row["metadata"]),
        row["recorded_at"], row["hash"],
    )
