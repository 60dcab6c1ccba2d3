"""The command bus on a real SQLite log: metadata, recorded refusals, atomic batches, retries."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import pytest

import gpumod
from gpumod.bootstrap import App
from gpumod.commands.bus import CommandBus, Origin
from gpumod.commands.errors import Rejected
from gpumod.commands.messages import Command, ImportConfiguration, RemoveMode, RemoveService
from gpumod.events import catalogue as ev
from gpumod.events.base import NewEvent, RecordedEvent
from gpumod.events.errors import EventStoreError
from gpumod.events.query import EventFilter
from gpumod.events.registry import decode
from tests.helpers import mode_file, service_file

QWEN = {"id": "qwen", "name": "Qwen", "driver": "llamacpp", "vram_mb": 20000}
EMBED = {"id": "embed", "name": "Embed", "driver": "vllm", "vram_mb": 2500}
CODE = {"id": "code", "name": "Code", "services": ["qwen", "embed"]}

IMPORT = ImportConfiguration(
    services=(service_file(QWEN, "presets/qwen.yaml"), service_file(EMBED, "presets/embed.yaml")),
    modes=(mode_file(CODE, "modes/code.yaml"),),
    initialize=True,
)


def log(app: App) -> list[RecordedEvent]:
    return list(app.store.read())


def refused(app: App, command: Command, origin: Origin) -> Rejected:
    with pytest.raises(Rejected) as rejection:
        app.bus.handle(command, origin)
    return rejection.value


# --- metadata ---------------------------------------------------------------------------------


def test_every_event_of_a_command_carries_who_why_and_where(app: App, origin: Origin) -> None:
    events = app.bus.handle(IMPORT, origin)

    assert [e.type for e in events] == ["StoreInitialized", "ServiceRegistered",
                                        "ServiceRegistered", "ModeDefined"]
    assert all(e.metadata == events[0].metadata for e in events)  # one set for the batch
    meta = events[0].metadata
    assert meta["actor"] == "cli:tester"
    assert meta["host"] == "testhost"
    assert meta["gpumod_version"] == gpumod.__version__
    assert meta["command"] == {
        "name": "ImportConfiguration",
        "arguments": {"services": ["presets/qwen.yaml", "presets/embed.yaml"],
                      "modes": ["modes/code.yaml"]},
    }
    assert meta["correlation_id"] == meta["causation_id"]
    assert meta["correlation_id"] not in {e.event_id for e in events}
    assert set(meta) == {"actor", "correlation_id", "causation_id", "command", "host",
                         "gpumod_version"}


def test_what_is_returned_is_what_was_stored(app: App, origin: Origin) -> None:
    returned = app.bus.handle(IMPORT, origin)

    assert returned == log(app)


def test_each_command_is_its_own_correlation_unless_the_origin_names_one(
    app: App, origin: Origin
) -> None:
    first = app.bus.handle(ImportConfiguration(services=(service_file(QWEN),)), origin)
    second = app.bus.handle(ImportConfiguration(services=(service_file(EMBED),)), origin)
    joined = Origin(actor="mcp:claude", correlation_id="switch-42", causation_id="ev-7",
                    host="box")
    third = app.bus.handle(RemoveService("embed"), joined)

    assert first[0].correlation_id != second[0].correlation_id
    assert third[0].metadata["correlation_id"] == "switch-42"
    assert third[0].metadata["causation_id"] == "ev-7"
    assert third[0].metadata["actor"] == "mcp:claude"
    assert third[0].metadata["host"] == "box"
    assert third[0].metadata["command"] == {"name": "RemoveService",
                                            "arguments": {"service_id": "embed"}}


def test_events_are_found_again_by_their_actor_and_correlation(app: App, origin: Origin) -> None:
    batch = app.bus.handle(IMPORT, origin)
    app.bus.handle(RemoveMode("code"), Origin(actor="mcp:claude", host="box"))

    by_correlation = list(app.store.read(EventFilter(correlation_id=batch[0].correlation_id)))
    by_actor = list(app.store.read(EventFilter(actor="cli")))

    assert by_correlation == batch
    assert by_actor == batch


# --- refusals ---------------------------------------------------------------------------------


def test_a_refused_command_records_its_refusal_and_nothing_else(
    app: App, origin: Origin
) -> None:
    app.bus.handle(IMPORT, origin)
    before = log(app)

    rejection = refused(app, RemoveService("ghost"), origin)

    after = log(app)
    assert after[:len(before)] == before
    [new] = after[len(before):]
    assert new.type == "CommandRejected"
    assert new.stream == "rejections"
    assert decode(new.type, new.schema_version, new.data) == ev.CommandRejected(
        command="RemoveService", arguments={"service_id": "ghost"},
        reason=rejection.reason, code=rejection.code)
    assert rejection.code == "unknown_service"
    assert new.metadata["actor"] == "cli:tester"
    assert new.metadata["command"] == {"name": "RemoveService",
                                       "arguments": {"service_id": "ghost"}}


def test_a_refused_import_registers_none_of_its_valid_parts(app: App, origin: Origin) -> None:
    bad_mode = mode_file({"id": "rag", "name": "R", "services": ["qwen", "ghost"]})
    command = ImportConfiguration(services=(service_file(QWEN),), modes=(bad_mode,))

    rejection = refused(app, command, origin)

    assert [e.type for e in log(app)] == ["CommandRejected"]
    assert "ghost" in rejection.reason


def test_each_refusal_is_recorded_again_when_tried_again(app: App, origin: Origin) -> None:
    refused(app, RemoveMode("code"), origin)
    refused(app, RemoveMode("code"), origin)

    events = log(app)
    assert [e.type for e in events] == ["CommandRejected", "CommandRejected"]
    assert [e.version for e in events] == [1, 2]
    assert events[0].correlation_id != events[1].correlation_id


def test_an_unchanged_reimport_appends_nothing(app: App, origin: Origin) -> None:
    app.bus.handle(IMPORT, origin)
    before = log(app)

    assert app.bus.handle(IMPORT, origin) == []
    assert log(app) == before


# --- atomic batches ---------------------------------------------------------------------------


def test_a_batch_is_appended_in_one_transaction(app: App, origin: Origin) -> None:
    app.bus.handle(ImportConfiguration(services=(service_file(QWEN),)), origin)

    batch = app.bus.handle(IMPORT, origin)

    first = batch[0].position
    assert [e.position for e in batch] == list(range(first, first + len(batch)))
    assert len({e.recorded_at for e in batch}) == 1  # one clock reading: one transaction


def test_a_batch_that_fails_halfway_leaves_nothing_behind(app: App, origin: Origin) -> None:
    app.bus.handle(ImportConfiguration(services=(service_file(EMBED),)), origin)
    before = log(app)
    ids = iter(["command-1", "event-a", "event-b", "event-b", "event-c"])
    bus = CommandBus(app.store, lambda: next(ids))  # the third event reuses the second's id

    with pytest.raises(EventStoreError, match=r"UNIQUE constraint failed: events\.event_id"):
        bus.handle(ImportConfiguration(services=(service_file(QWEN),),
                                       modes=(mode_file(CODE),), initialize=True), origin)

    assert log(app) == before
    assert app.store.head() == (before[-1].position, before[-1].hash)


# --- another writer wins ----------------------------------------------------------------------


def interfering(app: App, times: int) -> list[int]:
    """Make another writer append to service-qwen just before each of our next `times` appends."""
    real = app.store.append
    calls: list[int] = []

    def append(batch: Sequence[NewEvent], expected: Mapping[str, int] | None = None
               ) -> list[RecordedEvent]:
        if expected and len(calls) < times:
            calls.append(len(calls))
            real([NewEvent(f"other-{len(calls)}", "service-qwen", "ServiceVramMeasured", 1,
                           {"service_id": "qwen", "vram_mb": 19000 + len(calls)},
                           {"actor": "monitor"})])
        return real(batch, expected)

    app.store.append = append  # type: ignore[method-assign]
    return calls


def test_a_command_that_lost_a_race_is_decided_again_on_the_new_state(
    app: App, origin: Origin
) -> None:
    app.bus.handle(ImportConfiguration(services=(service_file(QWEN),)), origin)
    calls = interfering(app, times=1)

    [removed] = app.bus.handle(RemoveService("qwen"), origin)

    types = [e.type for e in log(app)]
    assert calls == [0]
    assert types == ["ServiceRegistered", "ServiceVramMeasured", "ServiceRemoved"]
    assert removed.version == 3


def test_a_command_that_keeps_losing_is_refused_and_the_refusal_recorded(
    app: App, origin: Origin
) -> None:
    app.bus.handle(ImportConfiguration(services=(service_file(QWEN),)), origin)
    interfering(app, times=1000)

    rejection = refused(app, RemoveService("qwen"), origin)

    events = log(app)
    assert rejection.code == "busy"
    assert "ServiceRemoved" not in [e.type for e in events]
    assert events[-1].type == "CommandRejected"
    assert events[-1].data["code"] == "busy"
