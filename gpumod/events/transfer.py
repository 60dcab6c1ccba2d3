"""Exporting the log to JSONL or CSV, and importing an exported log into an empty database."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from gpumod.events import codec
from gpumod.events.base import RecordedEvent
from gpumod.events.chain import RAW_QUERY, RawRow, Verified, verify_rows
from gpumod.events.errors import EventStoreError, StoreNotEmpty
from gpumod.events.shape_check import refuse_misread

if TYPE_CHECKING:
    from gpumod.events.store import EventStore

FIELDS = ("position", "stream", "version", "event_id", "type", "schema_version", "data",
          "metadata", "recorded_at", "hash")


def export_rows(store: EventStore) -> Iterator[RawRow]:
    with store.connections.transaction() as conn:
        yield from conn.execute(RAW_QUERY)


def write_jsonl(rows: Iterable[RawRow], out: IO[str]) -> int:
    count = 0
    for row in rows:
        record = dict(zip(FIELDS, row, strict=True))
        record["data"], record["metadata"] = codec.loads(row[6]), codec.loads(row[7])
        out.write(codec.dumps(record) + "\n")
        count += 1
    return count


def write_csv(rows: Iterable[RawRow], out: IO[str]) -> int:
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(FIELDS)
    count = 0
    for row in rows:
        writer.writerow(row)
        count += 1
    return count


def read_file(path: Path) -> list[RawRow]:
    """Rows of an exported log, JSONL or CSV (told apart by the first character)."""
    text = path.read_text(encoding="utf-8")
    if not text.strip():
        return []  # the JSONL export of an empty log
    if text.lstrip().startswith("{"):
        return [_jsonl_row(line, number) for number, line in enumerate(text.splitlines(), 1)
                if line.strip()]
    reader = csv.reader(io.StringIO(text))
    header = next(reader, None)
    if header is None or tuple(header) != FIELDS:
        raise EventStoreError(f"{path}: not a gpumod export (expected a JSONL file, or a CSV "
                              f"file with the header {','.join(FIELDS)})")
    return [_typed(row) for row in reader]


def import_rows(store: EventStore, rows: list[RawRow]) -> Verified:
    """Insert an exported log verbatim into an empty database, after verifying its chain."""
    from sqlalchemy import func, select

    from gpumod.events.database import writing
    from gpumod.events.schema import events as table

    verified = verify_rows(rows)
    refuse_misread(rows)
    with writing(store.engine) as conn:
        if conn.execute(select(func.count()).select_from(table)).scalar():
            raise StoreNotEmpty("the database already holds events; import only into an empty one")
        if rows:  # an empty list would run a single INSERT ... DEFAULT VALUES
            conn.execute(table.insert(), [_insert_values(row) for row in rows])
    return verified


def recorded(row: RawRow) -> RecordedEvent:
    return RecordedEvent(*row[:6], codec.loads(row[6]), codec.loads(row[7]), row[8], row[9])


def _jsonl_row(line: str, number: int) -> RawRow:
    try:
        record: dict[str, Any] = codec.loads(line)
        return (record["position"], record["stream"], record["version"], record["event_id"],
                record["type"], record["schema_version"], codec.dumps(record["data"]),
                codec.dumps(record["metadata"]), record["recorded_at"], record["hash"])
    except (ValueError, KeyError, TypeError) as exc:
        raise EventStoreError(f"line {number}: not an exported event ({exc})") from None


def _typed(row: list[str]) -> RawRow:
    return (int(row[0]), row[1], int(row[2]), row[3], row[4], int(row[5]), row[6], row[7],
            row[8], row[9])


def _insert_values(row: RawRow) -> dict[str, Any]:
    values = dict(zip(FIELDS, row, strict=True))
    meta = codec.loads(row[7])
    values["correlation_id"], values["actor"] = meta.get("correlation_id"), meta.get("actor")
    return values
