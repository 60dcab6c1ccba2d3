"""Filters over the log, as used by `gpumod history`, `replay` and the MCP history tools."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Select, func, or_

from gpumod.events.schema import events as table


@dataclass(frozen=True)
class EventFilter:
    after_position: int = 0
    until_position: int | None = None
    service: str | None = None
    mode: str | None = None
    types: tuple[str, ...] = field(default_factory=tuple)
    actor: str | None = None
    since: str | None = None  # ISO 8601 UTC, compared with recorded_at
    until: str | None = None
    correlation_id: str | None = None
    limit: int | None = None
    newest_first: bool = False


def filtered(query: Select[Any], flt: EventFilter) -> Select[Any]:
    conditions = list(_conditions(flt))
    if conditions:
        query = query.where(*conditions)
    order = table.c.position.desc() if flt.newest_first else table.c.position
    query = query.order_by(order)
    return query.limit(flt.limit) if flt.limit is not None else query


def _conditions(flt: EventFilter) -> Any:
    if flt.after_position:
        yield table.c.position > flt.after_position
    if flt.until_position is not None:
        yield table.c.position <= flt.until_position
    if flt.service:
        yield or_(
            table.c.stream == f"service-{flt.service}",
            func.json_extract(table.c.data, "$.service_id") == flt.service,
        )
    if flt.mode:
        yield or_(
            table.c.stream == f"mode-{flt.mode}",
            *(func.json_extract(table.c.data, f"$.{key}") == flt.mode
              for key in ("to_mode", "from_mode", "restored_mode", "resolved_mode")),
        )
    if flt.types:
        yield table.c.type.in_(flt.types)
    if flt.actor:
        yield or_(table.c.actor == flt.actor, table.c.actor.like(f"{flt.actor}:%"))
    if flt.since:
        yield table.c.recorded_at >= flt.since
    if flt.until:
        yield table.c.recorded_at <= flt.until
    if flt.correlation_id:
        yield table.c.correlation_id == flt.correlation_id
