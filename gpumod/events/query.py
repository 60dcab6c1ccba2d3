"""Filters over the log, as used by `gpumod history`, `replay` and the MCP history tools."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

MODE_FIELDS = ("to_mode", "from_mode", "restored_mode", "resolved_mode")


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


def where(flt: EventFilter) -> tuple[str, list[Any]]:
    """The `WHERE ... ORDER BY ... LIMIT` part of a query on events, and its parameters."""
    clauses: list[str] = []
    params: list[Any] = []
    for clause, values in _conditions(flt):
        clauses.append(clause)
        params.extend(values)
    sql = f"WHERE {' AND '.join(clauses)} " if clauses else ""
    sql += "ORDER BY position DESC" if flt.newest_first else "ORDER BY position"
    if flt.limit is not None:
        sql += " LIMIT ?"
        params.append(flt.limit)
    return sql, params


def _conditions(flt: EventFilter) -> Any:
    if flt.after_position:
        yield "position > ?", [flt.after_position]
    if flt.until_position is not None:
        yield "position <= ?", [flt.until_position]
    if flt.service:
        yield ("(stream = ? OR json_extract(data, '$.service_id') = ?)",
               [f"service-{flt.service}", flt.service])
    if flt.mode:
        fields = " OR ".join(f"json_extract(data, '$.{name}') = ?" for name in MODE_FIELDS)
        yield f"(stream = ? OR {fields})", [f"mode-{flt.mode}", *[flt.mode] * len(MODE_FIELDS)]
    if flt.types:
        yield f"type IN ({', '.join('?' * len(flt.types))})", list(flt.types)
    if flt.actor:
        # "mcp" also finds "mcp:claude"; a % or _ in the name is taken literally.
        yield "(actor = ? OR actor LIKE ? ESCAPE '\\')", [flt.actor, f"{_literal(flt.actor)}:%"]
    if flt.since:
        yield "recorded_at >= ?", [flt.since]
    if flt.until:
        yield "recorded_at <= ?", [flt.until]
    if flt.correlation_id:
        yield "correlation_id = ?", [flt.correlation_id]


def _literal(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
