"""Checking the hash chain: `gpumod audit verify` and `gpumod events import`."""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, cast

from gpumod.events import codec
from gpumod.events.errors import ChainBroken

if TYPE_CHECKING:
    from gpumod.events.store import EventStore

RawRow = tuple[int, str, int, str, str, int, str, str, str, str]
RAW_QUERY = (
    "SELECT position, stream, version, event_id, type, schema_version, data, metadata, "
    "recorded_at, hash FROM events ORDER BY position"
)
# What verify_store reads: every column's stored bytes and storage class, so that a byte changed
# outside gpumod (invalid UTF-8, text rewritten as a blob) is reported at its position.
_TYPES = ("integer", "text", "integer", "text", "text", "integer", "text", "text", "text", "text")
_COLUMNS = ("position", "stream", "version", "event_id", "type", "schema_version", "data",
            "metadata", "recorded_at", "hash")
STORED_QUERY = (
    "SELECT " + ", ".join(f"CAST({c} AS BLOB)" if t == "text" else c
                          for c, t in zip(_COLUMNS, _TYPES, strict=True))
    + ", actor, correlation_id, " + " || ',' || ".join(f"typeof({c})" for c in _COLUMNS)
    + " FROM events ORDER BY position"
)


@dataclass(frozen=True)
class Verified:
    count: int
    head_hash: str


class ChainCheck:
    """Re-hashes rows as they pass through `passing`, so a file of any size is checked in one
    read; raises ChainBroken at the first row that does not fit."""

    def __init__(self) -> None:
        self.count, self.head_hash = 0, codec.GENESIS_HASH

    def passing(self, rows: Iterable[RawRow]) -> Iterator[RawRow]:
        for row in rows:
            position, expected = row[0], self.count + 1
            if position != expected:
                raise ChainBroken(expected, f"expected position {expected}, found {position} "
                                  "(an event was removed or reordered)")
            digest = codec.chain_hash(self.head_hash, *row[:9])
            if digest != row[9]:
                raise ChainBroken(position, "stored hash does not match the event's content "
                                  "and the chain before it (changed, removed or reordered)")
            self.count, self.head_hash = expected, digest
            yield row

    @property
    def verified(self) -> Verified:
        return Verified(self.count, self.head_hash)


def verify_rows(rows: Iterable[RawRow]) -> Verified:
    """Re-hash every row in order; raise ChainBroken at the first one that does not fit."""
    check = ChainCheck()
    deque(check.passing(rows), maxlen=0)
    return check.verified


def verify_store(store: EventStore) -> Verified:
    with store.connections.transaction() as conn:
        return verify_rows(_as_stored(conn.execute(STORED_QUERY)))


def _as_stored(rows: Iterable[Any]) -> Iterator[RawRow]:
    for *values, actor, correlation_id, types in rows:
        position: int = values[0]
        if tuple(types.split(",")) != _TYPES:
            raise ChainBroken(position, f"a column's storage class was changed ({types})")
        try:
            decoded = [v.decode() if isinstance(v, bytes) else v for v in values]
        except UnicodeDecodeError:
            raise ChainBroken(position, "a text column holds bytes that are not UTF-8 "
                              "(changed outside gpumod)") from None
        _check_index_copies(position, decoded[7], actor, correlation_id)
        yield cast(RawRow, tuple(decoded))


def _check_index_copies(position: int, metadata: str, actor: Any, correlation_id: Any) -> None:
    """The indexed copies of metadata fields are not hashed: they must equal what is."""
    try:
        meta = codec.loads(metadata)
    except ValueError:
        return  # the hash check reports a damaged metadata text
    if not isinstance(meta, dict):
        return
    if (meta.get("actor"), meta.get("correlation_id")) != (actor, correlation_id):
        raise ChainBroken(position, "the indexed actor/correlation_id columns differ from the "
                          "event's hashed metadata (changed outside gpumod)")
