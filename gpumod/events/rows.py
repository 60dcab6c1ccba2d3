"""An event as a row of the `events` table, and back: the exact text stored and hashed."""

from __future__ import annotations

import sqlite3
from operator import itemgetter
from typing import Any

from gpumod.events import codec
from gpumod.events.base import NewEvent, RecordedEvent

# The table's columns (gpumod/events/schema.py; tests/unit/test_rows.py keeps them equal).
NAMES = ("position", "stream", "version", "event_id", "type", "schema_version", "data",
         "metadata", "recorded_at", "hash", "correlation_id", "actor")
SELECTED = ", ".join(NAMES[:10])  # what a RecordedEvent is made of
INSERT = f"INSERT INTO events ({', '.join(NAMES)}) VALUES ({', '.join('?' * len(NAMES))})"
as_tuple = itemgetter(*NAMES)  # a row dict as the INSERT's parameters, in C


def new_row(
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


def from_row(_cursor: sqlite3.Cursor | None, row: tuple[Any, ...]) -> RecordedEvent:
    """A cursor's row factory for `SELECT {SELECTED}`.

    The metadata stays JSON text until asked for: folds, most of a replay, rarely need it.
    """
    return RecordedEvent.stored(row[0], row[1], row[2], row[3], row[4], row[5],
                                codec.loads(row[6]), row[7], row[8], row[9])


def appended(row: dict[str, Any], event: NewEvent) -> RecordedEvent:
    # The data and metadata just written are the event's own: no need to parse them back.
    return RecordedEvent(
        row["position"], row["stream"], row["version"], row["event_id"], row["type"],
        row["schema_version"], event.data, event.metadata, row["recorded_at"], row["hash"],
    )
