"""The database itself guards the log: triggers refuse rewrites, durability PRAGMAs are set."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from gpumod.bootstrap import App
from gpumod.events.store import EventStore
from tests.conftest import StepClock
from tests.integration.support import db_file, new_event, raw_rows, service


@pytest.fixture
def filled(app: App) -> App:
    app.store.append([new_event(service("a"), "e1"), new_event(service("b"), "e2")])
    return app


def test_update_through_a_raw_connection_is_aborted(filled: App) -> None:
    path = db_file(filled.store)
    before = raw_rows(path)

    with sqlite3.connect(path) as conn, pytest.raises(
            sqlite3.IntegrityError, match="events are append-only: UPDATE refused"):
        conn.execute("UPDATE events SET data = '{}' WHERE position = 1")

    assert raw_rows(path) == before


def test_delete_through_a_raw_connection_is_aborted(filled: App) -> None:
    path = db_file(filled.store)
    before = raw_rows(path)

    with sqlite3.connect(path) as conn, pytest.raises(
            sqlite3.IntegrityError, match="events are append-only: DELETE refused"):
        conn.execute("DELETE FROM events WHERE position = 2")

    assert raw_rows(path) == before


def test_gpumod_connections_use_wal_and_synchronous_full(filled: App) -> None:
    with filled.store.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 2  # FULL
        assert (conn.exec_driver_sql("PRAGMA busy_timeout").scalar() or 0) > 0


def test_wal_mode_is_recorded_in_the_file_itself(filled: App) -> None:
    with sqlite3.connect(db_file(filled.store)) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_reopening_an_existing_file_keeps_its_events_and_triggers(filled: App) -> None:
    path = db_file(filled.store)
    reopened = EventStore.open(path, StepClock())

    assert [r.event_id for r in reopened.read()] == ["e1", "e2"]
    with sqlite3.connect(path) as conn:
        triggers = {name for (name,) in conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'trigger'")}
    assert triggers == {"events_no_update", "events_no_delete"}


def test_a_path_with_url_characters_is_one_file_for_reads_and_writes(tmp_path: Path) -> None:
    path = tmp_path / "odd?name#1" / "gpumod.db"  # '?' and '#' mean something in a URL
    store = EventStore.open(path, StepClock())

    store.append([new_event(service("a"), "e1")])

    assert [e.event_id for e in store.read()] == ["e1"]
    with sqlite3.connect(path) as conn:
        assert conn.execute("SELECT event_id FROM events").fetchall() == [("e1",)]
    assert sorted(p.name for p in path.parent.iterdir() if p.suffix == ".db") == ["gpumod.db"]
    store.close()
