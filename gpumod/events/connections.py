"""Transactions on the log through the standard library's sqlite3, for everything but appends.

Most gpumod calls only read (status, history, every MCP question). Importing SQLAlchemy for
them cost ~0.3 s per CLI call and ~16 MB in the long-lived MCP server, so reads, snapshots and
the checks of the chain use plain sqlite3; appends, the schema and imports keep SQLAlchemy
(docs/adr/0011-reads-without-sqlalchemy.md).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

BUSY_TIMEOUT_MS = 30_000  # as for writers: a reader waits out a checkpoint, it does not fail


class Connections:
    """Kept connections to one database file, each lent to one transaction at a time.

    Opening a connection costs ~0.5 ms (SQLite parses the schema), more than a small read, so
    connections are kept; a read started while another still streams gets a connection, and so
    a consistent view, of its own. Safe across threads: a connection is never lent twice.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._idle: list[sqlite3.Connection] = []

    @contextmanager
    def transaction(self, begin: str = "DEFERRED") -> Iterator[sqlite3.Connection]:
        """One transaction: committed when the block ends, rolled back if it raises."""
        conn = self._idle.pop() if self._idle else self._connect()
        conn.execute(f"BEGIN {begin}")
        try:
            yield conn
        except BaseException:
            conn.execute("ROLLBACK")
            self._idle.append(conn)
            raise
        conn.execute("COMMIT")
        self._idle.append(conn)

    def close(self) -> None:
        while self._idle:
            self._idle.pop().close()

    def _connect(self) -> sqlite3.Connection:
        # isolation_level=None: we issue BEGIN ourselves (the module's own BEGIN is implicit).
        conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        conn.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        return conn


def schema_present(path: Path) -> bool:
    """Whether `path` is a gpumod log already (checked without creating the file)."""
    if not path.exists():
        return False
    # as_uri percent-encodes: a '?' or '#' in the path would otherwise end the file name.
    conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
    try:
        found = conn.execute("SELECT 1 FROM sqlite_master WHERE type='trigger' "
                             "AND name='events_no_delete'").fetchone()
    except sqlite3.DatabaseError:
        return False  # not a database: opening the engine reports it
    finally:
        conn.close()
    return found is not None
