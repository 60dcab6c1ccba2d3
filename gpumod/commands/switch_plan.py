"""Planning a mode switch (pure): what to stop, sleep, wake and start, and whether it fits.

The fit is judged on VRAM that will be free, not on presets alone: what the GPU reports free
now (other processes count) plus what the services being stopped or slept really hold.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from gpumod.commands.errors import Rejected
from gpumod.commands.lifecycle import VRAM_MARGIN_MB, start_order_all, vram_need
from gpumod.projections.service_state import LIVE
from gpumod.projections.state import ServiceView, State

RESTART_FROM = frozenset({"FAILED", "UNHEALTHY", "STARTING", "STOPPING"})


@dataclass(frozen=True)
class Footprint:
    """One GPU reading: free VRAM, and what each live service's processes hold."""

    free_mb: int
    held_mb: dict[str, int] = field(default_factory=dict)
    releasing_mb: int = 0  # still held by processes of services already stopped


@dataclass(frozen=True)
class SwitchPlan:
    from_mode: str | None
    to_mode: str
    target: tuple[str, ...]
    stop: tuple[str, ...] = ()  # dependents first; orphans and restarts included
    sleep: tuple[str, ...] = ()
    wake: tuple[str, ...] = ()
    start: tuple[str, ...] = ()  # dependencies first; restarts included
    restart: tuple[str, ...] = ()
    orphans: tuple[str, ...] = ()
    keep: tuple[str, ...] = ()
    needs_mb: dict[str, int] = field(default_factory=dict)  # per service woken or started
    free_now_mb: int = 0
    freed_mb: int = 0

    @property
    def needed_mb(self) -> int:
        return sum(self.needs_mb.values())

    @property
    def free_after_mb(self) -> int:
        return self.free_now_mb + self.freed_mb

    @property
    def fits(self) -> bool:
        return self.needed_mb == 0 or self.free_after_mb >= self.needed_mb + VRAM_MARGIN_MB


def mode_services(state: State, mode_id: str) -> list[str]:
    mode = state.modes.get(mode_id)
    if mode is None:
        raise Rejected("unknown_mode", f"no mode {mode_id!r} is defined "
                       f"(defined: {', '.join(sorted(state.modes)) or 'none'})")
    return list(mode.definition.get("services", []))


def with_dependencies(state: State, services: list[str]) -> tuple[str, ...]:
    """`services` and what they depend on, dependencies first."""
    order: list[str] = []
    for sid in services:
        order += [s for s in start_order_all(state, sid) if s not in order]
    return tuple(order)


def sleep_footprint(view: ServiceView) -> int:
    """What a service holds asleep: measured on its last sleep, else a cautious guess."""
    if view.sleep_vram_mb is not None:
        return view.sleep_vram_mb
    return max(512, vram_need(view) // 10)


def plan_switch(state: State, to_mode: str, now: Footprint,
                target: tuple[str, ...] | None = None,
                needs: dict[str, int] | None = None) -> SwitchPlan:
    """`needs` overrides what a service needs (a simulation with another context size)."""
    target = target if target is not None else with_dependencies(
        state, mode_services(state, to_mode))
    live = [s for s, v in state.services.items() if v.state in LIVE | {"STOPPING"}]
    previous = set(mode_services(state, state.active_mode)) if state.active_mode in state.modes \
        else set()
    leaving = [s for s in live if s not in target]
    orphans = [s for s in leaving if s not in previous]  # in neither mode
    sleepers = [s for s in leaving if s in previous and _can_sleep(state.services[s])]
    outgoing = [s for s in leaving if s in previous and s not in sleepers]
    restart = [s for s in target if state.services[s].state in RESTART_FROM]
    # A failed service whose process is gone needs only a start; the others are stopped first.
    to_stop = [s for s in restart if state.services[s].state != "FAILED"
               or state.services[s].pid is not None]
    demoted: list[str] = []  # outgoing sleepers that do not leave room: stopped instead
    while True:
        plan = _plan(state, to_mode, target, now, [*orphans, *outgoing, *demoted, *to_stop],
                     sleepers, restart, orphans, needs or {})
        if plan.fits or not sleepers:
            return plan
        biggest = max(sleepers, key=lambda s: sleep_footprint(state.services[s]))
        sleepers.remove(biggest)
        demoted.append(biggest)


def _plan(state: State, to_mode: str, target: tuple[str, ...], now: Footprint,
          stops: list[str], sleepers: list[str], restart: list[str],
          orphans: list[str], overrides: dict[str, int]) -> SwitchPlan:
    services = state.services

    def need(sid: str) -> int:
        return overrides.get(sid, vram_need(services[sid]))

    sleep = [s for s in sleepers if services[s].state == "RUNNING"]
    wake = [s for s in target if services[s].state == "SLEEPING"]
    start = [s for s in target if services[s].state == "STOPPED" or s in restart]
    needs = {s: need(s) for s in start}
    needs |= {s: max(need(s) - now.held_mb.get(s, 0), 0) for s in wake}
    freed = now.releasing_mb + sum(now.held_mb.get(s, 0) for s in stops)
    freed += sum(max(now.held_mb.get(s, 0) - sleep_footprint(services[s]), 0) for s in sleep)
    return SwitchPlan(
        from_mode=state.active_mode, to_mode=to_mode, target=target,
        stop=_stop_order(state, stops), sleep=tuple(sleep), wake=tuple(wake),
        start=tuple(start), restart=tuple(restart), orphans=tuple(orphans),
        keep=tuple(s for s in target if s not in start and s not in wake),
        needs_mb=needs, free_now_mb=now.free_mb, freed_mb=freed)


def _stop_order(state: State, stops: list[str]) -> tuple[str, ...]:
    """Dependents before what they depend on."""
    everything = with_dependencies(state, sorted(state.services))
    return tuple(s for s in reversed(everything) if s in stops)


def _can_sleep(view: ServiceView) -> bool:
    definition = view.definition
    return bool(definition.get("supports_sleep")) and definition.get("sleep_mode") != "none" \
        and view.state in ("RUNNING", "SLEEPING")


def preflight_refusal(plan: SwitchPlan) -> Rejected:
    return Rejected("insufficient_vram", (
        f"cannot switch to {plan.to_mode!r}: it needs {plan.needed_mb} MB + {VRAM_MARGIN_MB} MB "
        f"margin, but only {plan.free_after_mb} MB would be free ({plan.free_now_mb} MB free "
        f"now + {plan.freed_mb} MB released by the services it stops or sleeps); nothing was "
        "touched"))
