"""Switching modes: plan, pre-flight check, stops and sleeps, release wait, wakes and starts.

Every step is an event under the switch's correlation id. The three VRAM protections: the
pre-flight fit of the whole plan (refused before anything is touched), the wait for released
memory after stops (a timeout fails the switch), and each start's or wake's own check.
"""

from __future__ import annotations

from dataclasses import dataclass

from gpumod.commands.current_state import current_state
from gpumod.commands.errors import Rejected
from gpumod.commands.lifecycle import VRAM_MARGIN_MB
from gpumod.commands.machine import ActionFailed, Machine
from gpumod.commands.recorder import Recorder
from gpumod.commands.sagas.release import (
    RELEASE_TIMEOUT_S,
    ReleaseTimedOut,
    await_free_vram,
    releasing_mb,
)
from gpumod.commands.sagas.sleep_wake import sleep_service, wake_service
from gpumod.commands.sagas.start import start_one, wait_ready
from gpumod.commands.sagas.stop import stop_one
from gpumod.commands.switch_plan import Footprint, SwitchPlan, plan_switch, preflight_refusal
from gpumod.events import catalogue as ev
from gpumod.events.base import Event
from gpumod.projections.service_state import LIVE
from gpumod.projections.state import State


@dataclass(frozen=True)
class SwitchResult:
    switch_id: str
    to_mode: str
    status: str  # completed, failed, rolled_back
    duration_ms: int
    reason: str | None = None
    plan: SwitchPlan | None = None


def switch_mode(rec: Recorder, machine: Machine, mode_id: str, *, rollback: bool = False,
                fallback: str | None = None,
                release_timeout_s: float = RELEASE_TIMEOUT_S) -> SwitchResult:
    """Switch to `mode_id`; on a failed step, with `rollback`, restore `fallback` (default: the
    mode active before). Raises Rejected (recorded) when refused before anything is touched."""
    began, switch_id = machine.monotonic(), rec.new_id()
    plan = _request(rec, machine, switch_id, mode_id, rollback)
    try:
        _execute(rec, machine, plan, release_timeout_s)
    except (ActionFailed, Rejected) as failure:
        _record_failure(rec, switch_id, mode_id, failure)
        restore = fallback if fallback is not None else plan.from_mode
        status = _roll_back(rec, machine, switch_id, plan, restore) if rollback else "failed"
        return SwitchResult(switch_id, mode_id, status, _ms_since(machine, began),
                            str(failure), plan)
    duration = _ms_since(machine, began)
    rec.fact(ev.ModeSwitchCompleted(switch_id=switch_id, to_mode=mode_id, duration_ms=duration))
    return SwitchResult(switch_id, mode_id, "completed", duration, None, plan)


def footprint(machine: Machine, state: State) -> Footprint:
    snapshot = machine.gpu.snapshot()
    held = {sid: machine.held_mb(snapshot, view.pid) for sid, view in state.services.items()
            if view.pid is not None}
    return Footprint(snapshot.free_mb, held, releasing_mb(state, snapshot))


def _request(rec: Recorder, machine: Machine, switch_id: str, mode_id: str,
             rollback: bool) -> SwitchPlan:
    planned: list[SwitchPlan] = []

    def decide(state: State) -> list[Event]:
        if state.switch_in_progress is not None:
            raise Rejected("switch_in_progress", f"switch {state.switch_in_progress} is "
                           "unfinished; it must be recovered first")
        now = footprint(machine, state)
        plan = plan_switch(state, mode_id, now)
        if not plan.fits:
            raise preflight_refusal(plan)
        planned[:] = [plan]
        return [ev.ModeSwitchRequested(switch_id=switch_id, from_mode=state.active_mode,
                                       to_mode=mode_id, rollback=rollback),
                ev.ModeSwitchPlanned(
                    switch_id=switch_id, stop=list(plan.stop), sleep=list(plan.sleep),
                    wake=list(plan.wake), start=list(plan.start), restart=list(plan.restart),
                    orphans=list(plan.orphans), needed_mb=plan.needed_mb, free_mb=now.free_mb)]

    rec.decide(decide)
    return planned[0]


def _execute(rec: Recorder, machine: Machine, plan: SwitchPlan, release_timeout_s: float) -> None:
    for sid in plan.stop:
        stop_one(rec, machine, sid)
    for sid in plan.sleep:
        sleep_service(rec, machine, sid, None)
    if plan.needed_mb:  # everything that comes next, not only the largest service
        await_free_vram(rec, machine, plan.needed_mb + VRAM_MARGIN_MB, release_timeout_s)
    for sid in plan.wake:
        wake_service(rec, machine, sid)
    for sid in plan.start:
        start_one(rec, machine, sid)
    _check_kept(rec, machine, plan)


def _check_kept(rec: Recorder, machine: Machine, plan: SwitchPlan) -> None:
    """Services the switch keeps must answer too: the log may not know one stopped serving."""
    state = current_state(rec.store)
    for sid in plan.keep:
        definition = state.services[sid].definition
        outcome = wait_ready(machine, machine.driver_for(str(definition["driver"])), sid,
                             definition)
        if not outcome.ready:
            raise ActionFailed(f"{sid} is kept by this switch but does not serve: "
                               f"{outcome.reason}")


def _record_failure(rec: Recorder, switch_id: str, mode_id: str,
                    failure: ActionFailed | Rejected) -> None:
    state = current_state(rec.store)
    running = sorted(s for s, v in state.services.items() if v.state in LIVE)
    rec.fact(ev.ModeSwitchFailed(switch_id=switch_id, to_mode=mode_id, reason=str(failure),
                                 protection=_protection(failure), running=running))


def _protection(failure: ActionFailed | Rejected) -> str | None:
    if isinstance(failure, ReleaseTimedOut):
        return "release-wait"
    if isinstance(failure, Rejected) and failure.code == "insufficient_vram":
        return "start-vram-check"
    return None


def _roll_back(rec: Recorder, machine: Machine, switch_id: str, plan: SwitchPlan,
               restore: str | None) -> str:
    """Put the previous mode back (or, with none, stop what this switch started)."""
    restored: str | None = None
    try:
        if restore is not None:
            back = switch_mode(rec, machine, restore)
            restored = restore if back.status == "completed" else None
        else:
            _stop_started(rec, machine, plan)
    except (ActionFailed, Rejected):
        restored = None
    rec.fact(ev.ModeSwitchRolledBack(switch_id=switch_id, restored_mode=restored))
    return "rolled_back" if restored is not None or restore is None else "failed"


def _stop_started(rec: Recorder, machine: Machine, plan: SwitchPlan) -> None:
    state = current_state(rec.store)
    for sid in reversed(plan.start):
        if state.services[sid].state in LIVE:
            stop_one(rec, machine, sid)


def _ms_since(machine: Machine, began: float) -> int:
    return int((machine.monotonic() - began) * 1000)
