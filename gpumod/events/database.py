"""Opening the SQLite file: durability settings and transactions that take the write lock early.

See docs/adr/0002-durability.md: WAL with synchronous=FULL, so an append reported as done
survives a power loss, and BEGIN IMMEDIATE for writes, so positions are assigned under the lock.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import URL, Connection, Engine, create_engine, event
from sqlalchemy.pool import QueuePool

from gpumod.events.connections import schema_present
from gpumod.events.schema import APPEND_ONLY_TRIGGERS, SCHEMA_VERSION, metadata, store_info

BUSY_TIMEOUT_MS = 30_000


def open_engine(path: Path) -> Engine:
    """An engine on `path`, creating the file, its folder and the schema when missing."""
    path.parent.mkdir(parents=True, exist_ok=True)
    # Keep connections open: closing the last one checkpoints and deletes the WAL, which made
    # every append pay for reopening it (measured: batched appends 0.25x raw -> 0.49x).
    # URL.create, not an f-string: a '?' or '#' in the path would be read as URL syntax.
    url = URL.create("sqlite", database=str(path))
    engine = create_engine(url, poolclass=QueuePool, pool_size=2)
    event.listen(engine, "connect", _on_connect)
    event.listen(engine, "begin", _on_begin)
    _create_schema(engine, path)
    return engine


def _on_connect(dbapi_connection: Any, _record: Any) -> None:
    # Let us issue BEGIN ourselves (the sqlite3 module's implicit BEGIN is DEFERRED).
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=FULL")
    cursor.close()


def _on_begin(conn: Connection) -> None:
    mode = conn.get_execution_options().get("begin", "DEFERRED")
    conn.exec_driver_sql(f"BEGIN {mode}")


@contextmanager
def writing(engine: Engine) -> Iterator[Connection]:
    """A transaction holding SQLite's write lock from its first statement."""
    with engine.connect() as conn:
        conn = conn.execution_options(begin="IMMEDIATE")
        with conn.begin():
            yield conn


def _create_schema(engine: Engine, path: Path) -> None:
    if schema_present(path):
        return
    with writing(engine) as conn:
        metadata.create_all(conn)
        for trigger in APPEND_ONLY_TRIGGERS:
            conn.exec_driver_sql(trigger)
        found = conn.execute(store_info.select().where(store_info.c.key == "schema_version"))
        if found.first() is None:
            version = str(SCHEMA_VERSION)
            conn.execute(store_info.insert().values(key="schema_version", value=version))
