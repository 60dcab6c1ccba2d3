"""Sleeping and waking a service through its driver (vLLM levels, llama.cpp router)."""

from __future__ import annotations

from typing import Any

from gpumod.adapters.drivers.base import DriverError
from gpumod.commands import lifecycle
from gpumod.commands.current_state import current_state
from gpumod.commands.errors import Rejected
from gpumod.commands.machine import ActionFailed, Machine
from gpumod.commands.recorder import Recorder
from gpumod.commands.sagas.release import await_releasing
from gpumod.events import catalogue as ev


def sleep_service(rec: Recorder, machine: Machine, sid: str, level: str | None) -> str:
    state = current_state(rec.store)
    try:
        view = lifecycle.service(state, sid)
        chosen = lifecycle.sleep_level(view, level)
    except Rejected as rejected:
        rec.reject(rejected)
        raise
    definition = view.definition
    try:
        machine.driver_for(str(definition["driver"])).sleep(definition, chosen)
    except DriverError as exc:
        rec.fact(ev.ServiceSleepFailed(service_id=sid, level=chosen,
                                       reason=str(exc), http_status=exc.status))
        raise ActionFailed(f"{sid}: sleep failed: {exc}") from None
    held = machine.held_mb(machine.gpu.snapshot(), view.pid)
    rec.fact(ev.ServiceSlept(service_id=sid, level=chosen, vram_held_mb=held))
    return chosen


def wake_service(rec: Recorder, machine: Machine, sid: str) -> int:
    """Wake `sid` once VRAM allows; returns how long the wake took, in ms."""
    state = current_state(rec.store)
    if (sleeping := state.services.get(sid)) is not None:
        held = machine.held_mb(machine.gpu.snapshot(), sleeping.pid)
        need = max(lifecycle.vram_need(sleeping) - held, 0) + lifecycle.VRAM_MARGIN_MB
        await_releasing(rec, machine, state, need)
    snapshot = machine.gpu.snapshot()
    try:
        view = lifecycle.service(state, sid)
        lifecycle.check_wake(state, sid, snapshot.free_mb, machine.held_mb(snapshot, view.pid))
    except Rejected as rejected:
        rec.reject(rejected)
        raise
    definition: dict[str, Any] = view.definition
    began = machine.monotonic()
    try:
        machine.driver_for(str(definition["driver"])).wake(definition, view.sleep_level)
    except DriverError as exc:
        rec.fact(ev.ServiceWakeFailed(service_id=sid, reason=str(exc), http_status=exc.status))
        raise ActionFailed(f"{sid}: wake failed: {exc}") from None
    elapsed_ms = int((machine.monotonic() - began) * 1000)
    rec.fact(ev.ServiceWoke(service_id=sid, elapsed_ms=elapsed_ms))
    return elapsed_ms
