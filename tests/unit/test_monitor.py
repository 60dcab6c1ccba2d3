"""Given a log with live services and a fake machine / when the monitor polls / then events.

Polls are given their monotonic time explicitly, so backoff is checked without any waiting.
"""

from __future__ import annotations

import itertools
import threading
from typing import Any

import pytest

from gpumod.adapters.drivers.base import DriverError, Health
from gpumod.adapters.process.base import ProcessInfo
from gpumod.bootstrap import App
from gpumod.commands.current_state import current_state
from gpumod.commands.health import HealthPolicy
from gpumod.commands.machine import Machine
from gpumod.commands.sagas.monitor import Monitor, MonitorSettings, run_in_thread
from gpumod.commands.sagas.sleep_wake import sleep_service, wake_service
from gpumod.commands.sagas.start import start_with_dependencies
from gpumod.commands.sagas.stop import stop_one
from gpumod.events.base import RecordedEvent
from tests.fake_machine import FakeBackend, FakeDriver, FakeGpu, fake_machine
from tests.unit.test_lifecycle_sagas import recorder, register, svc

FAILING = Health(False, 503, "Service Unavailable")
GOOD = Health(True, 200)
Rig = tuple[Machine, FakeBackend, FakeDriver, FakeGpu]


def running(app: App, *sids: str, vram: int = 4000, **extra: Any) -> Rig:
    register(app, *(svc(sid, vram, **extra) for sid in sids))
    rig = fake_machine(polls_to_ready=1)
    for sid in sids:
        start_with_dependencies(recorder(app), rig[0], sid)
    return rig


def monitor_of(app: App, machine: Machine, settings: MonitorSettings | None = None,
               **kwargs: Any) -> Monitor:
    return Monitor(app.store, app.bus.new_id, machine, settings, random=lambda: 0.5, **kwargs)


class Poller:
    """Polls far enough apart that every service is due each time, unless told otherwise."""

    def __init__(self, monitor: Monitor) -> None:
        self.monitor, self.now = monitor, 0.0

    def __call__(self, after_s: float = 100.0) -> list[str]:
        self.now += after_s
        return [e.type for e in self.monitor.poll_once(self.now)]

    def services(self) -> list[str]:
        """One poll's events about services (memory moves as services sleep and wake)."""
        return [t for t in self() if t != "VramObserved"]


def state_of(app: App, sid: str) -> str:
    return current_state(app.store).services[sid].state


def test_unhealthy_after_three_failures_recovered_after_two_successes_once_each(
    app: App,
) -> None:
    _, _, driver, _ = rig = running(app, "chat")
    poll = Poller(monitor_of(app, rig[0]))
    assert poll() == ["VramObserved"]  # the first poll records the GPU, then only changes

    driver.health_override["chat"] = FAILING
    assert [poll(), poll()] == [[], []]
    assert poll() == ["ServiceBecameUnhealthy"]
    assert [poll(), poll(), poll()] == [[], [], []]
    assert state_of(app, "chat") == "UNHEALTHY"

    driver.health_override["chat"] = GOOD
    assert poll() == []
    assert poll() == ["ServiceRecovered"]
    assert [poll(), poll()] == [[], []]
    assert state_of(app, "chat") == "RUNNING"


def test_transitions_carry_their_counts_and_the_last_error(app: App) -> None:
    _, _, driver, _ = rig = running(app, "chat")
    monitor = monitor_of(app, rig[0])
    driver.health_override["chat"] = FAILING
    failed = [e for now in (1, 100, 200) for e in monitor.poll_once(now)][-1]
    driver.health_override["chat"] = GOOD
    recovered = [e for now in (300, 400) for e in monitor.poll_once(now)][-1]

    assert failed.data == {"service_id": "chat", "consecutive_failures": 3,
                           "last_error": "HTTP 503: Service Unavailable"}
    assert recovered.data == {"service_id": "chat", "consecutive_successes": 2}


def test_a_flapping_service_is_never_marked_unhealthy(app: App) -> None:
    _, _, driver, _ = rig = running(app, "chat")
    poll = Poller(monitor_of(app, rig[0]))
    poll()

    for answer in [FAILING, FAILING, GOOD] * 4:
        driver.health_override["chat"] = answer
        assert poll() == []


def test_each_transition_is_recorded_by_the_monitor_under_its_own_correlation(
    app: App,
) -> None:
    _, _, driver, _ = rig = running(app, "chat")
    poll = Poller(monitor_of(app, rig[0]))
    driver.health_override["chat"] = FAILING
    for _ in range(3):
        poll()
    driver.health_override["chat"] = GOOD
    poll(), poll()

    mine = [e for e in app.store.read() if e.actor == "monitor"]
    assert [e.type for e in mine] == ["VramObserved", "ServiceBecameUnhealthy",
                                      "ServiceRecovered"]
    assert len({e.metadata["correlation_id"] for e in mine}) == 3


def test_failing_probes_back_off_doubling_until_the_service_recovers(app: App) -> None:
    _, _, driver, _ = rig = running(app, "chat")
    monitor = monitor_of(app, rig[0])
    driver.health_override["chat"] = FAILING
    recorded_at: dict[str, float] = {}

    for now in range(40):  # a poll each second; the service is probed only when due
        for event in monitor.poll_once(float(now)):
            recorded_at[event.type] = now
        if now == 20:
            driver.health_override["chat"] = GOOD

    # failures probed at 0, 4 (+2*2), 12 (+2*4); then 28 (+2*8) succeeds, 30 (+2) recovers
    assert recorded_at["ServiceBecameUnhealthy"] == 12
    assert recorded_at["ServiceRecovered"] == 30
    assert monitor.seconds_to_next_poll(39.0) == pytest.approx(1.0)


def test_a_dead_process_is_recorded_as_a_crash_with_its_exit_code_and_log(app: App) -> None:
    _, backend, _, _ = rig = running(app, "emb")
    poll = Poller(monitor_of(app, rig[0]))
    poll()
    proc = backend.processes["emb"]
    proc.running, proc.exit_code, proc.log = False, 139, ["serving", "Segmentation fault"]

    assert poll() == ["ServiceCrashed", "VramObserved"]  # its 4000 MB are gone too
    crashed = next(e for e in app.store.read() if e.type == "ServiceCrashed")
    assert crashed.data["exit_code"] == 139
    assert crashed.data["log_tail"] == ["serving", "Segmentation fault"]
    assert state_of(app, "emb") == "FAILED"
    assert poll() == []  # a failed service is no longer watched


def test_a_crash_whose_log_shows_cuda_out_of_memory_is_also_an_oom(app: App) -> None:
    _, backend, _, _ = rig = running(app, "qwen", vram=9000)
    poll = Poller(monitor_of(app, rig[0]))
    poll()
    proc = backend.processes["qwen"]
    proc.running, proc.exit_code = False, 1
    proc.log = ["torch.OutOfMemoryError: CUDA out of memory. Tried to allocate 2.00 GiB"]

    poll()

    crash, oom = [e for e in app.store.read() if e.type in ("ServiceCrashed", "OomDetected")]
    assert (crash.type, oom.type) == ("ServiceCrashed", "OomDetected")
    assert oom.data["evidence"] == "log" and oom.data["needed_mb"] == 9000
    assert oom.metadata["correlation_id"] == crash.metadata["correlation_id"]
    assert current_state(app.store).services["qwen"].oom_count == 1


def test_a_sleeping_service_is_not_probed_but_its_death_is_noticed(app: App) -> None:
    _, backend, driver, _ = rig = running(app, "chat", vram=7000, supports_sleep=True,
                                         sleep_mode="l1")
    sleep_service(recorder(app, "SleepService"), rig[0], "chat", None)
    poll = Poller(monitor_of(app, rig[0]))
    driver.health_override["chat"] = FAILING

    assert [poll(), poll(), poll(), poll()] == [["VramObserved"], [], [], []]

    backend.processes["chat"].running = False
    assert poll() == ["ServiceCrashed", "VramObserved"]


def test_probes_start_afresh_after_a_sleep(app: App) -> None:
    _, _, driver, _ = rig = running(app, "chat", vram=7000, supports_sleep=True,
                                    sleep_mode="l1")
    poll = Poller(monitor_of(app, rig[0]))
    driver.health_override["chat"] = FAILING
    poll(), poll()
    sleep_service(recorder(app, "SleepService"), rig[0], "chat", None)
    poll()
    wake_service(recorder(app, "WakeService"), rig[0], "chat")

    assert [poll.services(), poll.services()] == [[], []]  # failures before the sleep
    assert poll.services() == ["ServiceBecameUnhealthy"]  # do not count


def test_a_service_stopped_while_it_was_being_checked_did_not_crash(
    app: App, monkeypatch: pytest.MonkeyPatch,
) -> None:
    machine, backend, _, _ = rig = running(app, "emb")
    poll = Poller(monitor_of(app, rig[0]))
    poll()

    def stopped_meanwhile(sid: str) -> ProcessInfo:
        monkeypatch.undo()  # the stop itself asks the backend too
        stop_one(recorder(app, "StopService"), machine, sid)  # between log read and probe
        return backend.info(sid)

    monkeypatch.setattr(backend, "info", stopped_meanwhile)
    events = poll()

    assert "ServiceCrashed" not in events
    assert state_of(app, "emb") == "STOPPED"


def test_a_service_started_by_another_process_backend_is_not_declared_dead(app: App) -> None:
    _, backend, _, _ = rig = running(app, "emb")
    backend.processes.clear()  # this backend has never heard of it...
    backend.name = "systemd"  # ...because the service was started by the "fake" backend
    poll = Poller(monitor_of(app, rig[0]))

    assert "ServiceCrashed" not in poll()


def test_a_probe_that_raises_counts_as_a_failure(app: App) -> None:
    _, _, driver, _ = rig = running(app, "chat")
    poll = Poller(monitor_of(app, rig[0]))

    def refuse(definition: dict[str, Any]) -> Health:
        raise DriverError("connection reset by peer")

    driver.health = refuse  # type: ignore[method-assign]
    events = [poll(), poll(), poll()]

    assert events[-1] == ["ServiceBecameUnhealthy"]
    last = list(app.store.read())[-1]
    assert last.data["last_error"] == "connection reset by peer"


def test_a_service_that_cannot_be_probed_is_reported_and_the_others_still_are(
    app: App,
) -> None:
    _, _, driver, _ = rig = running(app, "a", "bb")
    driver.health_override["bb"] = FAILING
    healthy = driver.health

    def buggy(definition: dict[str, Any]) -> Health:
        if definition["id"] == "a":
            raise RuntimeError("driver bug")
        return healthy(definition)

    driver.health = buggy  # type: ignore[method-assign]
    errors: list[tuple[str | None, str]] = []
    poll = Poller(monitor_of(app, rig[0],
                             on_error=lambda sid, exc: errors.append((sid, str(exc)))))

    assert [poll(), poll(), poll()][-1] == ["ServiceBecameUnhealthy"]  # bb, still watched
    assert errors == [("a", "driver bug")] * 3
    assert state_of(app, "a") == "RUNNING"


def test_vram_is_recorded_first_then_only_when_it_moves_by_256_mb(app: App) -> None:
    _, _, _, gpu = rig = running(app, "emb", vram=2000)
    poll = Poller(monitor_of(app, rig[0]))

    assert poll() == ["VramObserved"]
    gpu.others_mb = 255
    assert poll() == []
    gpu.others_mb = 256
    assert poll() == ["VramObserved"]
    gpu.others_mb = 100  # 156 MB below what was last recorded: not enough
    assert poll() == []
    gpu.others_mb = 0
    assert poll() == ["VramObserved"]

    observed = [e for e in app.store.read() if e.type == "VramObserved"]
    assert [e.data["used_mb"] for e in observed] == [2000, 2256, 2000]
    assert observed[1].data["processes"][-1] == {"pid": 1, "used_mb": 256,
                                                 "name": "someone-else"}
    assert current_state(app.store).vram.observed_used_mb == 2000


def test_services_started_after_the_monitor_are_picked_up_from_the_log(app: App) -> None:
    machine, _, driver, _ = running(app, "a")
    poll = Poller(monitor_of(app, machine))
    poll()
    register(app, svc("late", 1000))
    start_with_dependencies(recorder(app), machine, "late")
    driver.health_override["late"] = FAILING

    assert [poll(), poll(), poll()][-1] == ["ServiceBecameUnhealthy"]
    assert state_of(app, "late") == "UNHEALTHY"


def test_run_polls_until_stopped_and_survives_a_failing_poll(app: App) -> None:
    machine, _, _, gpu = running(app, "a")
    stop, seen = threading.Event(), list[RecordedEvent]()
    attempts = itertools.count(1)
    real_snapshot = gpu.snapshot

    def flaky_snapshot() -> Any:
        if next(attempts) == 1:
            raise OSError("sim GPU file busy")
        return real_snapshot()

    gpu.snapshot = flaky_snapshot  # type: ignore[method-assign]

    def record(event: RecordedEvent) -> None:
        seen.append(event)
        stop.set()

    errors: list[str] = []
    quick = MonitorSettings(HealthPolicy(interval_s=0.001))  # the retry waits a millisecond
    monitor = monitor_of(app, machine, quick, on_record=record,
                         on_error=lambda sid, exc: errors.append(str(exc)))
    monitor.run(stop)

    assert errors == ["sim GPU file busy"]
    assert [e.type for e in seen] == ["VramObserved"]


def test_a_monitor_in_a_thread_records_and_stops_when_asked(app: App) -> None:
    machine, _, _, _ = running(app, "a")
    recorded = threading.Event()
    halt = run_in_thread(monitor_of(app, machine, on_record=lambda event: recorded.set()))

    assert recorded.wait(60)  # a guard against a hang, not a measurement
    halt()

    mine = [e.type for e in app.store.read() if e.actor == "monitor"]
    assert mine == ["VramObserved"]
