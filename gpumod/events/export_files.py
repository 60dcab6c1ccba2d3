"""Reading an exported log (JSONL or CSV) one event at a time, so a file of any size fits.

A 1,000,000-event export is ~700 MB of JSONL; read whole, `replay --from` and `events import`
held ~4 GB. Rows are streamed instead: errors name the file and line, and the chain check
(`chain.ChainCheck`) runs as the rows pass.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from gpumod.events import codec
from gpumod.events.chain import RawRow
from gpumod.events.errors import EventStoreError

FIELDS = ("position", "stream", "version", "event_id", "type", "schema_version", "data",
          "metadata", "recorded_at", "hash")


def iter_file(path: Path) -> Iterator[RawRow]:
    """Rows of an exported log, JSONL or CSV (told apart by the first character)."""
    with path.open(encoding="utf-8", newline="") as handle:
        first = _first_character(handle.read(4096))
        handle.seek(0)
        if first is None:
            return  # the JSONL export of an empty log
        if first == "{":
            for number, line in enumerate(handle, 1):
                if line.strip():
                    yield _jsonl_row(path, line, number)
            return
        yield from _csv_rows(path, csv.reader(handle))


def read_file(path: Path) -> list[RawRow]:
    return list(iter_file(path))


def _first_character(start: str) -> str | None:
    stripped = start.lstrip()
    return stripped[0] if stripped else None


def _jsonl_row(path: Path, line: str, number: int) -> RawRow:
    try:
        record: dict[str, Any] = codec.loads(line)
        return (record["position"], record["stream"], record["version"], record["event_id"],
                record["type"], record["schema_version"], codec.dumps(record["data"]),
                codec.dumps(record["metadata"]), record["recorded_at"], record["hash"])
    except (ValueError, KeyError, TypeError) as exc:
        raise EventStoreError(f"{path}: line {number}: not an exported event ({exc})") from None


def _csv_rows(path: Path, reader: Iterator[list[str]]) -> Iterator[RawRow]:
    header = next(reader, None)
    if header is None or tuple(header) != FIELDS:
        raise EventStoreError(f"{path}: not a gpumod export (expected a JSONL file, or a CSV "
                              f"file with the header {','.join(FIELDS)})")
    for number, row in enumerate(reader, 2):
        try:
            yield (int(row[0]), row[1], int(row[2]), row[3], row[4], int(row[5]), row[6],
                   row[7], row[8], row[9])
        except (ValueError, IndexError) as exc:
            raise EventStoreError(f"{path}: row {number}: not an exported event "
                                  f"({exc})") from None
