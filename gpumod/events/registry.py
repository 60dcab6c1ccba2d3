"""Event types by their stored name, and the upcasters that bring old shapes up to date."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from gpumod.events.base import Event
from gpumod.events.canonical import Check, canonical_check

Upcaster = Callable[[dict[str, Any]], dict[str, Any]]
E = TypeVar("E", bound=type[Event])

EVENT_TYPES: dict[str, type[Event]] = {}
# (type name, schema version it reads) -> function returning the next version's data.
UPCASTERS: dict[tuple[str, int], Upcaster] = {}
# type name -> (current schema version, test for data already in its current form)
CANONICAL: dict[str, tuple[int, Check]] = {}
# type name -> (current schema version, its field names), for types whose stored JSON is exactly
# their validated data: what `logged_data` trusts (docs/adr/0012-the-fold-trusts-the-log.md).
SHAPES: dict[str, tuple[int, frozenset[str]]] = {}


class UnknownEventType(KeyError):
    """The log holds an event type this gpumod does not know (written by a newer one?)."""


class UnknownSchemaVersion(ValueError):
    """An event of a known type but a schema version this gpumod cannot bring up to date."""


def registered(cls: E) -> E:
    """Class decorator: make an event type loadable by its stable name."""
    name = cls.type_name
    if name in EVENT_TYPES and EVENT_TYPES[name] is not cls:
        raise ValueError(f"event type name {name!r} registered twice")
    EVENT_TYPES[name] = cls
    check = canonical_check(cls)
    if check is not None:
        CANONICAL[name] = (cls.schema_version, check)
        SHAPES[name] = (cls.schema_version, _field_names(cls))
    return cls


def _field_names(model: type[Event]) -> frozenset[str]:
    return frozenset(model.model_fields)


def upcaster(type_name: str, from_version: int) -> Callable[[Upcaster], Upcaster]:
    """Decorator: register how data of `from_version` becomes `from_version + 1`."""

    def register(fn: Upcaster) -> Upcaster:
        UPCASTERS[(type_name, from_version)] = fn
        return fn

    return register


def upcast(type_name: str, version: int, data: dict[str, Any]) -> dict[str, Any]:
    """Bring stored data up to the current schema version of its type."""
    current = event_class(type_name).schema_version
    if version > current or (version < current and (type_name, version) not in UPCASTERS):
        raise UnknownSchemaVersion(f"{type_name} schema version {version} (this gpumod reads "
                                   f"up to {current})")
    while version < current:
        data = UPCASTERS[(type_name, version)](data)
        version += 1
    return data


def event_class(type_name: str) -> type[Event]:
    _load_catalogue()
    try:
        return EVENT_TYPES[type_name]
    except KeyError:
        raise UnknownEventType(type_name) from None


def decode(type_name: str, version: int, data: dict[str, Any]) -> Event:
    """A stored event's data as its typed, current-version event."""
    cls = EVENT_TYPES.get(type_name) or event_class(type_name)
    if version != cls.schema_version:
        data = upcast(type_name, version, data)
    return cls.__pydantic_validator__.validate_python(data)  # type: ignore[no-any-return]


def current_data(type_name: str, version: int, data: dict[str, Any]) -> dict[str, Any]:
    """What `decode` would make of stored data, as a dict (nested models as dicts too).

    Data gpumod wrote for the current schema version is already that, and is returned as it is
    once `canonical.py`'s check (a fraction of pydantic's cost) says so. Raises as `decode`.
    """
    known = CANONICAL.get(type_name)
    if known is not None and known[0] == version and known[1](data):
        return data
    return decode(type_name, version, data).model_dump()


def logged_data(type_name: str, version: int, data: dict[str, Any]) -> dict[str, Any]:
    """`current_data` for data read from gpumod's own log: trusted as it is when it has the
    current version's fields, since only a validated model (an append) or a checked row (an
    import) ever put data in that shape there. Anything else goes through `current_data`.
    """
    if has_current_shape(type_name, version, data):
        return data
    return current_data(type_name, version, data)


def has_current_shape(type_name: str, version: int, data: Any) -> bool:
    """Data with exactly the fields of its type's current version (what `logged_data` trusts)."""
    shape = SHAPES.get(type_name)
    return shape is not None and shape[0] == version and type(data) is dict and (
        data.keys() == shape[1])


def _load_catalogue() -> None:
    if not EVENT_TYPES:
        import gpumod.events.catalogue  # noqa: F401  (registers every type on import)
