"""Stopping a service: what depends on it first, then it; each stop recorded before and after."""

from __future__ import annotations

from gpumod.adapters.process.base import ProcessError
from gpumod.commands import lifecycle
from gpumod.commands.current_state import current_state
from gpumod.commands.errors import Rejected
from gpumod.commands.machine import ActionFailed, Machine
from gpumod.commands.recorder import Recorder
from gpumod.events import catalogue as ev

STOP_TIMEOUT_S = 30.0


def stop_with_dependents(rec: Recorder, machine: Machine, sid: str) -> list[str]:
    """Stop `sid` after the live services that depend on it; returns what was stopped."""
    state = current_state(rec.store)
    try:
        order = lifecycle.stop_order(state, sid)
        lifecycle.service(state, sid)
    except Rejected as rejected:
        rec.reject(rejected)
        raise
    for each in order:
        stop_one(rec, machine, each)
    return order


def stop_one(rec: Recorder, machine: Machine, sid: str) -> None:
    stopping = rec.decide(lambda state: [lifecycle.decide_stop(state, sid)])
    pid = current_state(rec.store).services[sid].pid if stopping else None
    pids = machine.gpu_pids(machine.gpu.snapshot(), pid)
    try:
        info = machine.backend.stop(sid, timeout_s=STOP_TIMEOUT_S)
    except ProcessError as exc:
        rec.fact(ev.ServiceStopFailed(service_id=sid, reason=str(exc)))
        raise ActionFailed(f"{sid}: stop failed: {exc}") from None
    rec.fact(ev.ServiceStopped(service_id=sid, exit_code=info.exit_code, pids=pids))
