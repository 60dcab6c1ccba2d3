"""The append-only event log in SQLite: atomic, ordered, idempotent, hash-chained appends."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from operator import itemgetter
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, Select, func, select
from sqlalchemy.exc import IntegrityError

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

# Inserts go straight to the driver's executemany: SQLAlchemy's per-row parameter processing
# cost more than SQLite's insert of a 100-event batch.
_NAMES = tuple(column.name for column in table.columns)
_INSERT = f"INSERT INTO events ({', '.join(_NAMES)}) VALUES ({', '.join('?' * len(_NAMES))})"
_SELECTED = ", ".join(column.name for column in COLUMNS)
_as_tuple = itemgetter(*_NAMES)  # a row dict as the INSERT's parameters, in C


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
        if not batch:
            return []  # nothing to record (an empty executemany would be an error)
        try:
            with writing(self.engine) as conn:
                # One statement for every stream involved: a query per stream was most of the
                # cost of appending a batch (see benchmarks/bench_log.py).
                versions = _stream_versions(conn, {*(expected or {}), *(e.stream for e in batch)})
                _check_versions(expected or {}, versions)
                rows = self._rows(conn, batch, versions)
                conn.exec_driver_sql(_INSERT, [_as_tuple(row) for row in rows])
        except (WrongExpectedVersion, IntegrityError) as exc:
            # A retried batch (after a lost reply) meets its own versions or event ids: looked
            # up only then, so a new batch pays no query for it. Only event_id can collide,
            # as positions and versions are assigned under the write lock.
            recorded = self._already_recorded(batch)
            if recorded is None:
                raise exc from None
            return recorded
        return [_record(row, event) for row, event in zip(rows, batch, strict=True)]

    def head(self) -> tuple[int, str]:
        with reading(self.engine) as conn:
            return _head(conn)

    def stream_version(self, stream: str) -> int:
        with reading(self.engine) as conn:
            return _stream_version(conn, stream)

    def read(self, flt: EventFilter | None = None) -> Iterator[RecordedEvent]:
        """Events in position order (newest first when the filter says so)."""
        query = filtered(select(*COLUMNS), flt or EventFilter())
        with reading(self.engine) as conn, _driver_rows(conn, query, _from_row) as events:
            yield from events

    def _already_recorded(self, batch: Sequence[NewEvent]) -> list[RecordedEvent] | None:
        ids = tuple(event.event_id for event in batch)
        # Plain SQL, as for inserts: building the IN expression for a 100-event batch with
        # SQLAlchemy cost more than SQLite took to answer it.
        statement = (f"SELECT {_SELECTED} FROM events WHERE event_id IN "
                     f"({', '.join('?' * len(ids))}) ORDER BY position")
        with reading(self.engine) as conn:
            found = [_from_row(None, row) for row in conn.exec_driver_sql(statement, ids)]
        if not found:
            return None
        if len(found) != len(batch):
            raise DuplicateEventId(
                f"{len(found)} of {len(batch)} event ids are already recorded; refusing a "
                "partial duplicate"
            )
        return found

    def _rows(
        self, conn: Connection, batch: Iterable[NewEvent], versions: Mapping[str, int]
    ) -> list[dict[str, Any]]:
        """The rows to insert; `versions` holds each stream's current version."""
        position, previous = _head(conn)
        versions = dict(versions)
        recorded_at = self.clock().astimezone(UTC).isoformat(timespec="microseconds")
        rows = []
        for event in batch:
            position += 1
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


def _check_versions(expected: Mapping[str, int], versions: Mapping[str, int]) -> None:
    for stream, version in expected.items():
        if versions[stream] != version:
            raise WrongExpectedVersion(stream, version, versions[stream])


def _head(conn: Connection) -> tuple[int, str]:
    query = select(table.c.position, table.c.hash).order_by(table.c.position.desc()).limit(1)
    row = conn.execute(query).first()
    return (row[0], row[1]) if row else (0, codec.GENESIS_HASH)


def _stream_version(conn: Connection, stream: str) -> int:
    query = select(func.max(table.c.version)).where(table.c.stream == stream)
    return int(conn.execute(query).scalar() or 0)


# One scalar subquery per stream: each is a single lookup at the end of the (stream, version)
# index, where a GROUP BY would scan every version of each stream. Plain SQL, because building
# the same statement with SQLAlchemy expressions cost more than running it.
_MAX_VERSION = "(SELECT MAX(version) FROM events WHERE stream = ?)"
_STREAMS_PER_STATEMENT = 500  # well under SQLite's limit of 2000 result columns


def _stream_versions(conn: Connection, streams: Iterable[str]) -> dict[str, int]:
    """Each stream's current version (0 for a new one), in one statement per 500 streams."""
    ordered = sorted(streams)
    versions: dict[str, int] = {}
    for start in range(0, len(ordered), _STREAMS_PER_STATEMENT):
        chunk = ordered[start:start + _STREAMS_PER_STATEMENT]
        statement = f"SELECT {', '.join([_MAX_VERSION] * len(chunk))}"
        found = conn.exec_driver_sql(statement, tuple(chunk)).one()
        versions.update(zip(chunk, (int(version or 0) for version in found), strict=True))
    return versions


@contextmanager
def _driver_rows(
    conn: Connection, query: Select[Any], make: Callable[[sqlite3.Cursor, Any], Any]
) -> Iterator[sqlite3.Cursor]:
    """A sqlite3 cursor over `query` in `conn`'s transaction, turning each row with `make`.

    A replay reads every event: a SQLAlchemy Row per event cost as much as SQLite's read of
    it, and these columns (INTEGER, TEXT) need no result processing. `make` is the cursor's
    row factory, so the driver calls it directly (no generator between).
    """
    compiled = query.compile(dialect=conn.dialect, compile_kwargs={"render_postcompile": True})
    params = [compiled.params[name] for name in compiled.positiontup or ()]
    cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
    cursor.row_factory = make
    try:
        cursor.execute(str(compiled), params)
        yield cursor
    finally:
        cursor.close()


def _from_row(_cursor: sqlite3.Cursor | None, row: tuple[Any, ...]) -> RecordedEvent:
    # The metadata stays JSON text until asked for: folds, most of a replay, rarely need it.
    return RecordedEvent.stored(row[0], row[1], row[2], row[3], row[4], row[5],
                                codec.loads(row[6]), row[7], row[8], row[9])


def _record(row: dict[str, Any], event: NewEvent) -> RecordedEvent:
    # The data and metadata just written are the event's own: no need to parse them back.
    return RecordedEvent(
        row["position"], row["stream"], row["version"], row["event_id"], row["type"],
        row["schema_version"], event.data, event.metadata, row["recorded_at"], row["hash"],
    )
