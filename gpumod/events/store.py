"""The append-only event log in SQLite: atomic, ordered, idempotent, hash-chained appends.

Reads go through plain sqlite3 (`connections.py`); SQLAlchemy, for appends, is imported by the
first append, so a command that only reads never pays for it.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, cast

from gpumod.events import codec
from gpumod.events.base import NewEvent, RecordedEvent
from gpumod.events.connections import Connections, schema_present
from gpumod.events.errors import DuplicateEventId, WrongExpectedVersion
from gpumod.events.query import EventFilter, where
from gpumod.events.rows import INSERT, SELECTED, appended, as_tuple, from_row, new_row

if TYPE_CHECKING:
    from sqlalchemy import Engine

Clock = Callable[[], datetime]


class EventStore:
    """Appends and reads events. `expected` maps a stream to the version the writer last saw."""

    def __init__(self, path: Path, clock: Clock) -> None:
        self.path, self.clock = path, clock
        self.connections = Connections(path)
        self._engine: Engine | None = None

    @classmethod
    def open(cls, path: Path, clock: Clock) -> EventStore:
        """The log at `path`; the file, its folder and the schema are created when missing."""
        store = cls(path, clock)
        if not schema_present(path):
            store.engine  # noqa: B018  (opening the engine creates them)
        return store

    @property
    def engine(self) -> Engine:
        """SQLAlchemy's engine, for appends, imports and the schema."""
        if self._engine is None:
            from gpumod.events.database import open_engine

            self._engine = open_engine(self.path)
        return self._engine

    def close(self) -> None:
        self.connections.close()
        if self._engine is not None:
            self._engine.dispose()

    def read(self, flt: EventFilter | None = None) -> Iterator[RecordedEvent]:
        """Events in position order (newest first when the filter says so)."""
        sql, params = where(flt or EventFilter())
        with self.connections.transaction() as conn:
            # The row factory is called by the driver: no Python step between it and the fold.
            cursor = conn.cursor()
            cursor.row_factory = from_row
            try:
                yield from cursor.execute(f"SELECT {SELECTED} FROM events {sql}", params)
            finally:
                cursor.close()

    def head(self) -> tuple[int, str]:
        with self.connections.transaction() as conn:
            return _head(conn)

    def last_before(self, moment: str) -> int:
        """The position before the first event recorded after `moment` (ISO 8601 UTC): the
        log's prefix as it stood then, even if the clock stepped back later."""
        with self.connections.transaction() as conn:
            after = conn.execute("SELECT MIN(position) FROM events WHERE recorded_at > ?",
                                 (moment,)).fetchone()[0]
            return after - 1 if after is not None else _head(conn)[0]

    def stream_version(self, stream: str) -> int:
        with self.connections.transaction() as conn:
            return _stream_versions(conn, [stream])[stream]

    def append(
        self, batch: Sequence[NewEvent], expected: Mapping[str, int] | None = None
    ) -> list[RecordedEvent]:
        """Record `batch` atomically, or nothing. A retried batch returns what was recorded."""
        if not batch:
            return []  # nothing to record (an empty executemany would be an error)
        from gpumod.events.database import writing

        expected = expected or {}
        try:
            with writing(self.engine) as conn:
                # The driver's own connection, in the transaction SQLAlchemy began: its
                # per-statement work cost more than SQLite's insert of a 100-event batch.
                raw = cast(sqlite3.Connection, conn.connection.driver_connection)
                versions = _stream_versions(raw, {*expected, *(e.stream for e in batch)})
                _check_versions(expected, versions)
                rows = self._rows(raw, batch, versions)
                raw.executemany(INSERT, [as_tuple(row) for row in rows])
        except (WrongExpectedVersion, sqlite3.IntegrityError) as exc:
            # A retried batch (after a lost reply) meets its own versions or event ids: looked
            # up only then, so a new batch pays no query for it. Only event_id can collide,
            # as positions and versions are assigned under the write lock.
            recorded = self._already_recorded(batch)
            if recorded is not None:
                return recorded
            if isinstance(exc, sqlite3.IntegrityError):  # the batch repeats one of its ids
                raise DuplicateEventId(f"the batch cannot be recorded: {exc}") from None
            raise
        return [appended(row, event) for row, event in zip(rows, batch, strict=True)]

    def _already_recorded(self, batch: Sequence[NewEvent]) -> list[RecordedEvent] | None:
        ids = tuple(event.event_id for event in batch)
        statement = (f"SELECT {SELECTED} FROM events WHERE event_id IN "
                     f"({', '.join('?' * len(ids))}) ORDER BY position")
        with self.connections.transaction() as conn:
            found = [from_row(None, row) for row in conn.execute(statement, ids)]
        if not found:
            return None
        if len(found) != len(batch):
            raise DuplicateEventId(
                f"{len(found)} of {len(batch)} event ids are already recorded; refusing a "
                "partial duplicate"
            )
        return found

    def _rows(
        self, conn: sqlite3.Connection, batch: Iterable[NewEvent], versions: Mapping[str, int]
    ) -> list[dict[str, object]]:
        """The rows to insert; `versions` holds each stream's current version."""
        position, previous = _head(conn)
        versions = dict(versions)
        recorded_at = self.clock().astimezone(UTC).isoformat(timespec="microseconds")
        rows = []
        for event in batch:
            position += 1
            versions[event.stream] += 1
            row = new_row(event, position, versions[event.stream], recorded_at, previous)
            previous = str(row["hash"])
            rows.append(row)
        return rows


def _check_versions(expected: Mapping[str, int], versions: Mapping[str, int]) -> None:
    for stream, version in expected.items():
        if versions[stream] != version:
            raise WrongExpectedVersion(stream, version, versions[stream])


_HEAD = "SELECT position, hash FROM events ORDER BY position DESC LIMIT 1"


def _head(conn: sqlite3.Connection) -> tuple[int, str]:
    row = conn.execute(_HEAD).fetchone()
    return (row[0], row[1]) if row else (0, codec.GENESIS_HASH)


# One scalar subquery per stream: each is a single lookup at the end of the (stream, version)
# index, where a GROUP BY would scan every version of each stream.
_MAX_VERSION = "(SELECT MAX(version) FROM events WHERE stream = ?)"
_STREAMS_PER_STATEMENT = 500  # well under SQLite's limit of 2000 result columns


def _stream_versions(conn: sqlite3.Connection, streams: Iterable[str]) -> dict[str, int]:
    """Each stream's current version (0 for a new one), in one statement per 500 streams."""
    ordered = sorted(streams)
    versions: dict[str, int] = {}
    for start in range(0, len(ordered), _STREAMS_PER_STATEMENT):
        chunk = ordered[start:start + _STREAMS_PER_STATEMENT]
        statement = f"SELECT {', '.join([_MAX_VERSION] * len(chunk))}"
        found = conn.execute(statement, tuple(chunk)).fetchone()
        versions.update(zip(chunk, (int(version or 0) for version in found), strict=True))
    return versions
