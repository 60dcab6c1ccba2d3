"""The current state: the latest snapshot plus the events recorded since.

Reading state therefore costs the events since the snapshot, not the whole log; a snapshot is
refreshed whenever more than SNAPSHOT_EVERY events had to be folded on top of it.
"""

from __future__ import annotations

import sqlite3
from contextlib import suppress

from gpumod.events.query import EventFilter
from gpumod.events.snapshot_store import Snapshot, load_snapshot, save_snapshot
from gpumod.events.store import EventStore
from gpumod.projections.fold import fold
from gpumod.projections.snapshots import dump_state, load_state, projection_version
from gpumod.projections.state import State

SNAPSHOT_NAME = "state"
SNAPSHOT_EVERY = 500


def current_state(store: EventStore) -> State:
    snapshot = usable_snapshot(store)
    state = load_state(snapshot.state) if snapshot else State()
    start = state.position
    state = fold(store.read(EventFilter(after_position=start)), state)
    if state.position - start > SNAPSHOT_EVERY:
        _try_save(store, state)
    return state


def usable_snapshot(store: EventStore) -> Snapshot | None:
    snapshot = load_snapshot(store, SNAPSHOT_NAME)
    if snapshot is None or snapshot.projection_version != projection_version():
        return None
    return snapshot


def state_at(store: EventStore, position: int) -> State:
    """The state exactly as it was once the event at `position` was recorded."""
    return fold(store.read(EventFilter(until_position=position)))


def _try_save(store: EventStore, state: State) -> None:
    snapshot = Snapshot(state.position, projection_version(), dump_state(state))
    # A snapshot is only a cache: if the database is busy, the next reader tries again.
    with suppress(sqlite3.OperationalError):
        save_snapshot(store, SNAPSHOT_NAME, snapshot)
