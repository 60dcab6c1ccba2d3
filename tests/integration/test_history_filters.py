"""`EventFilter` on the real log: what `gpumod history` and the MCP history tools select."""

from __future__ import annotations

from collections.abc import Iterable

import pytest

from gpumod.bootstrap import App
from gpumod.events import catalogue as ev
from gpumod.events.base import RecordedEvent
from gpumod.events.query import EventFilter
from gpumod.events.store import EventStore
from tests.integration.support import new_event, service


def mode(mid: str, *services: str) -> ev.ModeDefined:
    return ev.ModeDefined(mode_id=mid, definition={"id": mid, "name": mid,
                                                   "services": list(services)})


@pytest.fixture
def store(app: App) -> EventStore:
    """A small log: two services, two modes, a switch, each by a known actor and operation."""
    s = app.store
    s.append([new_event(service("qwen"), "e1", actor="cli:alice", correlation_id="op-1"),
              new_event(service("bge"), "e2", actor="cli:alice", correlation_id="op-1")])
    s.append([new_event(mode("code", "qwen", "bge"), "e3", actor="cli:bob",
                        correlation_id="op-2")])
    s.append([new_event(mode("rag", "bge"), "e4", actor="mcp:claude", correlation_id="op-3")])
    s.append([
        new_event(ev.ModeSwitchRequested(switch_id="sw1", from_mode="code", to_mode="rag"),
                  "e5", actor="mcp:claude", correlation_id="op-4"),
        new_event(ev.ServiceStarting(service_id="bge", backend="process", vram_needed_mb=1),
                  "e6", actor="mcp:claude", correlation_id="op-4"),
        new_event(ev.ModeSwitchCompleted(switch_id="sw1", to_mode="rag", duration_ms=5),
                  "e7", actor="mcp:claude", correlation_id="op-4"),
    ])
    s.append([new_event(ev.VramObserved(used_mb=1, free_mb=2, total_mb=3), "e8",
                        actor="monitor", correlation_id="op-5")])
    s.append([new_event(ev.ServiceRemoved(service_id="qwen"), "e9", actor="cli",
                        correlation_id="op-6")])
    return s


def ids(events: Iterable[RecordedEvent]) -> list[str]:
    return [e.event_id for e in events]


def test_no_filter_reads_everything_oldest_first(store: EventStore) -> None:
    assert ids(store.read()) == [f"e{i}" for i in range(1, 10)]


def test_service_matches_its_stream_and_events_naming_it(store: EventStore) -> None:
    assert ids(store.read(EventFilter(service="qwen"))) == ["e1", "e9"]
    assert ids(store.read(EventFilter(service="bge"))) == ["e2", "e6"]


def test_mode_matches_its_stream_and_switches_to_or_from_it(store: EventStore) -> None:
    assert ids(store.read(EventFilter(mode="rag"))) == ["e4", "e5", "e7"]
    assert ids(store.read(EventFilter(mode="code"))) == ["e3", "e5"]


def test_types_select_any_of_the_given_types(store: EventStore) -> None:
    assert ids(store.read(EventFilter(types=("ServiceRegistered",)))) == ["e1", "e2"]
    assert ids(store.read(EventFilter(types=("ModeDefined", "ServiceRemoved")))) == [
        "e3", "e4", "e9"]


def test_actor_is_exact_or_a_prefix_up_to_a_colon(store: EventStore) -> None:
    assert ids(store.read(EventFilter(actor="cli"))) == ["e1", "e2", "e3", "e9"]
    assert ids(store.read(EventFilter(actor="cli:alice"))) == ["e1", "e2"]
    assert ids(store.read(EventFilter(actor="mcp"))) == ["e4", "e5", "e6", "e7"]
    assert ids(store.read(EventFilter(actor="monitor"))) == ["e8"]
    assert ids(store.read(EventFilter(actor="cl"))) == []  # not a bare string prefix
    assert ids(store.read(EventFilter(actor="cli:al"))) == []


def test_since_and_until_are_inclusive_bounds_on_recorded_at(store: EventStore) -> None:
    events = list(store.read())
    third_batch = events[3].recorded_at  # e4 was appended alone
    switch = events[4].recorded_at  # e5..e7 share one recorded_at (one transaction)
    assert events[5].recorded_at == events[6].recorded_at == switch

    assert ids(store.read(EventFilter(since=third_batch))) == [f"e{i}" for i in range(4, 10)]
    assert ids(store.read(EventFilter(until=third_batch))) == ["e1", "e2", "e3", "e4"]
    assert ids(store.read(EventFilter(since=switch, until=switch))) == ["e5", "e6", "e7"]
    assert ids(store.read(EventFilter(since="2099-01-01T00:00:00.000000+00:00"))) == []


def test_correlation_selects_one_user_operation(store: EventStore) -> None:
    assert ids(store.read(EventFilter(correlation_id="op-4"))) == ["e5", "e6", "e7"]
    assert ids(store.read(EventFilter(correlation_id="nope"))) == []


def test_limit_newest_first_gives_the_newest_n(store: EventStore) -> None:
    assert ids(store.read(EventFilter(limit=3, newest_first=True))) == ["e9", "e8", "e7"]
    assert ids(store.read(EventFilter(limit=2))) == ["e1", "e2"]


def test_filters_combine(store: EventStore) -> None:
    flt = EventFilter(actor="mcp", types=("ModeSwitchRequested", "ModeSwitchCompleted",
                                          "ModeDefined"), mode="rag", limit=2, newest_first=True)
    assert ids(store.read(flt)) == ["e7", "e5"]
    assert ids(store.read(EventFilter(service="bge", actor="cli"))) == ["e2"]


def test_positions_bound_the_read(store: EventStore) -> None:
    assert ids(store.read(EventFilter(after_position=6))) == ["e7", "e8", "e9"]
    assert ids(store.read(EventFilter(until_position=2))) == ["e1", "e2"]
    assert ids(store.read(EventFilter(after_position=2, until_position=4))) == ["e3", "e4"]
