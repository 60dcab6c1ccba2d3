"""The tables of the event store. Only `gpumod.events` modules touch them."""

from __future__ import annotations

from sqlalchemy import Column, Index, Integer, LargeBinary, MetaData, Table, Text, UniqueConstraint

SCHEMA_VERSION = 1
metadata = MetaData()

events = Table(
    "events",
    metadata,
    Column("position", Integer, primary_key=True, autoincrement=False),
    Column("stream", Text, nullable=False),
    Column("version", Integer, nullable=False),
    Column("event_id", Text, nullable=False, unique=True),
    Column("type", Text, nullable=False),
    Column("schema_version", Integer, nullable=False),
    Column("data", Text, nullable=False),
    Column("metadata", Text, nullable=False),
    Column("recorded_at", Text, nullable=False),
    Column("hash", Text, nullable=False),
    # Copies of metadata fields, so history filters use an index; the hash covers metadata.
    Column("correlation_id", Text),
    Column("actor", Text),
    UniqueConstraint("stream", "version"),
)
Index("ix_events_type", events.c.type)
Index("ix_events_correlation", events.c.correlation_id)
Index("ix_events_recorded_at", events.c.recorded_at)

snapshots = Table(
    "snapshots",
    metadata,
    Column("name", Text, primary_key=True),
    Column("position", Integer, nullable=False),
    Column("projection_version", Text, nullable=False),
    Column("state", LargeBinary, nullable=False),
    Column("saved_at", Text, nullable=False),
)

store_info = Table(
    "store_info",
    metadata,
    Column("key", Text, primary_key=True),
    Column("value", Text, nullable=False),
)

# The database itself refuses to rewrite history, whoever connects.
APPEND_ONLY_TRIGGERS = (
    """CREATE TRIGGER IF NOT EXISTS events_no_update BEFORE UPDATE ON events
       BEGIN SELECT RAISE(ABORT, 'events are append-only: UPDATE refused'); END""",
    """CREATE TRIGGER IF NOT EXISTS events_no_delete BEFORE DELETE ON events
       BEGIN SELECT RAISE(ABORT, 'events are append-only: DELETE refused'); END""",
)
