"""Starting a service: dependencies first, VRAM checked, then launch and wait until healthy.

Recorded: ServiceStarting (the decision, before anything runs), ServiceProcessLaunched,
then ServiceBecameHealthy + ServiceVramMeasured, or ServiceStartFailed (+ OomDetected).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, NoReturn

from gpumod.adapters.drivers.base import Driver, DriverError
from gpumod.adapters.process.base import ProcessError
from gpumod.commands import lifecycle
from gpumod.commands.current_state import current_state
from gpumod.commands.errors import Rejected
from gpumod.commands.machine import ActionFailed, Machine
from gpumod.commands.oom import oom_event, oom_evidence
from gpumod.commands.recorder import Recorder
from gpumod.commands.sagas.release import await_releasing
from gpumod.events import catalogue as ev
from gpumod.events.base import Event
from gpumod.projections.state import State

FAST_POLL_S, SLOW_POLL_S, FAST_PHASE_S = 0.01, 0.1, 5.0


@dataclass(frozen=True)
class Outcome:
    ready: bool
    elapsed_ms: int
    reason: str = ""
    exit_code: int | None = None


def start_with_dependencies(rec: Recorder, machine: Machine, sid: str) -> list[str]:
    """Start `sid` and what it depends on; returns the services started, in order."""
    order = _order(rec, sid)
    for each in order:
        start_one(rec, machine, each)
    return order


def start_one(rec: Recorder, machine: Machine, sid: str) -> None:
    definition: dict[str, Any] = {}
    state = current_state(rec.store)
    if sid in state.services:
        need = lifecycle.vram_need(state.services[sid]) + lifecycle.VRAM_MARGIN_MB
        await_releasing(rec, machine, state, need)

    def decide(state: State) -> list[Event]:
        snapshot = machine.gpu.snapshot()
        starting = lifecycle.decide_start(state, sid, snapshot.free_mb, machine.backend.name)
        definition.update(state.services[sid].definition)
        _check_port_free(machine, sid, definition)
        return [starting]

    rec.decide(decide)
    pid = _launch(rec, machine, sid, definition)
    driver = machine.driver_for(str(definition["driver"]))
    outcome = wait_ready(machine, driver, sid, definition)
    if outcome.ready:
        outcome = _load_router_model(driver, definition, outcome)
    if not outcome.ready:
        _fail(rec, machine, sid, definition, outcome)
    rec.fact(ev.ServiceBecameHealthy(service_id=sid, elapsed_ms=outcome.elapsed_ms))
    held = machine.held_mb(machine.gpu.snapshot(), pid)
    if held:
        rec.fact(ev.ServiceVramMeasured(service_id=sid, vram_mb=held))


def wait_ready(machine: Machine, driver: Driver, sid: str, definition: dict[str, Any]) -> Outcome:
    """Poll health until ready, the process dies, or startup_timeout passes."""
    timeout = float(definition.get("startup_timeout", 120))
    began = machine.monotonic()
    while True:
        elapsed = machine.monotonic() - began
        health = driver.health(definition)
        if health.ready:
            return Outcome(True, int(elapsed * 1000))
        info = machine.backend.info(sid)
        if not info.running:
            return Outcome(False, int(elapsed * 1000), "process exited before becoming healthy",
                           info.exit_code)
        if elapsed > timeout:
            return Outcome(False, int(elapsed * 1000), f"not healthy after {timeout:.0f} s "
                           f"(last answer: {health.detail or health.status})")
        machine.sleep(FAST_POLL_S if elapsed < FAST_PHASE_S else SLOW_POLL_S)


def _order(rec: Recorder, sid: str) -> list[str]:
    try:
        return lifecycle.start_order(current_state(rec.store), sid)
    except Rejected as rejected:
        rec.reject(rejected)
        raise


def _check_port_free(machine: Machine, sid: str, definition: dict[str, Any]) -> None:
    port = definition.get("port")
    if port is not None and machine.port_in_use(int(port)):
        raise Rejected("port_in_use", f"cannot start {sid!r}: port {port} is already in use "
                       "by a process gpumod did not start for this service")


def _launch(rec: Recorder, machine: Machine, sid: str, definition: dict[str, Any]) -> int | None:
    try:
        info = machine.backend.start(machine.launch_spec(definition))
    except (ProcessError, ValueError, OSError) as exc:
        rec.fact(ev.ServiceStartFailed(service_id=sid, reason=f"launch failed: {exc}"))
        raise ActionFailed(f"{sid}: launch failed: {exc}") from None
    rec.fact(ev.ServiceProcessLaunched(service_id=sid, backend=machine.backend.name,
                                       pid=info.pid))
    return info.pid


def _load_router_model(driver: Driver, definition: dict[str, Any], outcome: Outcome) -> Outcome:
    """A llama.cpp router that does not autoload is usable only once its model is loaded."""
    unit_vars = definition.get("unit_vars", {})
    if definition.get("sleep_mode") != "router" or not unit_vars.get("no_models_autoload"):
        return outcome
    try:
        driver.wake(definition)
    except DriverError as exc:
        return Outcome(False, outcome.elapsed_ms, f"model did not load: {exc}")
    return outcome


def _fail(rec: Recorder, machine: Machine, sid: str, definition: dict[str, Any],
          outcome: Outcome) -> NoReturn:
    # Read the GPU before stopping anything: the post-mortem needs memory as it was at failure.
    snapshot = machine.gpu.snapshot()
    tail = machine.backend.log_tail(sid)
    view = current_state(rec.store).services[sid]
    need, held = lifecycle.vram_need(view), machine.held_mb(snapshot, view.pid)
    if machine.backend.info(sid).running:
        machine.backend.stop(sid, timeout_s=10)
    rec.fact(ev.ServiceStartFailed(service_id=sid, reason=outcome.reason,
                                   exit_code=outcome.exit_code, log_tail=tail))
    # What it already held was available to it: a server that loaded, then hung, was not short.
    evidence = oom_evidence(tail, snapshot.free_mb + held, need)
    if evidence is not None:
        rec.fact(oom_event(sid, evidence, snapshot, need, tail))
    raise ActionFailed(f"{sid}: {outcome.reason}" + (f"\n  {tail[-1]}" if tail else ""))
