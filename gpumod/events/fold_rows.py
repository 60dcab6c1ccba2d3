"""The cheapest read of the log: each event as a fold needs it, and nothing else.

A replay reads every event, so what it costs per event decides how fast `gpumod replay` and a
first `gpumod status` after an upgrade are. The fold never needs an event's id, metadata or hash,
and builds no RecordedEvent: rows come straight from the driver as named tuples (made in C).
"""

from __future__ import annotations

from collections.abc import Iterator
from functools import partial
from typing import TYPE_CHECKING, NamedTuple

if TYPE_CHECKING:
    from gpumod.events.store import EventStore


class FoldRow(NamedTuple):
    """An event as the fold reads it; `data` is still the stored JSON text."""

    position: int
    stream: str
    version: int
    type: str
    schema_version: int
    data: str
    recorded_at: str
    correlation_id: str | None


# FoldRow._make is a Python function; this makes the same tuple without a Python call per row.
_as_fold_row = partial(tuple.__new__, FoldRow)
_SELECT = f"SELECT {', '.join(FoldRow._fields)} FROM events WHERE position > ?"


def fold_rows(store: EventStore, after: int = 0, until: int | None = None) -> Iterator[FoldRow]:
    """The events after position `after`, up to `until` (the end of the log when None)."""
    sql, params = (_SELECT, (after,)) if until is None else (
        f"{_SELECT} AND position <= ?", (after, until))
    with store.connections.transaction() as conn:
        cursor = conn.execute(f"{sql} ORDER BY position", params)
        try:
            yield from map(_as_fold_row, cursor)
        finally:
            cursor.close()
