"""Snapshots: written once enough events were folded, used for reads, ignored when stale."""

from __future__ import annotations

import pytest

from gpumod.bootstrap import App
from gpumod.commands.bus import Origin
from gpumod.commands.current_state import SNAPSHOT_EVERY, SNAPSHOT_NAME, current_state, state_at
from gpumod.commands.messages import RemoveService
from gpumod.events import catalogue as ev
from gpumod.events.snapshot_store import Snapshot, load_snapshot, save_snapshot
from gpumod.projections.fold import fold
from gpumod.projections.snapshots import dump_state, load_state, projection_version
from gpumod.projections.state import ServiceView, State
from tests.integration.support import new_event, register_services, service

MANY = SNAPSHOT_EVERY + 20


def test_no_snapshot_is_written_for_a_short_log(app: App) -> None:
    register_services(app.store, SNAPSHOT_EVERY)

    current_state(app.store)

    assert load_snapshot(app.store, SNAPSHOT_NAME) is None


def test_folding_more_than_snapshot_every_events_writes_a_snapshot(app: App) -> None:
    register_services(app.store, MANY)

    state = current_state(app.store)

    snapshot = load_snapshot(app.store, SNAPSHOT_NAME)
    assert snapshot is not None
    assert snapshot.position == MANY == state.position
    assert snapshot.projection_version == projection_version()
    assert load_state(snapshot.state) == state == fold(app.store.read())


def test_state_read_after_more_events_equals_a_full_refold(app: App, origin: Origin) -> None:
    register_services(app.store, MANY)
    current_state(app.store)  # writes the snapshot at MANY
    app.bus.handle(RemoveService("svc-0003"), origin)
    app.store.append([new_event(service("late"), "late-1"),
                      new_event(ev.ServiceDefinitionChanged(
                          service_id="svc-0007", changed={"vram_mb": 1}), "late-2")])

    state = current_state(app.store)

    assert load_snapshot(app.store, SNAPSHOT_NAME).position == MANY  # type: ignore[union-attr]
    assert state == fold(app.store.read())
    assert "svc-0003" not in state.services
    assert state.services["svc-0007"].definition["vram_mb"] == 1
    assert "late" in state.services


def test_the_snapshot_is_used_for_reading_current_state(app: App) -> None:
    register_services(app.store, 3)
    head = app.store.head()[0]
    # A snapshot that does not match the log, at the head: only a state read from it has "ghost".
    planted = State(position=head, services={"ghost": ServiceView("ghost", {"id": "ghost"})})
    save_snapshot(app.store, SNAPSHOT_NAME,
                  Snapshot(head, projection_version(), dump_state(planted)))
    app.store.append([new_event(service("after"), "after-1")])

    state = current_state(app.store)

    assert set(state.services) == {"ghost", "after"}
    assert state.position == head + 1


def test_a_snapshot_from_another_projection_version_is_ignored(app: App) -> None:
    register_services(app.store, 3)
    head = app.store.head()[0]
    planted = State(position=head, services={"ghost": ServiceView("ghost", {"id": "ghost"})})
    save_snapshot(app.store, SNAPSHOT_NAME,
                  Snapshot(head, "older-code", dump_state(planted)))

    state = current_state(app.store)

    assert "ghost" not in state.services
    assert state == fold(app.store.read())


def test_a_stale_snapshot_is_replaced_once_enough_events_are_refolded(app: App) -> None:
    register_services(app.store, MANY)
    save_snapshot(app.store, SNAPSHOT_NAME,
                  Snapshot(5, "older-code", dump_state(State(position=5))))

    current_state(app.store)

    snapshot = load_snapshot(app.store, SNAPSHOT_NAME)
    assert snapshot is not None
    assert (snapshot.position, snapshot.projection_version) == (MANY, projection_version())


@pytest.mark.parametrize("position", [1, 250, MANY])
def test_state_at_a_position_folds_exactly_the_events_up_to_it(app: App, position: int) -> None:
    register_services(app.store, MANY)
    current_state(app.store)

    past = state_at(app.store, position)

    assert past.position == position
    assert len(past.services) == position
