"""Checkpoints: a fold passing every CHECKPOINT_EVERY-th event saves the state there, so the
state at any position costs at most that many events; equal to a fold from the first event."""

from __future__ import annotations

import sqlite3

import pytest

from gpumod.bootstrap import App
from gpumod.commands import current_state as module
from gpumod.commands.current_state import current_state, refold, state_at
from gpumod.events.snapshot_store import Snapshot, save_snapshot
from gpumod.projections.snapshots import dump_state, projection_version
from gpumod.projections.state import ServiceView
from tests.integration.support import raw_execute, register_services

EVERY = 7


@pytest.fixture(autouse=True)
def small_checkpoints(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(module, "CHECKPOINT_EVERY", EVERY)


def checkpoints(app: App) -> list[int]:
    with sqlite3.connect(app.store.path) as conn:
        rows = conn.execute("SELECT position FROM snapshots WHERE name LIKE 'checkpoint-%' "
                            "ORDER BY position").fetchall()
    return [row[0] for row in rows]


def test_reading_the_current_state_leaves_a_checkpoint_at_each_multiple(app: App) -> None:
    register_services(app.store, 30)

    current_state(app.store)

    assert checkpoints(app) == [7, 14, 21, 28]


@pytest.mark.parametrize("position", [1, 6, 7, 8, 20, 21, 29, 30])
def test_the_state_at_any_position_equals_a_fold_from_the_first_event(
    app: App, position: int,
) -> None:
    register_services(app.store, 30)
    current_state(app.store)

    assert state_at(app.store, position) == refold(app.store, position)
    assert state_at(app.store, position).position == position


def test_the_state_at_a_position_starts_from_the_checkpoint_before_it(app: App) -> None:
    register_services(app.store, 30)
    planted = refold(app.store, 21)
    planted.services["planted"] = ServiceView("planted", {})  # only a checkpoint can show it
    save_snapshot(app.store, "checkpoint-000000000021",
                  Snapshot(21, projection_version(), dump_state(planted)))

    assert "planted" in state_at(app.store, 25).services
    assert "planted" not in state_at(app.store, 20).services
    assert "planted" not in refold(app.store, 25).services  # what `replay --rebuild` trusts


def test_a_checkpoint_of_another_gpumod_version_is_ignored(app: App) -> None:
    register_services(app.store, 30)
    planted = refold(app.store, 21)
    planted.services["planted"] = ServiceView("planted", {})
    save_snapshot(app.store, "checkpoint-000000000021",
                  Snapshot(21, "another-version", dump_state(planted)))

    assert state_at(app.store, 25) == refold(app.store, 25)


def test_a_state_read_in_the_past_saves_the_checkpoints_it_passes(app: App) -> None:
    register_services(app.store, 30)

    state_at(app.store, 16)

    assert checkpoints(app) == [7, 14]


def test_without_a_snapshot_the_current_state_starts_from_the_latest_checkpoint(
    app: App,
) -> None:
    register_services(app.store, 30)
    planted = refold(app.store, 28)
    planted.services["planted"] = ServiceView("planted", {})
    save_snapshot(app.store, "checkpoint-000000000028",
                  Snapshot(28, projection_version(), dump_state(planted)))

    state = current_state(app.store)

    assert "planted" in state.services
    assert state.position == 30


def test_the_current_state_reads_to_the_end_through_several_checkpoints(app: App) -> None:
    register_services(app.store, 30)

    assert current_state(app.store) == refold(app.store, None)
    assert current_state(app.store).position == 30


def test_an_event_removed_behind_gpumods_back_does_not_stop_the_fold_there(app: App) -> None:
    # `audit verify` reports the gap; the state still covers every event that is left.
    register_services(app.store, 30)
    raw_execute(app.store.path, "DROP TRIGGER events_no_delete",
                "DELETE FROM events WHERE position = 14")

    state = current_state(app.store)

    assert state.position == 30
    assert "svc-0013" not in state.services
    assert "svc-0029" in state.services
