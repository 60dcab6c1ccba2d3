"""Appending to the real SQLite log: positions, versions, atomic batches, conflicts, retries."""

from __future__ import annotations

import pytest

from gpumod.bootstrap import App
from gpumod.events import catalogue as ev
from gpumod.events.errors import DuplicateEventId, WrongExpectedVersion
from tests.integration.support import db_file, new_event, raw_rows, service


def test_positions_are_gap_free_and_versions_count_per_stream(app: App) -> None:
    store = app.store
    store.append([new_event(service("a"), "e1"), new_event(service("b"), "e2")])
    store.append([new_event(ev.ServiceRemoved(service_id="a"), "e3")])
    store.append([new_event(service("a"), "e4"),
                  new_event(ev.ServiceRemoved(service_id="b"), "e5")])

    read = [(r.position, r.stream, r.version, r.event_id) for r in store.read()]

    assert read == [
        (1, "service-a", 1, "e1"), (2, "service-b", 1, "e2"), (3, "service-a", 2, "e3"),
        (4, "service-a", 3, "e4"), (5, "service-b", 2, "e5"),
    ]
    assert store.head()[0] == 5
    assert store.stream_version("service-a") == 3
    assert store.stream_version("service-b") == 2
    assert store.stream_version("service-never") == 0


def test_append_returns_exactly_what_is_stored(app: App) -> None:
    recorded = app.store.append([new_event(service("a"), "e1"),
                                 new_event(ev.ServiceRemoved(service_id="a"), "e2")])

    assert recorded == list(app.store.read())
    assert recorded[1].hash == app.store.head()[1]


def test_several_events_of_one_stream_in_one_batch_get_consecutive_versions(app: App) -> None:
    recorded = app.store.append([
        new_event(service("a"), "e1"),
        new_event(ev.ServiceRemoved(service_id="a"), "e2"),
        new_event(service("a"), "e3"),
    ], expected={"service-a": 0})

    assert [r.version for r in recorded] == [1, 2, 3]
    assert [r.position for r in recorded] == [1, 2, 3]


def test_a_batch_whose_expected_version_is_stale_writes_nothing(app: App) -> None:
    store = app.store
    store.append([new_event(service("a"), "e1")])
    before = raw_rows(db_file(store))

    with pytest.raises(WrongExpectedVersion) as conflict:
        store.append([
            new_event(service("b"), "e2"),  # a stream whose check would pass...
            new_event(ev.ServiceRemoved(service_id="a"), "e3"),
        ], expected={"service-b": 0, "service-a": 0})  # ...but service-a is at 1

    assert raw_rows(db_file(store)) == before
    assert store.stream_version("service-b") == 0
    assert (conflict.value.stream, conflict.value.expected, conflict.value.actual) == (
        "service-a", 0, 1)
    message = str(conflict.value)
    assert "'service-a'" in message
    assert "version 1" in message
    assert "expected 0" in message
    assert "nothing was written" in message


def test_the_expected_version_that_matches_is_accepted(app: App) -> None:
    app.store.append([new_event(service("a"), "e1")], expected={"service-a": 0})
    recorded = app.store.append([new_event(ev.ServiceRemoved(service_id="a"), "e2")],
                                expected={"service-a": 1})

    assert recorded[0].version == 2


def test_a_retried_batch_returns_the_recorded_events_and_writes_nothing(app: App) -> None:
    store = app.store
    batch = [new_event(service("a"), "e1"), new_event(service("b"), "e2")]
    first = store.append(batch, expected={"service-a": 0})
    store.append([new_event(service("c"), "e3")])
    before = raw_rows(db_file(store))

    # The same ids again, even with an expected version that is now stale: a plain retry.
    again = store.append(batch, expected={"service-a": 0})

    assert again == first
    assert raw_rows(db_file(store)) == before


def test_a_retried_batch_without_expected_versions_returns_the_recorded_events(app: App) -> None:
    store = app.store
    batch = [new_event(service("a"), "e1"), new_event(service("b"), "e2")]
    first = store.append(batch)
    before = raw_rows(db_file(store))

    again = store.append(batch)  # no version to conflict with: the event ids tell

    assert again == first
    assert raw_rows(db_file(store)) == before


def test_a_partial_duplicate_is_refused_and_writes_nothing(app: App) -> None:
    store = app.store
    store.append([new_event(service("a"), "e1")])
    before = raw_rows(db_file(store))

    with pytest.raises(DuplicateEventId, match="1 of 2 event ids are already recorded"):
        store.append([new_event(service("a"), "e1"), new_event(service("b"), "e2")])

    assert raw_rows(db_file(store)) == before


def test_each_event_stores_its_metadata_and_index_columns(app: App) -> None:
    app.store.append([new_event(service("a"), "e1", actor="mcp:claude", correlation_id="op-7")])

    (row,) = raw_rows(db_file(app.store))
    columns = dict(zip(("position", "stream", "version", "event_id", "type", "schema_version",
                        "data", "metadata", "recorded_at", "hash", "correlation_id", "actor"),
                       row, strict=True))

    assert columns["type"] == "ServiceRegistered"
    assert columns["schema_version"] == 1
    assert columns["actor"] == "mcp:claude"
    assert columns["correlation_id"] == "op-7"
    assert columns["recorded_at"].endswith("+00:00")
    assert len(columns["recorded_at"].split(".")[1]) == len("000001+00:00")  # microseconds
    assert len(columns["hash"]) == 64


def test_an_empty_batch_records_nothing(app: App) -> None:
    app.store.append([new_event(service("a"), "e1")])
    before = raw_rows(db_file(app.store))

    assert app.store.append([]) == []

    assert raw_rows(db_file(app.store)) == before
