"""Checking the hash chain: `gpumod audit verify` and `gpumod events import`."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import Engine

from gpumod.events import codec
from gpumod.events.database import reading
from gpumod.events.errors import ChainBroken

RawRow = tuple[int, str, int, str, str, int, str, str, str, str]
RAW_QUERY = (
    "SELECT position, stream, version, event_id, type, schema_version, data, metadata, "
    "recorded_at, hash FROM events ORDER BY position"
)


@dataclass(frozen=True)
class Verified:
    count: int
    head_hash: str


def verify_rows(rows: Iterable[RawRow]) -> Verified:
    """Re-hash every row in order; raise ChainBroken at the first one that does not fit."""
    previous, expected_position = codec.GENESIS_HASH, 1
    for row in rows:
        position, stored_hash = row[0], row[9]
        if position != expected_position:
            raise ChainBroken(expected_position, f"expected position {expected_position}, "
                              f"found {position} (an event was removed or reordered)")
        digest = codec.chain_hash(previous, *row[:9])
        if digest != stored_hash:
            raise ChainBroken(position, "stored hash does not match the event's content "
                              "and the chain before it (changed, removed or reordered)")
        previous, expected_position = digest, expected_position + 1
    return Verified(expected_position - 1, previous)


def verify_store(engine: Engine) -> Verified:
    with reading(engine) as conn:
        return verify_rows(conn.exec_driver_sql(RAW_QUERY))
