"""Given a log and a (fake) machine / when a lifecycle saga runs / then events or a refusal."""

from __future__ import annotations

from typing import Any

import pytest

from gpumod.bootstrap import App
from gpumod.commands.errors import Rejected
from gpumod.commands.machine import ActionFailed
from gpumod.commands.messages import ImportConfiguration, ServiceFile
from gpumod.commands.recorder import Origin, Recorder
from gpumod.commands.sagas.sleep_wake import sleep_service, wake_service
from gpumod.commands.sagas.start import start_with_dependencies
from gpumod.commands.sagas.stop import stop_with_dependents
from gpumod.definitions import ServiceDefinition
from gpumod.events.query import EventFilter
from tests.fake_machine import fake_machine


def register(app: App, *definitions: dict[str, Any]) -> None:
    files = tuple(ServiceFile(None, ServiceDefinition.model_validate(d)) for d in definitions)
    app.bus.handle(ImportConfiguration(services=files), Origin("cli:tester"))


def svc(sid: str, vram: int = 4000, **extra: Any) -> dict[str, Any]:
    return {"id": sid, "name": sid, "driver": "vllm", "port": 8000 + len(sid), "vram_mb": vram,
            **extra}


def recorder(app: App, name: str = "StartService") -> Recorder:
    return Recorder(app.store, app.bus.new_id, name, {}, Origin("cli:tester"))


def types_since(app: App, position: int) -> list[str]:
    return [e.type for e in app.store.read(EventFilter(after_position=position))]


def test_start_records_intent_launch_health_and_measured_vram(app: App) -> None:
    register(app, svc("emb", 2500))
    machine, backend, _, _ = fake_machine()
    before = app.store.head()[0]

    start_with_dependencies(recorder(app), machine, "emb")

    assert types_since(app, before) == ["ServiceStarting", "ServiceProcessLaunched",
                                        "ServiceBecameHealthy", "ServiceVramMeasured"]
    assert backend.processes["emb"].running
    measured = list(app.store.read(EventFilter(types=("ServiceVramMeasured",))))
    assert measured[0].data["vram_mb"] == 2500


def test_start_refused_when_free_vram_does_not_cover_need_plus_margin(app: App) -> None:
    register(app, svc("big", 20000))
    machine, backend, _, _ = fake_machine(total_mb=24576, others_mb=4200)  # 20376 free

    with pytest.raises(Rejected, match=r"needs 20000 MB \+ 512 MB margin.*20376 MB") as refused:
        start_with_dependencies(recorder(app), machine, "big")

    assert refused.value.code == "insufficient_vram"
    assert backend.processes == {}
    assert types_since(app, 1)[-1] == "CommandRejected"


def test_dependencies_start_first_and_stop_after_their_dependents(app: App) -> None:
    register(app, svc("db", 1000), svc("api", 1000, depends_on=["db"]))
    machine, backend, _, _ = fake_machine()

    started = start_with_dependencies(recorder(app), machine, "api")
    stopped = stop_with_dependents(recorder(app, "StopService"), machine, "db")

    assert started == ["db", "api"]
    assert stopped == ["api", "db"]
    assert not backend.processes["api"].running and not backend.processes["db"].running


def test_a_process_that_dies_while_loading_fails_the_start_with_its_log_and_an_oom(
    app: App,
) -> None:
    register(app, svc("qwen", 9000))
    machine, backend, _, _ = fake_machine(polls_to_ready=100)
    backend.on_start["qwen"] = {"running": False, "exit_code": 1, "log": [
        "loading model", "cudaMalloc failed: out of memory"]}

    with pytest.raises(ActionFailed, match="exited before becoming healthy"):
        start_with_dependencies(recorder(app), machine, "qwen")

    failed = next(e for e in app.store.read() if e.type == "ServiceStartFailed")
    assert failed.data["exit_code"] == 1
    assert "cudaMalloc failed: out of memory" in failed.data["log_tail"]
    assert types_since(app, failed.position) == ["OomDetected"]


def test_a_service_never_healthy_times_out_and_is_stopped(app: App) -> None:
    register(app, svc("slow", 1000, startup_timeout=2))
    machine, backend, _, _ = fake_machine(polls_to_ready=10**9)

    with pytest.raises(ActionFailed, match="not healthy after 2 s"):
        start_with_dependencies(recorder(app), machine, "slow")

    assert not backend.processes["slow"].running


def test_starting_a_running_service_is_refused_naming_its_state(app: App) -> None:
    register(app, svc("emb"))
    machine, _, _, _ = fake_machine()
    start_with_dependencies(recorder(app), machine, "emb")

    with pytest.raises(Rejected, match="it is RUNNING"):
        start_with_dependencies(recorder(app), machine, "emb")


def test_two_services_on_one_port_cannot_run_at_once(app: App) -> None:
    register(app, svc("a", port=8000), svc("b", port=8000))
    machine, _, _, _ = fake_machine()
    start_with_dependencies(recorder(app), machine, "a")

    with pytest.raises(Rejected, match="port 8000 belongs to a"):
        start_with_dependencies(recorder(app), machine, "b")


def test_a_port_held_by_a_foreign_process_refuses_the_start(app: App) -> None:
    register(app, svc("a", port=8000))
    machine, backend, _, _ = fake_machine(busy_ports=frozenset({8000}))

    with pytest.raises(Rejected, match="already in use"):
        start_with_dependencies(recorder(app), machine, "a")
    assert backend.processes == {}


def test_sleep_then_wake_records_both_and_frees_memory(app: App) -> None:
    register(app, svc("chat", 7000, supports_sleep=True, sleep_mode="l1"))
    machine, backend, driver, _ = fake_machine()
    start_with_dependencies(recorder(app), machine, "chat")

    assert sleep_service(recorder(app), machine, "chat", None) == "l1"
    assert backend.processes["chat"].vram_mb == 300
    wake_service(recorder(app), machine, "chat")

    assert driver.calls == [("sleep", "chat"), ("wake", "chat")]
    assert driver.woken_from == "l1"  # woken from the level it slept at
    assert [e.type for e in app.store.read()][-2:] == ["ServiceSlept", "ServiceWoke"]


def test_a_404_on_sleep_is_a_failure_event_not_a_silent_success(app: App) -> None:
    register(app, svc("chat", 7000, supports_sleep=True, sleep_mode="l1"))
    machine, _, driver, _ = fake_machine()
    start_with_dependencies(recorder(app), machine, "chat")
    driver.sleep_status = 404

    with pytest.raises(ActionFailed, match="sleep failed"):
        sleep_service(recorder(app), machine, "chat", "l1")

    last = list(app.store.read())[-1]
    assert (last.type, last.data["http_status"]) == ("ServiceSleepFailed", 404)


def test_sleep_refused_for_a_service_whose_preset_cannot_sleep(app: App) -> None:
    register(app, svc("emb"))
    machine, _, _, _ = fake_machine()
    start_with_dependencies(recorder(app), machine, "emb")

    with pytest.raises(Rejected, match="does not support sleep"):
        sleep_service(recorder(app), machine, "emb", None)


def test_wake_refused_when_the_rest_of_its_memory_would_not_fit(app: App) -> None:
    register(app, svc("chat", 7000, supports_sleep=True, sleep_mode="l1"), svc("hog", 17500))
    machine, _, _, _ = fake_machine(total_mb=24576)
    start_with_dependencies(recorder(app), machine, "chat")
    sleep_service(recorder(app), machine, "chat", None)
    # free: 24576 - 300 - 17500 = 6776 MB, short of the 6700 + 512 MB waking needs
    start_with_dependencies(recorder(app), machine, "hog")

    with pytest.raises(Rejected, match="cannot wake 'chat'"):
        wake_service(recorder(app), machine, "chat")


def test_a_service_slept_at_level_2_is_woken_from_level_2(app: App) -> None:
    register(app, svc("chat", 7000, supports_sleep=True, sleep_mode="l1"))
    machine, _, driver, _ = fake_machine()
    start_with_dependencies(recorder(app), machine, "chat")
    sleep_service(recorder(app), machine, "chat", "l2")

    wake_service(recorder(app), machine, "chat")

    assert driver.woken_from == "l2"


def test_a_start_right_after_a_stop_waits_for_the_stopped_service_memory(app: App) -> None:
    register(app, svc("old", 15000), svc("new", 15000))
    machine, _, _, _ = fake_machine(total_mb=24576, release_s=1.0)
    start_with_dependencies(recorder(app), machine, "old")
    stop_with_dependents(recorder(app, "StopService"), machine, "old")

    start_with_dependencies(recorder(app), machine, "new")

    released = next(app.store.read(EventFilter(types=("VramReleased",))))
    assert released.data["waited_ms"] >= 1000
    assert types_since(app, released.position)[:1] == ["ServiceStarting"]


def test_memory_held_by_another_program_is_not_waited_for(app: App) -> None:
    register(app, svc("big", 20000))
    machine, _, _, _ = fake_machine(total_mb=24576, others_mb=6000)

    with pytest.raises(Rejected, match="cannot start 'big'"):
        start_with_dependencies(recorder(app), machine, "big")
    assert "VramReleaseAwaited" not in types_since(app, 0)
