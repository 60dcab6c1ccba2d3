"""A field may not change its type while its event keeps its schema version.

A replay trusts stored data that has exactly its type's current fields (registry.logged_data):
data an older gpumod wrote with the same fields must then mean the same thing. Adding or
removing a field is safe (old data then has other fields and goes through the model); changing
a field's type is not: bump `schema_version` and add an upcaster (docs/events.md).

event_shapes.json records each type's version and field types. After adding a type or bumping
a version, record them again:
    GPUMOD_RECORD_SHAPES=1 .venv/bin/pytest tests/unit/test_event_shapes.py
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import orjson
import pytest

from gpumod.events.registry import EVENT_TYPES, SHAPES, event_class

RECORDED = Path(__file__).with_name("event_shapes.json")


def shapes() -> dict[str, dict[str, Any]]:
    event_class("StoreInitialized")  # loads the catalogue
    return {name: {"version": cls.schema_version,
                   "fields": {field: str(info.annotation)
                              for field, info in sorted(cls.model_fields.items())}}
            for name, cls in sorted(EVENT_TYPES.items())}


def changed_types(recorded: dict[str, Any], current: dict[str, Any]) -> list[str]:
    """Fields whose type changed while their event kept its schema version."""
    found = []
    for name, now in current.items():
        before = recorded.get(name)
        if before is None or before["version"] != now["version"]:
            continue
        for field in before["fields"].keys() & now["fields"].keys():
            if before["fields"][field] != now["fields"][field]:
                found.append(f"{name}.{field}: {before['fields'][field]} -> "
                             f"{now['fields'][field]} (still version {now['version']})")
    return found


def test_no_field_changed_its_type_without_a_new_schema_version() -> None:
    if os.environ.get("GPUMOD_RECORD_SHAPES"):
        RECORDED.write_bytes(orjson.dumps(shapes(), option=orjson.OPT_INDENT_2) + b"\n")
    recorded = orjson.loads(RECORDED.read_bytes())

    assert changed_types(recorded, shapes()) == []


def test_every_type_and_version_is_recorded() -> None:
    recorded = orjson.loads(RECORDED.read_bytes())
    missing = [f"{name} v{now['version']}" for name, now in shapes().items()
               if recorded.get(name, {}).get("version") != now["version"]]

    assert missing == [], "record them: GPUMOD_RECORD_SHAPES=1 pytest " + __file__


@pytest.mark.parametrize("change", [{"vram_mb": "str"}, {"vram_mb": "int | None"}])
def test_a_changed_field_type_is_found(change: dict[str, str]) -> None:
    recorded = shapes()
    current = orjson.loads(orjson.dumps(recorded))
    current["ServiceVramMeasured"]["fields"].update(change)

    (found,) = changed_types(recorded, current)
    assert found.startswith("ServiceVramMeasured.vram_mb: <class 'int'> ->")


def test_an_added_field_or_a_new_version_is_allowed() -> None:
    recorded = shapes()
    added = orjson.loads(orjson.dumps(recorded))
    added["ServiceSlept"]["fields"]["note"] = "str | None"
    bumped = orjson.loads(orjson.dumps(recorded))
    bumped["ServiceSlept"].update(version=2, fields={"level": "int"})

    assert changed_types(recorded, added) == changed_types(recorded, bumped) == []


def test_only_types_whose_stored_json_is_their_data_are_trusted() -> None:
    assert "ServiceStopped" in SHAPES  # ints, strings, a list of ints
    assert "VramReleased" not in SHAPES  # its samples are tuples: only the model can tell
