"""The post-mortem of one switch or incident: every event sharing its correlation id as a step,
with its time, how long until the next step, VRAM free/used at that moment (the last reading
carried forward), plus what postmortem_findings concludes.

Built from recorded events or a switch's timeline, without I/O; `postmortem_report` is the one
entry point that reads the log (for the CLI and the MCP server), and returns JSON-ready data.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from gpumod.commands import postmortem_findings as find
from gpumod.events.query import EventFilter
from gpumod.projections.state import Step, SwitchTimeline

if TYPE_CHECKING:
    from gpumod.events.base import RecordedEvent
    from gpumod.events.store import EventStore

FAILURES = ("ModeSwitchFailed", "ServiceStartFailed", "ServiceCrashed", "OomDetected",
            "CommandRejected")


class NoSuchIncident(ValueError):
    """Nothing in the log for the correlation id asked about (or no failure at all)."""


def postmortem_report(store: EventStore, correlation_id: str | None) -> dict[str, Any]:
    """The report of `correlation_id` (a switch id works too); None: the latest failure."""
    cid = correlation_id or last_failure(store.read(EventFilter(types=FAILURES)))
    if cid is None:
        raise NoSuchIncident("no failure is recorded: nothing to examine")
    events = list(store.read(EventFilter(correlation_id=cid)))
    if not events:  # perhaps the switch id a `mode switch` printed
        cid = _switch_correlation(store, cid) or cid
        events = list(store.read(EventFilter(correlation_id=cid)))
    if not events:
        raise NoSuchIncident(f"no events with correlation id {cid!r} (ids are shown by "
                             "`gpumod history --json`, or use --last-failure)")
    gpu = list(store.read(EventFilter(types=("GpuDetected",), newest_first=True, limit=1)))
    command = events[0].metadata.get("command") or {}
    return report(steps_of(events), cid, gpu[0].data.get("total_mb") if gpu else None,
                  command.get("name"))


def last_failure(events: Iterable[RecordedEvent]) -> str | None:
    """The correlation id of the newest failure: a failed switch, start or crash, an OOM, or a
    command refused for lack of VRAM."""
    failed = [e for e in events if e.correlation_id and _is_failure(e.type, e.data)]
    return max(failed, key=lambda e: e.position).correlation_id if failed else None


def steps_of(events: Iterable[RecordedEvent]) -> list[Step]:
    return [Step(e.position, e.recorded_at, e.type, e.stream, e.data) for e in events]


def timeline_report(timeline: SwitchTimeline, total_mb: int | None = None) -> dict[str, Any]:
    return report(timeline.steps, timeline.correlation_id, total_mb)


def report(steps: Sequence[Step], correlation_id: str | None, total_mb: int | None = None,
           command: str | None = None) -> dict[str, Any]:
    if not steps:
        raise NoSuchIncident(f"no steps recorded for {correlation_id!r}")
    return {
        "correlation_id": correlation_id, "command": command, "switch": find.switch(steps),
        "outcome": find.outcome(steps), "started_at": steps[0].at, "ended_at": steps[-1].at,
        "duration_ms": _ms(steps[0].at, steps[-1].at), "steps": timeline(steps, total_mb),
        "services": find.reserved_vs_measured(steps), "protection": find.protection(steps),
        "failure": find.failure(steps), "oom": find.ooms(steps),
    }


def timeline(steps: Sequence[Step], total_mb: int | None = None) -> list[dict[str, Any]]:
    """Each step with its duration (until the next) and VRAM as last seen at or before it."""
    total = total_mb or next((s.detail["total_mb"] for s in steps if "total_mb" in s.detail), None)
    free: int | None = None
    used: int | None = None
    rows = []
    for step, after in zip(steps, [*steps[1:], None], strict=True):
        seen = step.detail.get("free_mb")
        if seen is not None:
            free = int(seen)
            used = step.detail.get("used_mb", total - free if total is not None else None)
        rows.append({
            "position": step.position, "at": step.at, "type": step.type, "stream": step.stream,
            "service_id": step.detail.get("service_id"),
            "duration_ms": _ms(step.at, after.at) if after is not None else None,
            "free_mb": free, "used_mb": used, "vram_read_here": seen is not None,
            "needed_mb": step.detail.get("vram_needed_mb", step.detail.get("needed_mb")),
            "detail": step.detail})
    return rows


def _is_failure(type_: str, data: dict[str, Any]) -> bool:
    if type_ == "CommandRejected":
        return data.get("code") == "insufficient_vram"
    return type_ in FAILURES


def _switch_correlation(store: EventStore, switch_id: str) -> str | None:
    requests = store.read(EventFilter(types=("ModeSwitchRequested",)))
    return next((e.correlation_id for e in list(requests)
                 if e.data.get("switch_id") == switch_id), None)


def _ms(start: str, end: str) -> int:
    delta = datetime.fromisoformat(end) - datetime.fromisoformat(start)
    return round(delta.total_seconds() * 1000)
