"""Given gpumod killed at each step of a switch / when the next command runs / then one mode is
fully in place, the differences and actions are recorded, and nothing is lost or duplicated."""

from __future__ import annotations

from typing import Any

import pytest

from gpumod.bootstrap import App
from gpumod.commands.current_state import current_state
from gpumod.commands.machine import Machine
from gpumod.commands.operate import operate
from gpumod.commands.recorder import Origin, Recorder
from gpumod.commands.sagas.switch import switch_mode
from gpumod.events.base import RecordedEvent
from gpumod.events.chain import verify_store
from gpumod.events.query import EventFilter
from tests.fake_machine import FakeBackend, fake_machine
from tests.unit.test_switch_saga import MODES, SERVICES, configure

# Every step of a code -> rag switch: stop coder, wait for its memory, start chat.
STEPS = ["ModeSwitchRequested", "ModeSwitchPlanned", "ServiceStopping", "ServiceStopped",
         "VramReleaseAwaited", "VramReleased", "ServiceStarting", "ServiceProcessLaunched",
         "ServiceBecameHealthy", "ServiceVramMeasured"]


class Killed(BaseException):
    """Stands for SIGKILL: nothing after it runs, no handler records anything."""


def kill_after(event_type: str) -> Any:
    def listener(events: list[RecordedEvent]) -> None:
        if any(e.type == event_type for e in events):
            raise Killed(event_type)
    return listener


def nothing(rec: Recorder, machine: Machine) -> None:
    return None


def running(backend: FakeBackend) -> set[str]:
    return {s for s, p in backend.processes.items() if p.running}


@pytest.mark.parametrize("step", STEPS)
def test_killed_at_any_step_the_next_command_leaves_one_mode_fully_in_place(
    app: App, step: str,
) -> None:
    configure(app, SERVICES, MODES)
    machine, backend, _, _ = fake_machine(release_s=0.5)
    switch_mode(Recorder(app.store, app.bus.new_id, "SwitchMode", {}, Origin("t")), machine, "code")
    with pytest.raises(Killed):
        operate(app.store, app.bus.new_id, machine, "SwitchMode", {}, Origin("cli:t"),
                lambda rec, m: switch_mode(rec, m, "rag"), listeners=[kill_after(step)])
    before = app.store.head()[0]

    operate(app.store, app.bus.new_id, machine, "Status", {}, Origin("cli:t"), nothing)

    state = current_state(app.store)
    assert state.switch_in_progress is None
    mode = state.active_mode
    assert mode in ("rag", "code")
    expected = set(state.modes[mode].definition["services"])
    assert {s for s, v in state.services.items() if v.state == "RUNNING"} == expected
    assert running(backend) == expected
    recovery = list(app.store.read(EventFilter(after_position=before)))
    assert "ModeSwitchInterrupted" in [e.type for e in recovery]
    assert all(e.actor == "gpumod:recovery" for e in recovery)
    assert not state.anomalies
    assert verify_store(app.store).count == app.store.head()[0]


def test_nothing_to_recover_records_nothing(app: App) -> None:
    configure(app, SERVICES, MODES)
    machine, _, _, _ = fake_machine()
    switch_mode(Recorder(app.store, app.bus.new_id, "SwitchMode", {}, Origin("t")), machine, "code")
    operate(app.store, app.bus.new_id, machine, "Status", {}, Origin("cli:t"), nothing)  # GPU
    before = app.store.head()[0]

    operate(app.store, app.bus.new_id, machine, "Status", {}, Origin("cli:t"), nothing)

    assert app.store.head()[0] == before


def test_a_service_that_died_while_the_log_says_running_is_reconciled(app: App) -> None:
    configure(app, SERVICES, MODES)
    machine, backend, _, _ = fake_machine()
    switch_mode(Recorder(app.store, app.bus.new_id, "SwitchMode", {}, Origin("t")), machine, "code")
    backend.processes["coder"].running = False
    backend.processes["coder"].exit_code = -9

    operate(app.store, app.bus.new_id, machine, "Status", {}, Origin("cli:t"), nothing)

    last = list(app.store.read())[-1]
    assert (last.type, last.data["state"]) == ("ServiceStateReconciled", "FAILED")
    assert "exit code -9" in last.data["observed"]
