"""Where projection snapshots are kept, beside the log (they are a cache, never the truth)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from gpumod.events.store import EventStore


@dataclass(frozen=True)
class Snapshot:
    position: int
    projection_version: str
    state: bytes


def load_snapshot(store: EventStore, name: str) -> Snapshot | None:
    with store.connections.transaction() as conn:
        row = conn.execute("SELECT position, projection_version, state FROM snapshots "
                           "WHERE name = ?", (name,)).fetchone()
    return Snapshot(row[0], row[1], row[2]) if row else None


def save_snapshot(store: EventStore, name: str, snapshot: Snapshot) -> None:
    saved_at = datetime.now(UTC).isoformat(timespec="microseconds")
    with store.connections.transaction("IMMEDIATE") as conn:
        conn.execute(
            "INSERT INTO snapshots (name, position, projection_version, state, saved_at) "
            "VALUES (?, ?, ?, ?, ?) ON CONFLICT (name) DO UPDATE SET position = excluded.position,"
            " projection_version = excluded.projection_version, state = excluded.state, "
            "saved_at = excluded.saved_at",
            (name, snapshot.position, snapshot.projection_version, snapshot.state, saved_at))


def latest_snapshot(store: EventStore, prefix: str, at_most: int,
                    projection_version: str) -> Snapshot | None:
    """The latest snapshot named `prefix...` at a position up to `at_most`, of this version."""
    with store.connections.transaction() as conn:
        row = conn.execute(
            "SELECT position, projection_version, state FROM snapshots WHERE name >= ? AND "
            "name < ? AND position <= ? AND projection_version = ? ORDER BY position DESC "
            "LIMIT 1", (prefix, prefix + "\U0010ffff", at_most, projection_version)).fetchone()
    return Snapshot(row[0], row[1], row[2]) if row else None
