"""The current state, or the state at any position: the nearest saved state plus the events since.

Reading the current state costs the events since the snapshot, not the whole log; the snapshot is
refreshed whenever more than SNAPSHOT_EVERY events had to be folded on top of it. The past costs
at most CHECKPOINT_EVERY events: a fold that passes a multiple of it leaves a checkpoint there.
"""

from __future__ import annotations

import sqlite3
import sys
from contextlib import suppress

from gpumod.events.fold_rows import fold_rows
from gpumod.events.snapshot_store import (
    Snapshot,
    latest_snapshot,
    load_snapshot,
    save_snapshot,
)
from gpumod.events.store import EventStore
from gpumod.projections import fold
from gpumod.projections.snapshots import dump_state, load_state, projection_version
from gpumod.projections.state import State

SNAPSHOT_NAME = "state"
SNAPSHOT_EVERY = 500
CHECKPOINT_EVERY = 50_000  # ~0.5 s of folding here; 20 checkpoints on a 1,000,000-event log
CHECKPOINT_PREFIX = "checkpoint-"


def current_state(store: EventStore) -> State:
    # Without a snapshot of this gpumod's fold (a first run, an upgrade), a checkpoint left by
    # `replay --until` or an earlier fold still saves folding from the first event.
    snapshot = usable_snapshot(store) or latest_snapshot(
        store, CHECKPOINT_PREFIX, sys.maxsize, projection_version())
    state = load_state(snapshot.state) if snapshot else State()
    start = state.position
    state = _fold_forward(store, state, None)
    if state.position - start > SNAPSHOT_EVERY:
        _try_save(store, SNAPSHOT_NAME, state)
    return state


def usable_snapshot(store: EventStore) -> Snapshot | None:
    snapshot = load_snapshot(store, SNAPSHOT_NAME)
    if snapshot is None or snapshot.projection_version != projection_version():
        return None
    return snapshot


def state_at(store: EventStore, position: int) -> State:
    """The state exactly as it was once the event at `position` was recorded."""
    checkpoint = latest_snapshot(store, CHECKPOINT_PREFIX, position, projection_version())
    state = load_state(checkpoint.state) if checkpoint else State()
    return _fold_forward(store, state, position)


def refold(store: EventStore, position: int | None) -> State:
    """`state_at` from the first event (to the end when None), trusting no saved state."""
    return fold.fold_rows(fold_rows(store, 0, position))


def _fold_forward(store: EventStore, state: State, until: int | None) -> State:
    """Fold up to `until` (the head when None), one stretch between checkpoints at a time."""
    head = store.head()[0]
    last = head if until is None else min(until, head)
    after = state.position
    while after < last:
        stop = min((after // CHECKPOINT_EVERY + 1) * CHECKPOINT_EVERY, last)
        fold.fold_rows(fold_rows(store, after, stop), state)
        if stop % CHECKPOINT_EVERY == 0 and state.position == stop:
            _try_save(store, f"{CHECKPOINT_PREFIX}{stop:012d}", state)
        after = stop
    return state


def _try_save(store: EventStore, name: str, state: State) -> None:
    snapshot = Snapshot(state.position, projection_version(), dump_state(state))
    # A snapshot is only a cache: if the database is busy, the next reader tries again.
    with suppress(sqlite3.OperationalError):
        save_snapshot(store, name, snapshot)
