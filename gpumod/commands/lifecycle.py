"""Deciding lifecycle commands (pure): may this service start, stop, sleep or wake now?

VRAM rule of the architecture seed: before any start or wake, free VRAM (as the GPU reports it,
so other processes count) must cover the service's need plus a 512 MB margin. The need is the
VRAM measured on the service's earlier runs when the log has it, else its preset's vram_mb.
"""

from __future__ import annotations

from typing import Any

from gpumod.commands.errors import Rejected
from gpumod.events import catalogue as ev
from gpumod.projections.service_state import LIVE, TRANSITIONS
from gpumod.projections.state import ServiceView, State

VRAM_MARGIN_MB = 512
SLEEP_LEVELS = ("l1", "l2", "router")


def service(state: State, sid: str) -> ServiceView:
    view = state.services.get(sid)
    if view is None:
        raise Rejected("unknown_service", f"no service {sid!r} is registered "
                       f"(registered: {', '.join(sorted(state.services)) or 'none'})")
    return view


def vram_need(view: ServiceView) -> int:
    return view.measured_vram_mb or int(view.definition.get("vram_mb", 0))


def check_vram(sid: str, need_mb: int, free_mb: int, action: str) -> None:
    if free_mb < need_mb + VRAM_MARGIN_MB:
        raise Rejected("insufficient_vram", (
            f"cannot {action} {sid!r}: it needs {need_mb} MB + {VRAM_MARGIN_MB} MB margin, "
            f"but only {free_mb} MB of VRAM is free"))


def decide_start(state: State, sid: str, free_mb: int, backend: str) -> ev.ServiceStarting:
    view = service(state, sid)
    _check_allowed(view, "ServiceStarting", "start")
    _check_port(state, view)
    need = vram_need(view)
    check_vram(sid, need, free_mb, "start")
    return ev.ServiceStarting(service_id=sid, backend=backend, vram_needed_mb=need)


def decide_stop(state: State, sid: str) -> ev.ServiceStopping:
    view = service(state, sid)
    _check_allowed(view, "ServiceStopping", "stop")
    return ev.ServiceStopping(service_id=sid, reason="requested")


def sleep_level(view: ServiceView, requested: str | None) -> str:
    """The level to sleep at: the one asked for, else the preset's sleep mode."""
    definition = view.definition
    mode = definition.get("sleep_mode", "none")
    if not definition.get("supports_sleep", False) or mode == "none":
        raise Rejected("sleep_unsupported", f"service {view.id!r} does not support sleep "
                       "(its preset has supports_sleep false or sleep_mode none)")
    level = requested or mode
    allowed = ("router",) if mode == "router" else ("l1", "l2")
    if level not in allowed:
        raise Rejected("bad_sleep_level", f"service {view.id!r} sleeps at "
                       f"{' or '.join(allowed)}, not {level!r}")
    _check_allowed(view, "ServiceSlept", "sleep")
    return level


def check_wake(state: State, sid: str, free_mb: int, held_mb: int) -> None:
    """A sleeping service already holds `held_mb`; waking needs the rest, plus the margin."""
    view = service(state, sid)
    _check_allowed(view, "ServiceWoke", "wake")
    check_vram(sid, max(vram_need(view) - held_mb, 0), free_mb, "wake")


def start_order(state: State, sid: str) -> list[str]:
    """`sid` and the dependencies it needs started first, dependencies before dependents."""
    order: list[str] = []
    _visit(state, sid, order, trail=())
    return [s for s in order if s == sid or state.services[s].state not in LIVE]


def stop_order(state: State, sid: str) -> list[str]:
    """Live services depending on `sid` (directly or not), stopped before it, then `sid`."""
    dependents = [s for s in state.services if s != sid and sid in start_order_all(state, s)]
    live = [s for s in dependents if state.services[s].state in LIVE]
    return [*sorted(live, key=lambda s: -len(start_order_all(state, s))), sid]


def start_order_all(state: State, sid: str) -> list[str]:
    order: list[str] = []
    _visit(state, sid, order, trail=())
    return order


def _visit(state: State, sid: str, order: list[str], trail: tuple[str, ...]) -> None:
    if sid in trail:
        cycle = " -> ".join((*trail, sid))
        raise Rejected("dependency_cycle", f"depends_on forms a cycle: {cycle}")
    if sid in order:
        return
    view = service(state, sid)
    for dep in view.definition.get("depends_on", []):
        if dep not in state.services:
            raise Rejected("unknown_dependency",
                           f"service {sid!r} depends on {dep!r}, which is not registered")
        _visit(state, dep, order, (*trail, sid))
    order.append(sid)


def _check_allowed(view: ServiceView, event_type: str, verb: str) -> None:
    allowed, _ = TRANSITIONS[event_type]
    if view.state not in allowed:
        raise Rejected("invalid_transition", f"cannot {verb} {view.id!r}: it is {view.state} "
                       f"(possible only when {' or '.join(sorted(allowed))})")


def _check_port(state: State, view: ServiceView) -> None:
    port: Any = view.definition.get("port")
    clash = [other.id for other in state.services.values()
             if other.id != view.id and port is not None and other.state in LIVE | {"STOPPING"}
             and other.definition.get("port") == port]
    if clash:
        raise Rejected("port_in_use", f"cannot start {view.id!r}: port {port} belongs to "
                       f"{', '.join(clash)}, which is {state.services[clash[0]].state}")
