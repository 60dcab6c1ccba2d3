"""What a mode (or a set of services) would need, whether it fits, and what would make it fit.

Pure: works on the state and one GPU reading, and appends nothing. The figures are the ones a
switch's pre-flight check would use, so a simulation that fits is a switch that will start.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from gpumod.commands.lifecycle import VRAM_MARGIN_MB, vram_need
from gpumod.commands.switch_plan import Footprint, SwitchPlan, plan_switch, sleep_footprint
from gpumod.projections.state import ServiceView, State

MIN_CONTEXT = 512
ORDER = {"sleep": 0, "shorten-context": 1, "drop": 2}  # least disruptive first


class SimulationError(ValueError):
    """An argument the simulation cannot use; the message names it."""


@dataclass(frozen=True)
class ServiceNeed:
    id: str
    action: str  # start, wake, keep
    reserved_mb: int  # the preset's vram_mb
    measured_mb: int | None
    need_mb: int  # what the plan counts


@dataclass(frozen=True)
class Alternative:
    action: str
    service: str
    saves_mb: int
    fits: bool
    detail: str


@dataclass(frozen=True)
class Simulation:
    label: str
    plan: SwitchPlan
    services: list[ServiceNeed]
    alternatives: list[Alternative] = field(default_factory=list)
    margin_mb: int = VRAM_MARGIN_MB


def simulate(state: State, now: Footprint, label: str, target: tuple[str, ...],
             contexts: dict[str, int] | None = None) -> Simulation:
    needs = {sid: context_need(state, sid, tokens) for sid, tokens in (contexts or {}).items()}
    plan = plan_switch(state, label, now, target, needs)
    rows = [_row(state.services[s], plan, needs) for s in plan.target]
    alternatives = [] if plan.fits else _alternatives(state, plan, now)
    return Simulation(label, plan, rows, alternatives)


def context_need(state: State, sid: str, tokens: int) -> int:
    view = state.services.get(sid)
    if view is None or tokens < 1:
        raise SimulationError(f"--context {sid}={tokens}: expected a registered service and a "
                              "positive number of tokens")
    kv, size = view.definition.get("kv_cache_per_1k"), view.definition.get("context_size")
    if not kv or not size:
        raise SimulationError(f"--context {sid}={tokens}: its preset has no kv_cache_per_1k and "
                              "context_size, so gpumod cannot tell what a context costs")
    return max(vram_need(view) - int(kv) * (int(size) - tokens) // 1000, 0)


def _row(view: ServiceView, plan: SwitchPlan, needs: dict[str, int]) -> ServiceNeed:
    action = "start" if view.id in plan.start else "wake" if view.id in plan.wake else "keep"
    need = plan.needs_mb.get(view.id, needs.get(view.id, vram_need(view)))
    return ServiceNeed(view.id, action, int(view.definition.get("vram_mb", 0)),
                       view.measured_vram_mb, need)


def _alternatives(state: State, plan: SwitchPlan, now: Footprint) -> list[Alternative]:
    short = plan.needed_mb + VRAM_MARGIN_MB - plan.free_after_mb
    found = [_alt("drop", s, saved, short, f"leave {s} out") for s, saved in plan.needs_mb.items()]
    for sid in plan.keep:
        view = state.services[sid]
        held = now.held_mb.get(sid, 0)
        if view.state == "RUNNING" and view.definition.get("supports_sleep") and held:
            saved = max(held - sleep_footprint(view), 0)
            found.append(_alt("sleep", sid, saved, short, f"sleep {sid} (keeps it warm)"))
    for sid in plan.start:
        found += _shorter_context(state.services[sid], short)
    return sorted(found, key=lambda a: (not a.fits, ORDER[a.action], -a.saves_mb))


def _shorter_context(view: ServiceView, short: int) -> list[Alternative]:
    kv, size = view.definition.get("kv_cache_per_1k"), view.definition.get("context_size")
    if not kv or not size:
        return []
    tokens = int(size) - math.ceil(short * 1000 / int(kv))
    if tokens < MIN_CONTEXT:
        return []
    saved = int(kv) * (int(size) - tokens) // 1000
    return [_alt("shorten-context", view.id, saved, short,
                 f"run {view.id} with --context {view.id}={tokens} (was {size})")]


def _alt(action: str, sid: str, saved: int, short: int, detail: str) -> Alternative:
    return Alternative(action, sid, saved, saved >= short, detail)
