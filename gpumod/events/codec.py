"""Canonical bytes of an event and the SHA-256 chain that links each event to the one before.

The hash covers the exact JSON text stored for data and metadata, so changing any stored byte,
removing an event or moving one breaks the chain from that position on.
"""

from __future__ import annotations

import hashlib
from typing import Any

import orjson

GENESIS_HASH = "0" * 64


def dumps(value: Any) -> str:
    """The one JSON form gpumod stores: compact, keys sorted, so equal data has equal bytes."""
    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS).decode()


def loads(text: str | bytes) -> Any:
    return orjson.loads(text)


def chain_hash(
    previous_hash: str,
    position: int,
    stream: str,
    version: int,
    event_id: str,
    type_name: str,
    schema_version: int,
    data_json: str,
    metadata_json: str,
    recorded_at: str,
) -> str:
    # A JSON array is an unambiguous framing of the fields (no separator tricks).
    canonical = orjson.dumps(
        [position, stream, version, event_id, type_name, schema_version, data_json,
         metadata_json, recorded_at]
    )
    return hashlib.sha256(previous_hash.encode() + canonical).hexdigest()
