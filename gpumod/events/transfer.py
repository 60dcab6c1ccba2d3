"""Exporting the log to JSONL or CSV, and importing an exported log into an empty database."""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator
from itertools import islice
from typing import IO, TYPE_CHECKING, Any

from gpumod.events import codec
from gpumod.events.base import RecordedEvent
from gpumod.events.chain import RAW_QUERY, ChainCheck, RawRow, Verified
from gpumod.events.errors import StoreNotEmpty
from gpumod.events.export_files import FIELDS
from gpumod.events.shape_check import refusing_misread

if TYPE_CHECKING:
    from gpumod.events.store import EventStore

IMPORT_BATCH = 5_000  # rows per INSERT: memory stays flat whatever the file's size


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


def import_rows(store: EventStore, rows: Iterable[RawRow]) -> Verified:
    """Insert an exported log verbatim into an empty database, checking its chain and its data
    as the rows pass: all of it lands in one transaction, or none of it."""
    from sqlalchemy import func, select

    from gpumod.events.database import writing
    from gpumod.events.schema import events as table

    check = ChainCheck()
    checked = refusing_misread(check.passing(rows))
    with writing(store.engine) as conn:
        if conn.execute(select(func.count()).select_from(table)).scalar():
            raise StoreNotEmpty("the database already holds events; import only into an empty one")
        while batch := [_insert_values(row) for row in islice(checked, IMPORT_BATCH)]:
            conn.execute(table.insert(), batch)
    return check.verified


def recorded(row: RawRow) -> RecordedEvent:
    return RecordedEvent.stored(*row[:6], codec.loads(row[6]), row[7], row[8], row[9])


def _insert_values(row: RawRow) -> dict[str, Any]:
    values = dict(zip(FIELDS, row, strict=True))
    meta = codec.loads(row[7])
    values["correlation_id"], values["actor"] = meta.get("correlation_id"), meta.get("actor")
    return values
