"""Given events / when a configuration command / then events or a refusal."""

from __future__ import annotations

from typing import Any

import pytest

import gpumod
from gpumod.commands.configuration import import_configuration, init_store, remove_mode
from gpumod.commands.errors import Rejected
from gpumod.commands.messages import ImportConfiguration, InitStore, RemoveMode
from gpumod.events import catalogue as ev
from gpumod.events.base import Event
from gpumod.projections.state import State
from tests.helpers import given, mode_file, service_file

QWEN: dict[str, Any] = {"id": "qwen", "name": "Qwen3 Coder", "driver": "llamacpp", "port": 7070,
                        "vram_mb": 20000, "context_size": 32768,
                        "unit_vars": {"jinja": True, "n_gpu_layers": -1}}
EMBED: dict[str, Any] = {"id": "embed", "name": "Embedding", "driver": "vllm", "vram_mb": 2500,
                         "sleep_mode": "l1", "supports_sleep": True}
CODE: dict[str, Any] = {"id": "code", "name": "Code", "description": "coding",
                        "services": ["embed", "qwen"]}


def registered(*definitions: dict[str, Any]) -> list[Event]:
    return [ev.ServiceRegistered(service_id=str(d["id"]), definition=d) for d in definitions]


def importing(*services: dict[str, Any], modes: tuple[dict[str, Any], ...] = (),
              initialize: bool = False) -> ImportConfiguration:
    return ImportConfiguration(
        services=tuple(service_file(s, source=f"presets/{s['id']}.yaml") for s in services),
        modes=tuple(mode_file(m, source=f"modes/{m['id']}.yaml") for m in modes),
        initialize=initialize,
    )


# --- importing new definitions ----------------------------------------------------------------


def test_a_new_service_is_registered_with_its_definition_exactly_as_written() -> None:
    events = import_configuration(importing(QWEN), State())

    assert events == [ev.ServiceRegistered(service_id="qwen", definition=QWEN,
                                           source="presets/qwen.yaml")]


def test_fields_left_out_of_the_file_are_not_filled_in_with_defaults() -> None:
    minimal = {"id": "tiny", "name": "Tiny", "driver": "fastapi", "vram_mb": 0}

    [event] = import_configuration(importing(minimal), State())

    assert isinstance(event, ev.ServiceRegistered)
    assert set(event.definition) == set(minimal)
    assert "health_endpoint" not in event.definition  # a default, but not written by the user


def test_enum_fields_are_stored_as_the_strings_written() -> None:
    [event] = import_configuration(importing(EMBED), State())

    assert isinstance(event, ev.ServiceRegistered)
    assert event.definition["driver"] == "vllm"
    assert event.definition["sleep_mode"] == "l1"
    assert type(event.definition["driver"]) is str


def test_a_new_mode_is_defined_with_its_definition_exactly_as_written() -> None:
    state = given(*registered(QWEN, EMBED))

    events = import_configuration(importing(modes=(CODE,)), state)

    assert events == [ev.ModeDefined(mode_id="code", definition=CODE, source="modes/code.yaml")]


def test_a_mode_may_name_services_registered_in_the_same_import() -> None:
    events = import_configuration(importing(QWEN, EMBED, modes=(CODE,)), State())

    assert [e.type_name for e in events] == ["ServiceRegistered", "ServiceRegistered",
                                             "ModeDefined"]


def test_initialize_records_the_store_initialisation_first() -> None:
    events = import_configuration(importing(QWEN, initialize=True), State())

    assert events[0] == ev.StoreInitialized(gpumod_version=gpumod.__version__)
    assert isinstance(events[1], ev.ServiceRegistered)


def test_initialize_on_an_initialised_store_adds_nothing_but_the_import() -> None:
    state = given(ev.StoreInitialized(gpumod_version="0.1.0"))

    events = import_configuration(importing(QWEN, initialize=True), state)

    assert [e.type_name for e in events] == ["ServiceRegistered"]


# --- re-importing -----------------------------------------------------------------------------


def test_reimporting_unchanged_definitions_records_nothing() -> None:
    state = given(*registered(QWEN, EMBED), ev.ModeDefined(mode_id="code", definition=CODE))

    assert import_configuration(importing(QWEN, EMBED, modes=(CODE,)), state) == []


def test_a_changed_service_records_exactly_the_changed_and_removed_fields() -> None:
    state = given(*registered(QWEN))
    edited = {key: value for key, value in QWEN.items() if key != "context_size"}
    edited |= {"port": 7071, "model_id": "unsloth/qwen3", "unit_vars": {"jinja": False,
                                                                        "n_gpu_layers": -1}}

    events = import_configuration(importing(edited), state)

    assert events == [ev.ServiceDefinitionChanged(
        service_id="qwen",
        changed={"port": 7071, "model_id": "unsloth/qwen3",
                 "unit_vars": {"jinja": False, "n_gpu_layers": -1}},
        removed=["context_size"],
        previous={"port": 7070, "unit_vars": {"jinja": True, "n_gpu_layers": -1},
                  "context_size": 32768},
        source="presets/qwen.yaml",
    )]


def test_the_recorded_change_brings_the_definition_to_the_new_file() -> None:
    state = given(*registered(QWEN))
    edited = {**{k: v for k, v in QWEN.items() if k not in ("port", "unit_vars")},
              "vram_mb": 18000, "depends_on": ["embed"]}

    events = import_configuration(importing(edited), state)
    after = given(*registered(QWEN), *events)

    assert after.services["qwen"].definition == edited


def test_a_field_written_with_its_default_value_is_still_a_change() -> None:
    state = given(*registered(QWEN))

    [event] = import_configuration(importing({**QWEN, "health_endpoint": "/health"}), state)

    assert isinstance(event, ev.ServiceDefinitionChanged)
    assert event.changed == {"health_endpoint": "/health"}
    assert event.removed == []
    assert event.previous == {}  # it was not written before


@pytest.mark.parametrize(("before", "after"), [(1, True), (0, False), (1, 1.0), ("1", 1)])
def test_values_equal_in_python_but_written_differently_are_a_change(
    before: object, after: object
) -> None:
    state = given(*registered({**QWEN, "unit_vars": {"jinja": before}}))

    events = import_configuration(importing({**QWEN, "unit_vars": {"jinja": after}}), state)
    [event] = events

    assert isinstance(event, ev.ServiceDefinitionChanged)
    assert event.changed == {"unit_vars": {"jinja": after}}
    folded = given(*registered({**QWEN, "unit_vars": {"jinja": before}}), *events)
    assert repr(folded.services["qwen"].definition["unit_vars"]["jinja"]) == repr(after)


def test_reordered_unit_vars_are_not_a_change() -> None:
    state = given(*registered({**QWEN, "unit_vars": {"a": 1, "b": 2}}))

    assert import_configuration(importing({**QWEN, "unit_vars": {"b": 2, "a": 1}}), state) == []


def test_a_changed_mode_records_the_diff() -> None:
    state = given(*registered(QWEN, EMBED), ev.ModeDefined(mode_id="code", definition=CODE))
    edited = {"id": "code", "name": "Code", "services": ["qwen"]}

    events = import_configuration(importing(modes=(edited,)), state)

    assert events == [ev.ModeDefinitionChanged(mode_id="code", changed={"services": ["qwen"]},
                                               removed=["description"],
                                               previous={"services": ["embed", "qwen"],
                                                         "description": "coding"},
                                               source="modes/code.yaml")]


def test_only_the_changed_file_of_an_import_records_an_event() -> None:
    state = given(*registered(QWEN, EMBED))

    events = import_configuration(importing(QWEN, {**EMBED, "vram_mb": 3000}), state)

    assert events == [ev.ServiceDefinitionChanged(service_id="embed", changed={"vram_mb": 3000},
                                                  previous={"vram_mb": 2500},
                                                  source="presets/embed.yaml")]


# --- refusals ---------------------------------------------------------------------------------


def test_a_mode_naming_an_unregistered_service_is_refused_naming_it() -> None:
    state = given(*registered(QWEN))

    with pytest.raises(Rejected) as refused:
        import_configuration(importing(modes=(CODE,)), state)

    assert refused.value.code == "unknown_service"
    assert "embed" in refused.value.reason
    assert "modes/code.yaml" in refused.value.reason


def test_a_mode_naming_a_removed_service_is_refused() -> None:
    state = given(*registered(QWEN, EMBED), ev.ServiceRemoved(service_id="embed"))

    with pytest.raises(Rejected, match="embed") as refused:
        import_configuration(importing(modes=(CODE,)), state)
    assert refused.value.code == "unknown_service"


def test_the_same_service_id_twice_in_one_import_is_refused() -> None:
    with pytest.raises(Rejected, match="qwen") as refused:
        import_configuration(importing(QWEN, {**QWEN, "vram_mb": 1}), State())
    assert refused.value.code == "duplicate_id"


def test_the_same_mode_id_twice_in_one_import_is_refused() -> None:
    state = given(*registered(QWEN, EMBED))

    with pytest.raises(Rejected, match="code") as refused:
        import_configuration(importing(modes=(CODE, {**CODE, "name": "Other"})), state)
    assert refused.value.code == "duplicate_id"


def test_a_mode_listing_a_service_twice_is_refused() -> None:
    state = given(*registered(QWEN, EMBED))
    twice = {"id": "code", "name": "Code", "services": ["qwen", "embed", "qwen"]}

    with pytest.raises(Rejected, match="qwen") as refused:
        import_configuration(importing(modes=(twice,)), state)
    assert refused.value.code == "duplicate_id"


# --- removing modes ---------------------------------------------------------------------------


def test_a_defined_inactive_mode_is_removed() -> None:
    state = given(*registered(QWEN, EMBED), ev.ModeDefined(mode_id="code", definition=CODE))

    assert remove_mode(RemoveMode("code"), state) == [ev.ModeRemoved(mode_id="code")]


def test_removing_an_unknown_mode_is_refused_naming_it_and_the_defined_ones() -> None:
    state = given(*registered(QWEN, EMBED), ev.ModeDefined(mode_id="code", definition=CODE))

    with pytest.raises(Rejected) as refused:
        remove_mode(RemoveMode("rag"), state)

    assert refused.value.code == "unknown_mode"
    assert "'rag'" in refused.value.reason
    assert "code" in refused.value.reason


def test_removing_a_mode_twice_is_refused_the_second_time() -> None:
    state = given(*registered(QWEN, EMBED), ev.ModeDefined(mode_id="code", definition=CODE),
                  ev.ModeRemoved(mode_id="code"))

    with pytest.raises(Rejected) as refused:
        remove_mode(RemoveMode("code"), state)
    assert refused.value.code == "unknown_mode"


def test_removing_the_active_mode_is_refused() -> None:
    state = given(
        *registered(QWEN, EMBED), ev.ModeDefined(mode_id="code", definition=CODE),
        ev.ModeSwitchRequested(switch_id="s1", from_mode=None, to_mode="code"),
        ev.ModeSwitchCompleted(switch_id="s1", to_mode="code", duration_ms=5),
    )

    with pytest.raises(Rejected, match="active") as refused:
        remove_mode(RemoveMode("code"), state)
    assert refused.value.code == "mode_active"


def test_a_mode_that_was_active_before_a_failed_switch_can_be_removed() -> None:
    state = given(
        *registered(QWEN, EMBED), ev.ModeDefined(mode_id="code", definition=CODE),
        ev.ModeSwitchRequested(switch_id="s1", from_mode=None, to_mode="code"),
        ev.ModeSwitchCompleted(switch_id="s1", to_mode="code", duration_ms=5),
        ev.ModeSwitchRequested(switch_id="s2", from_mode="code", to_mode="code"),
        ev.ModeSwitchFailed(switch_id="s2", to_mode="code", reason="oom"),
    )

    assert remove_mode(RemoveMode("code"), state) == [ev.ModeRemoved(mode_id="code")]


# --- initialising -----------------------------------------------------------------------------


def test_a_new_store_is_initialised_with_this_gpumod_version() -> None:
    assert init_store(InitStore(), State()) == [
        ev.StoreInitialized(gpumod_version=gpumod.__version__)]


def test_an_initialised_store_is_not_initialised_again() -> None:
    state = given(ev.StoreInitialized(gpumod_version="0.0.9"))

    assert init_store(InitStore(), state) == []
