"""A log written by an older gpumod still loads: CommandRejected v1 had no `code`."""

from __future__ import annotations

import pytest

from gpumod.adapters.cli.state_report import as_dict
from gpumod.bootstrap import App
from gpumod.commands.current_state import current_state
from gpumod.events import catalogue as ev
from gpumod.events.base import NewEvent, RecordedEvent
from gpumod.events.registry import UnknownEventType, decode, upcast
from gpumod.projections.fold import fold
from tests.helpers import recorded

V1_DATA = {"command": "RemoveService", "arguments": {"service_id": "qwen"},
           "reason": "no service 'qwen' is registered"}


def test_the_current_rejection_schema_is_version_2() -> None:
    # If this changes, a new upcaster (and a new test) is due, not an edit of this one.
    assert ev.CommandRejected.schema_version == 2


def test_a_version_1_rejection_decodes_as_the_current_type_with_code_unspecified() -> None:
    event = decode("CommandRejected", 1, dict(V1_DATA))

    assert event == ev.CommandRejected(**V1_DATA, code="unspecified")


def test_upcasting_keeps_every_v1_field_and_does_not_touch_its_input() -> None:
    stored = dict(V1_DATA)

    data = upcast("CommandRejected", 1, stored)

    assert data == {**V1_DATA, "code": "unspecified"}
    assert stored == V1_DATA


def test_a_current_version_rejection_keeps_its_own_code() -> None:
    event = decode("CommandRejected", 2, {**V1_DATA, "code": "unknown_service"})

    assert isinstance(event, ev.CommandRejected)
    assert event.code == "unknown_service"


def test_a_version_1_rejection_without_upcasting_would_not_validate() -> None:
    with pytest.raises(ValueError, match="code"):
        ev.CommandRejected.model_validate(V1_DATA)


def test_an_unknown_type_is_reported_as_such() -> None:
    with pytest.raises(UnknownEventType):
        decode("ServiceTeleported", 1, {})


def test_a_fold_over_a_log_holding_a_version_1_rejection_works() -> None:
    history = recorded(ev.ServiceRegistered(service_id="embed", definition={
        "id": "embed", "name": "E", "driver": "vllm", "vram_mb": 1}))
    old = RecordedEvent(2, "rejections", 1, "ev-old", "CommandRejected", 1, dict(V1_DATA),
                        {"actor": "cli:old"}, "2025-06-01T00:00:00.000000+00:00", "h")

    state = fold([*history, old])

    assert state.position == 2
    assert state.anomalies == []
    assert state.versions["rejections"] == 1
    assert set(state.services) == {"embed"}


def test_a_stored_version_1_rejection_is_read_back_from_the_database(app: App) -> None:
    app.store.append([NewEvent("old-1", "rejections", "CommandRejected", 1, dict(V1_DATA),
                               {"actor": "cli:old", "correlation_id": "c"})])

    [stored] = list(app.store.read())
    live = current_state(app.store)

    assert stored.schema_version == 1
    assert "code" not in stored.data  # the log keeps what was written; reading upcasts it
    assert decode(stored.type, stored.schema_version, stored.data) == ev.CommandRejected(
        **V1_DATA, code="unspecified")
    assert live.anomalies == []
    assert as_dict(live) == as_dict(fold(app.store.read()))
