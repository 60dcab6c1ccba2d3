"""After gpumod was killed mid-operation: correct the log to what is really running, and finish.

Runs holding the GPU lock, so whatever the log shows in flight has no living driver. Each
difference found and each corrective action is an event; a switch left unfinished is driven
again to its target (with rollback to the mode before it), so one mode ends fully in place.
"""

from __future__ import annotations

from collections.abc import Callable

from gpumod.adapters.process.base import ProcessError
from gpumod.commands.current_state import current_state
from gpumod.commands.errors import Rejected
from gpumod.commands.machine import ActionFailed, Machine
from gpumod.commands.recorder import Origin, Recorder
from gpumod.events import catalogue as ev
from gpumod.events.store import EventStore
from gpumod.projections.service_state import LIVE
from gpumod.projections.state import ServiceView, State

ACTOR = "gpumod:recovery"


def recover(store: EventStore, new_id: Callable[[], str], machine: Machine) -> list[str]:
    """Bring the log in line with the machine; returns what was done (empty: nothing to do)."""
    state = current_state(store)
    in_flight = [v for v in state.services.values() if v.state in LIVE | {"STOPPING"}]
    if state.switch_in_progress is None and not any(
            v.state in ("STARTING", "STOPPING") or not machine.backend.info(v.id).running
            for v in in_flight):
        return []
    timeline = state.switches.get(state.switch_in_progress or "")
    origin = Origin(ACTOR, correlation_id=timeline.correlation_id if timeline else None)
    rec = Recorder(store, new_id, "Recover", {}, origin)
    actions = [action for view in in_flight if (action := _reconcile(rec, machine, view))]
    if timeline is None:
        return actions
    actions += _report_unmanaged(rec, machine, current_state(store))
    rec.fact(ev.ModeSwitchInterrupted(switch_id=timeline.switch_id, resolved_mode=None,
                                      actions=actions))
    return [*actions, _finish(rec, machine, timeline.to_mode, timeline.from_mode)]


def _reconcile(rec: Recorder, machine: Machine, view: ServiceView) -> str | None:
    info = machine.backend.info(view.id)
    if not info.running:
        target = "STOPPED" if view.state == "STOPPING" else "FAILED"
        observed = f"process not running (exit code {info.exit_code})"
        rec.fact(ev.ServiceStateReconciled(service_id=view.id, state=target, observed=observed))
        return f"{view.id}: {view.state} in the log, {observed}: now {target}"
    if view.state == "STOPPING":
        return _finish_stop(rec, machine, view)
    if view.state == "STARTING":
        return _settle_start(rec, machine, view)
    return None


def _finish_stop(rec: Recorder, machine: Machine, view: ServiceView) -> str:
    pids = machine.gpu_pids(machine.gpu.snapshot(), view.pid)
    try:
        info = machine.backend.stop(view.id, timeout_s=30)
    except ProcessError as exc:
        rec.fact(ev.ServiceStopFailed(service_id=view.id, reason=str(exc)))
        return f"{view.id}: interrupted stop failed again: {exc}"
    rec.fact(ev.ServiceStopped(service_id=view.id, exit_code=info.exit_code, pids=pids))
    return f"{view.id}: finished its interrupted stop"


def _settle_start(rec: Recorder, machine: Machine, view: ServiceView) -> str:
    """A start nobody watches any more: healthy now is RUNNING, anything else is stopped."""
    health = machine.driver_for(str(view.definition["driver"])).health(view.definition)
    if health.ready:
        rec.fact(ev.ServiceStateReconciled(service_id=view.id, state="RUNNING",
                                           observed="healthy after an interrupted start"))
        return f"{view.id}: STARTING in the log and healthy: now RUNNING"
    machine.backend.stop(view.id, timeout_s=30)
    rec.fact(ev.ServiceStateReconciled(
        service_id=view.id, state="FAILED",
        observed=f"start interrupted while not yet healthy ({health.detail or health.status})"))
    return f"{view.id}: STARTING in the log, not healthy: stopped, now FAILED"


def _report_unmanaged(rec: Recorder, machine: Machine, state: State) -> list[str]:
    """GPU processes that no service of the log accounts for: reported, never adopted."""
    snapshot = machine.gpu.snapshot()
    known: set[int] = set()
    for view in state.services.values():
        known |= set(view.exited_pids) | set(machine.gpu_pids(snapshot, view.pid))
    found = []
    for proc in snapshot.processes:
        if proc.pid not in known:
            rec.fact(ev.UnmanagedProcessFound(pid=proc.pid, used_mb=proc.used_mb, name=proc.name))
            found.append(f"pid {proc.pid} ({proc.name or '?'}) holds {proc.used_mb} MB: "
                         "not started by gpumod, left alone")
    return found


def _finish(rec: Recorder, machine: Machine, target: str, previous: str | None) -> str:
    from gpumod.commands.sagas.switch import switch_mode  # switch imports this module's users

    try:
        result = switch_mode(rec, machine, target, rollback=True, fallback=previous)
    except Rejected as refused:
        if previous is None:
            return f"could not switch to {target!r} again: {refused.reason}"
        try:
            result = switch_mode(rec, machine, previous)
        except (Rejected, ActionFailed) as again:
            return f"could not restore {target!r} or {previous!r}: {again}"
    return f"switched again to {result.to_mode!r}: {result.status}"
