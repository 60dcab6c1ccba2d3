"""Given services, modes and a (fake) machine / when a mode switch runs / then events or refusal."""

from __future__ import annotations

from typing import Any

import pytest

from gpumod.adapters.drivers.base import Health
from gpumod.bootstrap import App
from gpumod.commands.current_state import current_state
from gpumod.commands.errors import Rejected
from gpumod.commands.messages import ImportConfiguration, ModeFile, ServiceFile
from gpumod.commands.recorder import Origin, Recorder
from gpumod.commands.sagas.start import start_with_dependencies
from gpumod.commands.sagas.switch import switch_mode
from gpumod.definitions import ModeDefinition, ServiceDefinition
from gpumod.events import catalogue as ev
from gpumod.events.query import EventFilter
from tests.fake_machine import fake_machine


def svc(sid: str, vram: int, port: int, **extra: Any) -> dict[str, Any]:
    return {"id": sid, "name": sid, "driver": "vllm", "port": port, "vram_mb": vram, **extra}


def configure(app: App, services: list[dict[str, Any]], modes: dict[str, list[str]]) -> None:
    files = tuple(ServiceFile(None, ServiceDefinition.model_validate(d)) for d in services)
    mode_files = tuple(ModeFile(None, ModeDefinition.model_validate(
        {"id": m, "name": m, "services": s})) for m, s in modes.items())
    app.bus.handle(ImportConfiguration(services=files, modes=mode_files), Origin("cli:tester"))


def recorder(app: App) -> Recorder:
    return Recorder(app.store, app.bus.new_id, "SwitchMode", {}, Origin("cli:tester"))


SERVICES = [svc("embed", 2500, 8001), svc("coder", 18000, 8002),
            svc("chat", 7000, 8003, supports_sleep=True, sleep_mode="l1"),
            svc("rerank", 3000, 8004)]
MODES = {"code": ["embed", "coder"], "rag": ["embed", "chat"], "chat": ["chat"]}


def step_types(app: App, correlation_id: str) -> list[str]:
    return [e.type for e in app.store.read(EventFilter(correlation_id=correlation_id))]


def states(app: App) -> dict[str, str]:
    return {s: v.state for s, v in current_state(app.store).services.items()}


def test_a_switch_records_request_plan_starts_and_completion_and_sets_the_mode(app: App) -> None:
    configure(app, SERVICES, MODES)
    machine, backend, _, _ = fake_machine()
    rec = recorder(app)

    result = switch_mode(rec, machine, "code")

    assert result.status == "completed"
    assert step_types(app, rec.correlation_id) == [
        "ModeSwitchRequested", "ModeSwitchPlanned",
        "ServiceStarting", "ServiceProcessLaunched", "ServiceBecameHealthy", "ServiceVramMeasured",
        "ServiceStarting", "ServiceProcessLaunched", "ServiceBecameHealthy", "ServiceVramMeasured",
        "ModeSwitchCompleted"]
    assert current_state(app.store).active_mode == "code"
    assert {s for s, p in backend.processes.items() if p.running} == {"embed", "coder"}


def test_switching_away_stops_outgoing_waits_for_release_and_keeps_shared(app: App) -> None:
    configure(app, SERVICES, MODES)
    machine, backend, _, _ = fake_machine(release_s=1.5)
    switch_mode(recorder(app), machine, "code")
    embed_pid = backend.processes["embed"].pid
    rec = recorder(app)

    result = switch_mode(rec, machine, "rag")

    assert result.status == "completed"
    assert result.plan is not None and result.plan.keep == ("embed",)
    assert backend.processes["embed"].pid == embed_pid  # shared service untouched
    types = step_types(app, rec.correlation_id)
    assert types.index("ServiceStopped") < types.index("VramReleaseAwaited") \
        < types.index("VramReleased") < types.index("ServiceStarting")
    released = next(app.store.read(EventFilter(types=("VramReleased",))))
    assert released.data["waited_ms"] >= 1500
    assert released.data["needed_mb"] == 7000 + 512


def test_an_outgoing_service_that_can_sleep_is_slept_when_the_target_fits_beside_it(
    app: App,
) -> None:
    configure(app, SERVICES, MODES | {"emb-only": ["embed"]})
    machine, _, driver, _ = fake_machine()
    switch_mode(recorder(app), machine, "rag")

    switch_mode(recorder(app), machine, "emb-only")

    assert states(app)["chat"] == "SLEEPING"
    assert ("sleep", "chat") in driver.calls
    slept = next(app.store.read(EventFilter(types=("ServiceSlept",))))
    assert slept.data["vram_held_mb"] == 300  # measured once asleep


def test_a_sleeper_is_stopped_instead_when_the_target_would_not_fit_beside_it(app: App) -> None:
    configure(app, [*SERVICES, svc("huge", 23500, 8009)], MODES | {"huge": ["huge"]})
    machine, _, driver, _ = fake_machine(total_mb=24576)
    switch_mode(recorder(app), machine, "chat")

    result = switch_mode(recorder(app), machine, "huge")

    assert result.status == "completed"
    assert states(app)["chat"] == "STOPPED"
    assert ("sleep", "chat") not in driver.calls


def test_preflight_refuses_a_mode_that_cannot_fit_before_touching_anything(app: App) -> None:
    configure(app, [*SERVICES, svc("huge", 20000, 8009)], MODES | {"big": ["huge", "chat"]})
    machine, backend, _, _ = fake_machine(others_mb=1000)
    switch_mode(recorder(app), machine, "rag")
    before = app.store.head()[0]

    with pytest.raises(Rejected, match=r"needs 20000 MB \+ 512 MB margin, but only 16576 MB "
                       "would be free") as refused:
        switch_mode(recorder(app), machine, "big")

    assert refused.value.code == "insufficient_vram"
    assert [e.type for e in app.store.read(EventFilter(after_position=before))] == [
        "CommandRejected"]
    assert {s for s, p in backend.processes.items() if p.running} == {"embed", "chat"}


def test_release_timeout_fails_the_switch_and_starts_nothing(app: App) -> None:
    configure(app, SERVICES, MODES)
    machine, backend, _, _ = fake_machine(release_s=1000)
    switch_mode(recorder(app), machine, "code")

    result = switch_mode(recorder(app), machine, "rag", release_timeout_s=2)

    assert result.status == "failed"
    failed = next(app.store.read(EventFilter(types=("ModeSwitchFailed",))))
    assert failed.data["protection"] == "release-wait"
    assert failed.data["running"] == ["embed"]
    assert "chat" not in backend.processes
    assert current_state(app.store).active_mode is None


def test_a_failed_start_with_rollback_restores_the_previous_mode(app: App) -> None:
    configure(app, SERVICES, MODES)
    machine, backend, _, _ = fake_machine()
    switch_mode(recorder(app), machine, "code")
    backend.on_start["chat"] = {"running": False, "exit_code": 1, "log": ["boom"]}

    result = switch_mode(recorder(app), machine, "rag", rollback=True)

    assert result.status == "rolled_back"
    state = current_state(app.store)
    assert state.active_mode == "code"
    assert {s for s, v in state.services.items() if v.state == "RUNNING"} == {"embed", "coder"}
    assert state.switches[result.switch_id].status == "rolled_back"


def test_orphans_and_a_crashed_shared_service_are_handled(app: App) -> None:
    configure(app, SERVICES, MODES)
    machine, backend, _, _ = fake_machine()
    switch_mode(recorder(app), machine, "code")
    start_with_dependencies(recorder(app), machine, "rerank")  # in no mode: an orphan
    backend.stop("embed", timeout_s=1)
    recorder(app).fact(ev.ServiceCrashed(service_id="embed", exit_code=137))

    result = switch_mode(recorder(app), machine, "rag")

    assert result.plan is not None
    assert result.plan.orphans == ("rerank",)
    assert result.plan.restart == ("embed",)
    assert states(app) == {"embed": "RUNNING", "coder": "STOPPED", "chat": "RUNNING",
                                "rerank": "STOPPED"}


def test_a_kept_service_that_no_longer_serves_fails_the_switch(app: App) -> None:
    configure(app, SERVICES, MODES)
    machine, _, driver, _ = fake_machine()
    switch_mode(recorder(app), machine, "code")
    driver.health_override["embed"] = Health(False, 500, "engine dead")

    result = switch_mode(recorder(app), machine, "rag")

    assert result.status == "failed"
    assert "embed is kept by this switch but does not serve" in (result.reason or "")
