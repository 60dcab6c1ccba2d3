"""Mode switches: the active mode, the switch in progress, and each switch's timeline of steps.

Every event sharing a switch's correlation id (stops, starts, VRAM waits in other streams)
becomes a step of that switch's timeline.
"""

from __future__ import annotations

from typing import Any

from gpumod.events import catalogue as ev
from gpumod.projections.envelope import Envelope
from gpumod.projections.state import State, Step, SwitchTimeline

OPENING = ev.ModeSwitchRequested.type_name  # the first step of its own timeline
ENDINGS = {"ModeSwitchCompleted": "completed", "ModeSwitchFailed": "failed",
           "ModeSwitchInterrupted": "interrupted"}


def apply_switch(state: State, fields: dict[str, Any], rec: Envelope) -> None:
    sid = fields["switch_id"]
    match rec.type:
        case ev.ModeSwitchRequested.type_name:
            state.switches[sid] = SwitchTimeline(sid, rec.correlation_id, fields["from_mode"],
                                                 fields["to_mode"], started_at=rec.recorded_at)
            state.switch_in_progress = sid
            if rec.correlation_id:
                state.open_correlations[rec.correlation_id] = sid
        case ev.ModeSwitchCompleted.type_name:
            _end(state, sid, rec, None)
            state.active_mode = fields["to_mode"]
        case ev.ModeSwitchFailed.type_name:
            _end(state, sid, rec, fields["reason"])
            state.active_mode = None
        case ev.ModeSwitchRolledBack.type_name:
            state.active_mode = fields["restored_mode"]
            if (timeline := state.switches.get(sid)) is not None:
                timeline.status = "rolled_back"
        case ev.ModeSwitchInterrupted.type_name:
            _end(state, sid, rec, "gpumod stopped during the switch")
            state.active_mode = fields["resolved_mode"]


def add_step(state: State, rec: Envelope, data: dict[str, Any]) -> None:
    """Attach any event of an open switch's correlation to its timeline, its data as stored.

    The fold calls it for every event while a switch is open, and for the request itself once
    apply_switch has opened its timeline.
    """
    sid = state.open_correlations.get(rec.correlation_id or "")
    if sid is not None and (timeline := state.switches.get(sid)) is not None:
        timeline.steps.append(Step(rec.position, rec.recorded_at, rec.type, rec.stream, data))


def _end(state: State, sid: str, rec: Envelope, reason: str | None) -> None:
    timeline = state.switches.get(sid)
    if timeline is None:
        return
    timeline.status, timeline.ended_at, timeline.reason = ENDINGS[rec.type], rec.recorded_at, reason
    if state.switch_in_progress == sid:
        state.switch_in_progress = None
    if timeline.correlation_id:
        state.open_correlations.pop(timeline.correlation_id, None)
