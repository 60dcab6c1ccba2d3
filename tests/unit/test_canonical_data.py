"""The fold reads stored data without pydantic when it is already in its model's own form: it must
then be exactly what pydantic would have made of it, and anything else must still go through
pydantic (defaults filled in, old versions upcast, invalid data refused)."""

from __future__ import annotations

import json
import types
from typing import Any, Literal, Union, get_args, get_origin

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import BaseModel, ValidationError

from gpumod.events import catalogue as ev
from gpumod.events.base import Event
from gpumod.events.registry import (
    CANONICAL,
    EVENT_TYPES,
    UnknownEventType,
    current_data,
    decode,
    event_class,
)

event_class("StoreInitialized")  # loads the catalogue
TYPE_NAMES = sorted(EVENT_TYPES)
FLOATS = st.floats(allow_nan=False, allow_infinity=False)  # JSON has neither
JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | FLOATS | st.text(max_size=4),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=3), inner,
                                                                 max_size=3),
    max_leaves=5,
)


def stored(annotation: Any) -> st.SearchStrategy[Any]:
    """Values of `annotation` as gpumod stores them (its JSON form)."""
    simple = {str: st.text(max_size=4), int: st.integers(), bool: st.booleans(),
              float: FLOATS, type(None): st.none(), None: st.none()}
    if annotation in simple:
        return simple[annotation]
    origin, args = get_origin(annotation), get_args(annotation)
    if origin is Literal:
        return st.sampled_from(args)
    if origin in (Union, types.UnionType):
        return st.one_of([stored(arg) for arg in args])
    if origin is list:
        return st.lists(stored(args[0]), max_size=3)
    if origin is tuple:
        return st.tuples(*(stored(arg) for arg in args)).map(list)
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return stored_data(annotation)
    if origin is dict:
        return st.dictionaries(st.text(max_size=3), JSON, max_size=3)
    return JSON  # Any


def stored_data(model: type[BaseModel]) -> st.SearchStrategy[dict[str, Any]]:
    return st.fixed_dictionaries({name: stored(field.annotation)
                                  for name, field in model.model_fields.items()})


# Values that other fields take, or nearly: wrong types, other literals, integral floats.
ODD = st.one_of(JSON, st.integers(-2, 2), st.sampled_from([1.0, 0.0, True, "l1", "l9", "log"]))


@st.composite
def altered(draw: st.DrawFn, data: dict[str, Any]) -> dict[str, Any]:
    """`data` with one field changed, dropped or added: sometimes still valid, often not."""
    data = dict(data)
    key = draw(st.sampled_from([*data, "extra"]))
    how = draw(st.sampled_from(["value", "value", "drop", "convert"]))
    if how == "drop":
        data.pop(key, None)
    elif how == "value":
        data[key] = draw(ODD)
    elif type(data.get(key)) in (int, float):
        data[key] = draw(st.sampled_from([bool, int, float]))(data[key])
    return data


def outcome(call: Any) -> Any:
    """What `call` gave, as JSON text: True and 1, or 1.0 and 1, are equal Python values."""
    try:
        return ("ok", json.dumps(call(), sort_keys=True))
    except ValidationError as refused:
        return ("refused", refused.error_count())


@pytest.mark.parametrize("name", TYPE_NAMES)
@settings(max_examples=25)
@given(data=st.data())
def test_the_fast_path_gives_what_pydantic_gives_for_any_data(
    name: str, data: st.DataObject
) -> None:
    cls = EVENT_TYPES[name]
    candidate = data.draw(stored_data(cls))
    if data.draw(st.booleans()):
        candidate = data.draw(altered(candidate))

    fast = outcome(lambda: current_data(name, cls.schema_version, candidate))
    slow = outcome(lambda: decode(name, cls.schema_version, candidate).model_dump())

    assert fast == slow


@settings(max_examples=200)
@given(st.data())
def test_data_in_its_stored_form_takes_the_fast_path(data: st.DataObject) -> None:
    name = data.draw(st.sampled_from(sorted(CANONICAL)))
    version, check = CANONICAL[name]
    candidate = data.draw(stored_data(EVENT_TYPES[name]))

    assert version == EVENT_TYPES[name].schema_version
    assert check(candidate)
    assert current_data(name, version, candidate) is candidate  # no copy, no pydantic


def test_the_hot_event_types_have_a_fast_path() -> None:
    hot: list[type[Event]] = [
        ev.ServiceStarting, ev.ServiceProcessLaunched, ev.ServiceBecameHealthy, ev.VramObserved,
        ev.ServiceStopping, ev.ServiceStopped, ev.ServiceSlept, ev.ServiceWoke,
        ev.ServiceVramMeasured, ev.ServiceRegistered, ev.ModeSwitchRequested]

    assert {cls.type_name for cls in hot} <= set(CANONICAL)


@pytest.mark.parametrize("data", [
    {"service_id": "a", "backend": "direct", "vram_needed_mb": 10},  # defaults left out
    {"service_id": "a", "backend": "direct", "vram_needed_mb": True, "pid": None, "reason": None},
    {"service_id": "a", "backend": "direct", "vram_needed_mb": 10.0, "pid": None, "reason": None},
])
def test_data_not_in_stored_form_still_goes_through_pydantic(data: dict[str, Any]) -> None:
    fields = current_data("ServiceStarting", 1, data)

    assert fields == ev.ServiceStarting.model_validate(data).model_dump()
    assert fields is not data


def test_invalid_data_is_refused_as_before() -> None:
    with pytest.raises(ValidationError):
        current_data("ServiceSlept", 1, {"service_id": "a", "level": "l9", "vram_held_mb": None})
    with pytest.raises(ValidationError):
        current_data("ServiceWoke", 1, {"service_id": "a", "elapsed_ms": 1, "extra": 2})


def test_old_versions_are_upcast_and_unknown_types_refused() -> None:
    v1 = {"command": "RemoveService", "arguments": {}, "reason": "no such service"}

    assert current_data("CommandRejected", 1, v1) == {**v1, "code": "unspecified"}
    with pytest.raises(UnknownEventType):
        current_data("ServiceTeleported", 1, {})
