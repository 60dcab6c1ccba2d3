"""Plain-text tables and one-line summaries for terminals."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from gpumod.events.base import RecordedEvent


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    cells = [[str(h) for h in headers]] + [["" if c is None else str(c) for c in r] for r in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip()
             for row in cells]
    return "\n".join(lines)


def summary(data: dict[str, Any], width: int = 70) -> str:
    """The event's fields as `key=value`, identifiers first, cut to `width`."""
    parts = [f"{k}={_short(v)}" for k, v in data.items() if k not in ("definition",)]
    if "definition" in data:
        parts.append(f"definition=({len(data['definition'])} fields)")
    text = " ".join(parts)
    return text if len(text) <= width else text[: width - 1] + "…"


EVENT_COLUMNS = (("POS", 7), ("TIME (UTC)", 23), ("ACTOR", 14), ("TYPE", 24), ("STREAM", 26))


def event_header() -> str:
    return " ".join(name.ljust(width) for name, width in EVENT_COLUMNS) + " DETAILS"


def event_line(rec: RecordedEvent) -> str:
    """One event on one line, in fixed columns, so lines printed one by one stay aligned."""
    cells = (str(rec.position), rec.recorded_at[:23].replace("T", " "), rec.actor or "",
             rec.type, rec.stream)
    fixed = " ".join(_fit(c, w).ljust(w) for c, (_, w) in zip(cells, EVENT_COLUMNS, strict=True))
    return f"{fixed} {summary(rec.data)}"


def _fit(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def _short(value: Any) -> str:
    if isinstance(value, list):
        return "[" + ",".join(_short(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ",".join(f"{k}:{_short(v)}" for k, v in value.items()) + "}"
    return str(value)
