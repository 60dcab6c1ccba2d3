"""Plans, simulations, switches and the mode status as plain dicts: JSON for tools, text for CLI."""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime
from typing import Any

from gpumod.commands.simulate import Simulation
from gpumod.commands.switch_plan import SwitchPlan
from gpumod.projections.state import State, SwitchTimeline


def plan_dict(plan: SwitchPlan) -> dict[str, Any]:
    return asdict(plan) | {"needed_mb": plan.needed_mb, "free_after_mb": plan.free_after_mb,
                           "fits": plan.fits}


def simulation_dict(simulation: Simulation) -> dict[str, Any]:
    return {"target": simulation.label, "fits": simulation.plan.fits,
            "margin_mb": simulation.margin_mb, "plan": plan_dict(simulation.plan),
            "services": [asdict(s) for s in simulation.services],
            "alternatives": [asdict(a) for a in simulation.alternatives]}


def timeline_dict(timeline: SwitchTimeline) -> dict[str, Any]:
    """The switch with each step's duration: the time since the step before, so a step that
    ends an action (ServiceBecameHealthy, VramReleased, ServiceWoke) shows how long it took."""
    times = [_parse(step.at) for step in timeline.steps]
    steps = []
    for index, step in enumerate(timeline.steps):
        duration = (times[index] - times[index - 1]).total_seconds() * 1000 if index else 0.0
        steps.append({"position": step.position, "at": step.at, "type": step.type,
                      "stream": step.stream, "detail": step.detail,
                      "duration_ms": round(duration, 3)})
    end = _parse(timeline.ended_at) if timeline.ended_at else None
    total = (end - _parse(timeline.started_at)).total_seconds() * 1000 if end else None
    return {"switch_id": timeline.switch_id, "correlation_id": timeline.correlation_id,
            "from_mode": timeline.from_mode, "to_mode": timeline.to_mode,
            "status": timeline.status, "started_at": timeline.started_at,
            "ended_at": timeline.ended_at, "reason": timeline.reason,
            "duration_ms": None if total is None else round(total, 3), "steps": steps}


def mode_status(state: State) -> dict[str, Any]:
    current = state.switches.get(state.switch_in_progress or "")
    last = max(state.switches.values(), key=lambda t: t.started_at, default=None)
    return {"active_mode": state.active_mode,
            "switch_in_progress": timeline_dict(current) if current else None,
            "last_switch": timeline_dict(last) if last and last is not current else None}


def _parse(at: str) -> datetime:
    return datetime.fromisoformat(at)
