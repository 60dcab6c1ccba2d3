"""What a post-mortem concludes from a timeline's steps (pure): how the switch ended, which
protection fired, what failed and what it printed, each OOM, and reserved vs measured VRAM."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from gpumod.projections.state import Step

# ModeSwitchFailed.protection as the switch saga writes it -> the name the architecture uses.
PROTECTION_NAMES = {"preflight": "pre-flight VRAM check", "pre-flight": "pre-flight VRAM check",
                    "release-wait": "release wait", "start-vram-check": "driver VRAM check"}
SERVICE_FAILURES = ("ServiceStartFailed", "ServiceCrashed", "ServiceWakeFailed",
                    "ServiceStopFailed")
ENDINGS = {"ModeSwitchCompleted": "completed", "ModeSwitchFailed": "failed",
           "ModeSwitchRolledBack": "rolled back", "ModeSwitchInterrupted": "interrupted"}
OOM_FIELDS = ("service_id", "evidence", "free_mb", "total_mb", "needed_mb", "processes")


def switch(steps: Sequence[Step]) -> dict[str, Any] | None:
    # The first switch requested is the one examined: a rollback reuses its correlation id.
    first = next((s for s in steps if s.type == "ModeSwitchRequested"), None)
    if first is None:
        return None
    sid = first.detail.get("switch_id")
    ends = [s for s in steps if s.type in ENDINGS and s.detail.get("switch_id") == sid]
    failed = next((s for s in ends if s.type == "ModeSwitchFailed"), None)
    return {"switch_id": sid, "from_mode": first.detail.get("from_mode"),
            "to_mode": first.detail.get("to_mode"),
            "status": ENDINGS[ends[-1].type] if ends else "in progress",
            "reason": failed.detail.get("reason") if failed else None}


def outcome(steps: Sequence[Step]) -> str:
    switched = switch(steps)
    if switched is not None:
        return str(switched["status"])
    types = {s.type for s in steps}
    for type_, verdict in (("CommandRejected", "refused"), ("ServiceCrashed", "crashed"),
                           *((t, "failed") for t in SERVICE_FAILURES)):
        if type_ in types:
            return verdict
    return "ok"


def protection(steps: Sequence[Step]) -> dict[str, Any] | None:
    """The first guard that fired; a switch's own verdict (ModeSwitchFailed) only if none did."""
    requested = False
    for step in steps:
        requested = requested or step.type == "ModeSwitchRequested"
        name = _fired(step, requested)
        if name is not None:
            return _protection(name, step)
    failed = [s for s in steps if s.type == "ModeSwitchFailed" and s.detail.get("protection")]
    if not failed:
        return None
    named = str(failed[0].detail["protection"])
    return _protection(PROTECTION_NAMES.get(named, named), failed[0])


def failure(steps: Sequence[Step]) -> dict[str, Any] | None:
    """The last service failure, with its log tail (the OOM event's when it kept none)."""
    failed = [s for s in steps if s.type in SERVICE_FAILURES]
    ooms = [s for s in steps if s.type == "OomDetected"]
    if not failed and not ooms:
        return None
    last = (failed or ooms)[-1]
    sid = last.detail.get("service_id")
    oom = next((s for s in reversed(ooms) if s.detail.get("service_id") == sid), None)
    tail = last.detail.get("log_tail") or (oom.detail.get("log_tail") if oom else None) or []
    return {"service_id": sid, "type": last.type, "position": last.position,
            "reason": last.detail.get("reason"), "exit_code": last.detail.get("exit_code"),
            "oom": oom is not None, "log_tail": list(tail)}


def ooms(steps: Sequence[Step]) -> list[dict[str, Any]]:
    # The log tail is left to `failure`: one copy of it is enough.
    return [{"position": s.position, **{k: s.detail.get(k) for k in OOM_FIELDS}}
            for s in steps if s.type == "OomDetected"]


def reserved_vs_measured(steps: Sequence[Step]) -> list[dict[str, Any]]:
    """Per service: what its start reserved (the need checked against free VRAM) and what its
    processes really held once healthy; an OOM's need stands in when no start is in view."""
    rows: dict[str, dict[str, Any]] = {}
    for step in steps:
        sid, d = step.detail.get("service_id"), step.detail
        if sid is None:
            continue
        row = rows.setdefault(sid, {"service_id": sid, "reserved_mb": None, "measured_mb": None})
        if step.type == "ServiceStarting":
            row["reserved_mb"] = d.get("vram_needed_mb")
        elif step.type == "OomDetected" and row["reserved_mb"] is None:
            row["reserved_mb"] = d.get("needed_mb")
        elif step.type == "ServiceVramMeasured":
            row["measured_mb"] = d.get("vram_mb")
    return [r for r in rows.values() if r["reserved_mb"] is not None or r["measured_mb"]]


def _fired(step: Step, requested: bool) -> str | None:
    if step.type == "VramReleaseTimedOut":
        return "release wait"
    if step.type != "CommandRejected" or step.detail.get("code") != "insufficient_vram":
        return None
    # Refused before a switch began, by a switch command: the plan's fit (protection 1); any
    # other refusal for VRAM is the check before one start or wake (protection 3).
    before_switch = not requested and "switch" in str(step.detail.get("command", "")).lower()
    return "pre-flight VRAM check" if before_switch else "driver VRAM check"


def _protection(name: str, step: Step) -> dict[str, Any]:
    return {"name": name, "type": step.type, "position": step.position,
            "reason": step.detail.get("reason") or _release_reason(step.detail)}


def _release_reason(d: dict[str, Any]) -> str | None:
    if "needed_mb" not in d:
        return None
    return (f"{d['needed_mb']} MB needed, {d.get('free_mb')} MB free after waiting "
            f"{d.get('waited_ms', 0)} ms")
