"""Refusing to import data the fold would misread: the current fields, of the wrong types.

A replay of gpumod's own log trusts data that has exactly its type's current fields
(`registry.logged_data`): gpumod only writes that shape from a validated model. An imported
file is the one way other data could arrive in that shape (a hand-edited export whose chain was
recomputed, say `"vram_mb": "5000"`), so an import checks the fields of every such row first.
Nested values are not checked: the fold takes them as they are (an older gpumod's
`VramObserved.processes` items, without `name`, are fine).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from functools import cache
from typing import Any

from pydantic import ValidationError

from gpumod.events import codec
from gpumod.events.canonical import Check, canonical_check
from gpumod.events.chain import RawRow
from gpumod.events.errors import EventStoreError
from gpumod.events.registry import event_class, has_current_shape


def refusing_misread(rows: Iterable[RawRow]) -> Iterator[RawRow]:
    """The rows, as they pass; EventStoreError at the first whose data the fold would misread."""
    for row in rows:
        position, type_name, version, data = row[0], row[4], row[5], codec.loads(row[6])
        if has_current_shape(type_name, version, data) and not _fields_check(type_name)(data):
            raise EventStoreError(
                f"position {position}: the data of this {type_name} is not in the form gpumod "
                f"writes ({_difference(type_name, data)}); nothing was imported")
        yield row


@cache
def _fields_check(type_name: str) -> Check:
    check = canonical_check(event_class(type_name), nested=False)
    assert check is not None  # has_current_shape: only types with a canonical check
    return check


def _difference(type_name: str, data: dict[str, Any]) -> str:
    try:
        written = event_class(type_name).model_validate(data).model_dump(mode="json")
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        return f"field {where}: {first['msg']}"
    fields = [name for name, value in data.items()
              if codec.dumps(value) != codec.dumps(written.get(name))]
    return f"field {', '.join(fields)} would be written as " + ", ".join(
        codec.dumps(written.get(name)) for name in fields)
