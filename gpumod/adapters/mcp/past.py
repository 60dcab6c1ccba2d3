"""The log for the history tools: filters checked as `gpumod history` checks them, pages of
events, and the hash chain's verdict."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from datetime import datetime
from typing import Any, cast

from gpumod.adapters.cli.timeparse import ACCEPTED, parse_when
from gpumod.adapters.mcp.errors import ArgumentError
from gpumod.adapters.mcp.outputs import Audit, Event, History
from gpumod.events.base import RecordedEvent
from gpumod.events.chain import verify_store
from gpumod.events.errors import ChainBroken
from gpumod.events.query import EventFilter
from gpumod.events.registry import EVENT_TYPES, UnknownEventType, event_class
from gpumod.events.store import EventStore
from gpumod.projections.state import SwitchTimeline


def when(now: datetime, text: str, argument: str) -> str:
    """`text` (ISO 8601 or an age) as the UTC string the log's recorded_at compares with."""
    try:
        return parse_when(text, argument, now)
    except ValueError:
        raise ArgumentError(argument, f"{text!r}: expected {ACCEPTED}") from None


def checked_types(types: list[str]) -> tuple[str, ...]:
    for name in types:
        try:
            event_class(name)
        except UnknownEventType:
            raise ArgumentError("types", f"{name!r} is not an event type (known: "
                                f"{', '.join(sorted(EVENT_TYPES))})") from None
    return tuple(types)


def event_filter(now: datetime, service: str | None = None, mode: str | None = None,
                 types: list[str] | None = None, actor: str | None = None,
                 since: str | None = None, until: str | None = None,
                 correlation_id: str | None = None) -> EventFilter:
    return EventFilter(
        service=service, mode=mode, types=checked_types(types or []), actor=actor,
        since=when(now, since, "since") if since else None,
        until=when(now, until, "until") if until else None,
        correlation_id=correlation_id)


def switch_summary(timeline: SwitchTimeline) -> dict[str, Any]:
    return {"switch_id": timeline.switch_id, "correlation_id": timeline.correlation_id,
            "from_mode": timeline.from_mode, "to_mode": timeline.to_mode,
            "status": timeline.status, "started_at": timeline.started_at,
            "ended_at": timeline.ended_at, "reason": timeline.reason,
            "steps": len(timeline.steps)}


def as_events(records: Iterable[RecordedEvent]) -> list[Event]:
    return [cast(Event, rec.as_dict()) for rec in records]


def history_page(store: EventStore, flt: EventFilter, after: int | None, limit: int) -> History:
    """The newest `limit` matches (no `after`) or the next `limit` after it; oldest first."""
    head = store.head()[0]
    window = replace(flt, until_position=head, limit=limit + 1)  # one more: are there more?
    if after is None:
        window = replace(window, newest_first=True)
    else:
        window = replace(window, after_position=after)
    found = list(store.read(window))
    page = found[:limit]
    if after is None:
        page.reverse()
    return {"events": as_events(page), "head_position": head, "more": len(found) > limit}


def audit(store: EventStore) -> Audit:
    try:
        verified = verify_store(store)
    except ChainBroken as broken:
        return {"intact": False, "events_checked": broken.position - 1, "head_hash": None,
                "broken_at": broken.position, "reason": broken.reason}
    return {"intact": True, "events_checked": verified.count, "head_hash": verified.head_hash,
            "broken_at": None, "reason": None}
