"""The service state machine of the architecture seed, as a table of allowed transitions.

STOPPED -> STARTING -> RUNNING; RUNNING -> SLEEPING | STOPPING | UNHEALTHY; SLEEPING wakes to
RUNNING; UNHEALTHY recovers to RUNNING or is stopped; STOPPING -> STOPPED; FAILED is where a
start, stop or crash ends, and a service leaves it by starting again or being stopped.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from gpumod.projections.envelope import Envelope
from gpumod.projections.state import Anomaly, ServiceView, State

STATES = ("STOPPED", "STARTING", "RUNNING", "SLEEPING", "STOPPING", "UNHEALTHY", "FAILED")
LIVE = frozenset({"STARTING", "RUNNING", "SLEEPING", "UNHEALTHY"})

# event type -> (states it may happen in, state it leads to)
TRANSITIONS: dict[str, tuple[frozenset[str], str]] = {
    "ServiceStarting": (frozenset({"STOPPED", "FAILED"}), "STARTING"),
    "ServiceBecameHealthy": (frozenset({"STARTING"}), "RUNNING"),
    "ServiceStartFailed": (frozenset({"STARTING"}), "FAILED"),
    "ServiceStopping": (LIVE | {"FAILED"}, "STOPPING"),
    "ServiceStopped": (frozenset({"STOPPING"}), "STOPPED"),
    "ServiceStopFailed": (frozenset({"STOPPING"}), "FAILED"),
    "ServiceSlept": (frozenset({"RUNNING"}), "SLEEPING"),
    "ServiceSleepFailed": (frozenset({"RUNNING"}), "RUNNING"),
    "ServiceWoke": (frozenset({"SLEEPING"}), "RUNNING"),
    "ServiceWakeFailed": (frozenset({"SLEEPING"}), "SLEEPING"),
    "ServiceBecameUnhealthy": (frozenset({"RUNNING"}), "UNHEALTHY"),
    "ServiceRecovered": (frozenset({"UNHEALTHY"}), "RUNNING"),
    "ServiceCrashed": (LIVE | {"STOPPING"}, "FAILED"),
}


class TransitionRefused(ValueError):
    pass


def check_transition(current: str, event_type: str) -> str:
    """The state after `event_type`, or TransitionRefused saying what would be allowed."""
    allowed, target = TRANSITIONS[event_type]
    if current not in allowed:
        raise TransitionRefused(
            f"a service in state {current} cannot go through {event_type} "
            f"(allowed from: {', '.join(sorted(allowed))})"
        )
    return target


def apply_lifecycle(state: State, fields: dict[str, Any], rec: Envelope) -> None:
    view = state.services.get(fields["service_id"])
    if view is None:
        _flag(state, rec, f"{rec.type} for unknown service {fields['service_id']!r}")
        return
    if rec.type == "ServiceStateReconciled":
        target = fields["state"]
    else:
        allowed, target = TRANSITIONS[rec.type]
        if view.state not in allowed:
            _flag(state, rec, str(_refusal(view.state, rec.type)))
            return
    if target != view.state:
        view.since = rec.recorded_at
        view.state = target
    detail = _DETAILS.get(rec.type)
    if detail is not None:
        detail(view, fields)
    # A failed stop may leave the process holding memory: keep its pid and reservation.
    if target == "STOPPED" or (target == "FAILED" and rec.type != "ServiceStopFailed"):
        view.pid = view.sleep_level = None
        state.vram.reservations.pop(view.id, None)
    elif rec.type == "ServiceStarting":
        state.vram.reservations[view.id] = fields["vram_needed_mb"]


def apply_launched(state: State, fields: dict[str, Any], rec: Envelope) -> None:
    view = state.services.get(fields["service_id"])
    if view is None or view.state != "STARTING":
        _flag(state, rec, "process launched for a service that is not STARTING")
        return
    view.pid = fields["pid"]


def _refusal(current: str, event_type: str) -> TransitionRefused:
    try:
        check_transition(current, event_type)
    except TransitionRefused as refused:
        return refused
    raise AssertionError("unreachable")


def _starting(view: ServiceView, fields: dict[str, Any]) -> None:
    view.pid, view.last_error = fields["pid"], None


def _stopped(view: ServiceView, fields: dict[str, Any]) -> None:
    view.exited_pids = list(fields["pids"])


def _slept(view: ServiceView, fields: dict[str, Any]) -> None:
    view.sleep_level = fields["level"]
    if fields["vram_held_mb"] is not None:
        view.sleep_vram_mb = fields["vram_held_mb"]


def _woke(view: ServiceView, fields: dict[str, Any]) -> None:
    view.sleep_level = None


def _failed(view: ServiceView, fields: dict[str, Any]) -> None:
    view.last_error = fields["reason"]


def _unhealthy(view: ServiceView, fields: dict[str, Any]) -> None:
    view.last_error = fields["last_error"]


def _crashed(view: ServiceView, fields: dict[str, Any]) -> None:
    view.last_error = f"process exited (code {fields['exit_code']})"


_DETAILS: dict[str, Callable[[ServiceView, dict[str, Any]], None]] = {
    "ServiceStarting": _starting,
    "ServiceStopped": _stopped,
    "ServiceSlept": _slept,
    "ServiceWoke": _woke,
    "ServiceStartFailed": _failed,
    "ServiceStopFailed": _failed,
    "ServiceBecameUnhealthy": _unhealthy,
    "ServiceCrashed": _crashed,
}


def _flag(state: State, rec: Envelope, message: str) -> None:
    state.anomalies.append(Anomaly(rec.position, rec.stream, rec.type, message))
