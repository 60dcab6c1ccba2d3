"""Where projection snapshots are kept, beside the log (they are a cache, never the truth)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Engine, select
from sqlalchemy.dialects.sqlite import insert

from gpumod.events.database import reading, writing
from gpumod.events.schema import snapshots


@dataclass(frozen=True)
class Snapshot:
    position: int
    projection_version: str
    state: bytes


def load_snapshot(engine: Engine, name: str) -> Snapshot | None:
    query = select(snapshots.c.position, snapshots.c.projection_version, snapshots.c.state)
    with reading(engine) as conn:
        row = conn.execute(query.where(snapshots.c.name == name)).first()
    return Snapshot(row[0], row[1], row[2]) if row else None


def save_snapshot(engine: Engine, name: str, snapshot: Snapshot) -> None:
    values = {"name": name, "position": snapshot.position,
              "projection_version": snapshot.projection_version, "state": snapshot.state,
              "saved_at": datetime.now(UTC).isoformat(timespec="microseconds")}
    statement = insert(snapshots).values(values)
    statement = statement.on_conflict_do_update(index_elements=["name"], set_=values)
    with writing(engine) as conn:
        conn.execute(statement)
