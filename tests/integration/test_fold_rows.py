"""The replay path: rows of the log folded straight from SQLite, their data trusted only in its
current shape (docs/adr/0012-the-fold-trusts-the-log.md)."""

from __future__ import annotations

import dataclasses
import sqlite3
from pathlib import Path

import pytest

from gpumod.bootstrap import App
from gpumod.events import catalogue as ev
from gpumod.events import codec
from gpumod.events.base import Event
from gpumod.events.chain import RawRow
from gpumod.events.errors import EventStoreError
from gpumod.events.fold_rows import fold_rows
from gpumod.events.store import EventStore
from gpumod.events.transfer import export_rows, import_rows
from gpumod.projections.fold import fold
from gpumod.projections.fold import fold_rows as fold_log
from gpumod.projections.state import State
from tests.conftest import StepClock
from tests.integration.support import db_file, new_event, raw_rows, service


def append(app: App, *events: Event) -> None:
    for i, event in enumerate(events):
        app.store.append([new_event(event, f"{event.type_name}-{app.store.head()[0]}-{i}")])


def append_raw(app: App, type_name: str, data_json: str, schema_version: int = 1) -> None:
    """A row as an older (or newer) gpumod would have written it: no model in between."""
    position, _ = app.store.head()
    stream = "service-a"
    version = app.store.stream_version(stream) + 1
    with sqlite3.connect(db_file(app.store)) as conn:
        conn.execute(
            "INSERT INTO events (position, stream, version, event_id, type, schema_version, data,"
            " metadata, recorded_at, hash, correlation_id, actor) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
            (position + 1, stream, version, f"raw-{position}", type_name, schema_version,
             data_json, '{"actor":"cli:old"}', "2026-01-01T00:00:09.000000+00:00", "0" * 64,
             None, "cli:old"))


def replayed(app: App) -> State:
    return fold_log(fold_rows(app.store))


@pytest.fixture
def stopping(app: App) -> App:
    """Service `a` registered, started, healthy and asked to stop."""
    append(app, service("a"),
           ev.ServiceStarting(service_id="a", backend="direct", vram_needed_mb=1000),
           ev.ServiceBecameHealthy(service_id="a", elapsed_ms=5),
           ev.ServiceStopping(service_id="a", reason="requested"))
    return app


def test_rows_fold_to_the_state_of_the_checked_fold(stopping: App) -> None:
    append(stopping, ev.ServiceStopped(service_id="a", exit_code=0, pids=[41, 42]))

    state = replayed(stopping)

    assert state.services["a"].state == "STOPPED"
    assert state.services["a"].exited_pids == [41, 42]
    assert dataclasses.asdict(state) == dataclasses.asdict(fold(stopping.store.read()))


def test_a_row_of_an_older_shape_is_read_through_its_model(stopping: App) -> None:
    # ServiceStopped before it carried `pids`: not the current fields, so not trusted as is.
    append_raw(stopping, "ServiceStopped", '{"exit_code":0,"service_id":"a"}')

    state = replayed(stopping)

    assert state.services["a"].state == "STOPPED"
    assert state.services["a"].exited_pids == []  # the model's default
    assert state.anomalies == []


@pytest.mark.parametrize(("version", "data", "why"), [
    (9, '{"exit_code":0,"pids":[],"service_id":"a"}', "schema version 9"),
    (1, '{"exit_code":0,"service_id":', "its data is not JSON"),
    (1, '{"exit_code":"zero","pids":[],"service_id":"a","extra":1}', "invalid field"),
])
def test_a_row_gpumod_cannot_read_is_flagged_and_the_fold_goes_on(
        stopping: App, version: int, data: str, why: str) -> None:
    append_raw(stopping, "ServiceStopped", data, schema_version=version)
    append(stopping, ev.VramObserved(total_mb=24_000, used_mb=100, free_mb=23_900))

    state = replayed(stopping)

    (anomaly,) = state.anomalies
    assert (anomaly.position, anomaly.type) == (5, "ServiceStopped")
    assert why in anomaly.message
    assert state.services["a"].state == "STOPPING"
    assert (state.position, state.vram.observed_used_mb) == (6, 100)


def test_rows_can_be_read_from_a_position_up_to_another(stopping: App) -> None:
    rows = list(fold_rows(stopping.store, 1, 3))

    assert [row.position for row in rows] == [2, 3]
    assert [row.type for row in rows] == ["ServiceStarting", "ServiceBecameHealthy"]
    assert codec.loads(rows[0].data)["vram_needed_mb"] == 1000
    assert rows[0].correlation_id == "corr-1"


# --- Imports: the one way data in the current shape could arrive without a model -------------


def forged(rows: list[RawRow], position: int, data: str) -> list[RawRow]:
    """`rows` with one event's data replaced and the chain recomputed from there on."""
    out, previous = [], rows[position - 2][9] if position > 1 else codec.GENESIS_HASH
    for row in rows:
        if row[0] >= position:
            stored = data if row[0] == position else row[6]
            previous = codec.chain_hash(previous, *row[:6], stored, *row[7:9])
            row = (*row[:6], stored, row[7], row[8], previous)
        out.append(row)
    return out


def test_an_import_with_current_fields_of_the_wrong_type_is_refused(
        stopping: App, tmp_path: Path) -> None:
    rows = list(export_rows(stopping.store))
    bad = forged(rows, 2, '{"backend":"direct","pid":null,"reason":null,"service_id":"a",'
                          '"vram_needed_mb":"1000"}')
    target = EventStore.open(tmp_path / "copy.db", StepClock())

    with pytest.raises(EventStoreError) as refused:
        import_rows(target, bad)

    message = str(refused.value)
    assert "position 2" in message and "ServiceStarting" in message
    assert "vram_needed_mb" in message
    assert raw_rows(tmp_path / "copy.db") == []


def test_an_import_of_older_nested_shapes_is_accepted(app: App, tmp_path: Path) -> None:
    # VramObserved's processes before they carried `name`: the fold never reads into them.
    append(app, ev.VramObserved(total_mb=24_000, used_mb=500, free_mb=23_500))
    old = '{"free_mb":23500,"gpu_index":0,"processes":[{"pid":7,"used_mb":500}],' \
          '"total_mb":24000,"used_mb":500}'
    rows = forged(list(export_rows(app.store)), 1, old)
    target = EventStore.open(tmp_path / "copy.db", StepClock())

    assert import_rows(target, rows).count == 1
    assert fold_log(fold_rows(target)).vram.observed_free_mb == 23_500
