"""Building raw events and reading the events table directly, for the integration tests."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

from gpumod.events import catalogue as ev
from gpumod.events.base import Event, NewEvent
from gpumod.events.store import EventStore


def new_event(
    event: Event, event_id: str, *, actor: str = "cli:tester", correlation_id: str = "corr-1"
) -> NewEvent:
    return NewEvent(event_id, event.stream(), event.type_name, event.schema_version,
                    event.model_dump(mode="json"),
                    {"actor": actor, "correlation_id": correlation_id})


def service(sid: str, vram_mb: int = 1000) -> ev.ServiceRegistered:
    return ev.ServiceRegistered(service_id=sid, definition={
        "id": sid, "name": sid.title(), "driver": "vllm", "vram_mb": vram_mb})


def register_services(store: EventStore, count: int, prefix: str = "svc") -> None:
    """`count` ServiceRegistered events, appended in batches of 100."""
    batch = []
    for i in range(count):
        batch.append(new_event(service(f"{prefix}-{i:04d}", 1000 + i), f"{prefix}-reg-{i}"))
        if len(batch) == 100:
            store.append(batch)
            batch = []
    if batch:
        store.append(batch)


def db_file(store: EventStore) -> Path:
    return store.path


def raw_rows(path: Path) -> list[tuple[Any, ...]]:
    """Every column of every stored event, straight from SQLite, in position order."""
    with sqlite3.connect(path) as conn:
        return conn.execute("SELECT * FROM events ORDER BY position").fetchall()


def raw_execute(path: Path, *statements: str) -> None:
    """Run SQL as someone with the sqlite3 shell would: no gpumod code involved."""
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        for statement in statements:
            conn.execute(statement)
    finally:
        conn.close()


def contend(path: str, stream: str, worker: int, rounds: int, barrier: Any, results: Any) -> None:
    """A writer process: each round, read `stream`'s version, wait for all, append on it.

    Each append is a batch of two: one event in the worker's own stream and one in the shared
    stream (expected at the version read), so a loser that wrote half a batch would show.
    """
    from gpumod.bootstrap import utc_now
    from gpumod.events.errors import WrongExpectedVersion

    store = EventStore.open(Path(path), utc_now)
    for round_ in range(rounds):
        barrier.wait()  # every writer finished the round before
        version = store.stream_version(stream)
        barrier.wait()  # every writer has read the same version
        meta = {"actor": f"test:w{worker}", "correlation_id": f"r{round_}-w{worker}"}
        batch = [
            NewEvent(f"own-w{worker}-r{round_}", f"writer-{worker}", "SettingChanged", 1,
                     {"key": "round", "value": round_}, meta),
            NewEvent(f"shared-w{worker}-r{round_}", stream, "SettingChanged", 1,
                     {"key": "winner", "value": worker}, meta),
        ]
        try:
            store.append(batch, {stream: version})
            results.put((round_, worker, "won", version, None))
        except WrongExpectedVersion as conflict:
            results.put((round_, worker, "conflict", version, conflict.actual))
