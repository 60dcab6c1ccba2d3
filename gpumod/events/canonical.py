"""A cheap test that stored data is already in the form its model writes, so needs no pydantic.

gpumod stores an event's `model_dump(mode="json")`: every field present, each value of the JSON
type its annotation takes. Validating that again with pydantic was the largest cost of a replay
(bench_log.py), so the fold first asks this test, which is stricter than pydantic (no coercion,
no defaults, no extra keys): data it accepts is what pydantic would accept and dump unchanged.
Anything else (hand-written data, an old shape, a type it cannot judge) goes through pydantic.
"""

from __future__ import annotations

import types
from collections.abc import Callable
from typing import Any, Literal, Union, get_args, get_origin

from pydantic import BaseModel

Check = Callable[[Any], bool]
# What a field's value may be: its exact types, and a test of its content (None: type is enough).
Rule = tuple[frozenset[type], Check | None]
_MISSING = object()  # its type is in no rule


def canonical_check(model: type[BaseModel], nested: bool = True) -> Check | None:
    """A test for `model`'s own JSON form, or None where only pydantic can tell.

    With nested=False only the top level is tested: each field's JSON type, and the value of
    scalar ones (a Literal); the items of lists and dicts are not looked at.
    """
    rules = {name: _rule(field.annotation) for name, field in model.model_fields.items()}
    if not _plain(model) or any(rule is None for rule in rules.values()):
        return None
    known = {name: rule for name, rule in rules.items() if rule is not None}
    typed = tuple((name, allowed) for name, (allowed, _) in known.items())
    tested = tuple((name, test) for name, (allowed, test) in known.items()
                   if test is not None and (nested or allowed <= _SCALAR_TYPES))
    count = len(typed)

    def check(value: Any) -> bool:
        if type(value) is not dict or len(value) != count:
            return False
        get = value.get
        for name, allowed in typed:
            if type(get(name, _MISSING)) not in allowed:
                return False
        for name, test in tested:  # noqa: SIM110  (all() over a generator: slower)
            if not test(value[name]):
                return False
        return True

    return check


def _plain(model: type[BaseModel]) -> bool:
    """Nothing but the annotations decides: no validators, post-init, aliases, constraints, or
    settings that change values (str_strip_whitespace...); extra keys refused."""
    decorators = model.__pydantic_decorators__
    if decorators.validators or decorators.field_validators or decorators.root_validators:
        return False
    if decorators.model_validators or model.__pydantic_post_init__ is not None:
        return False
    if set(model.model_config) - {"frozen", "extra"} or model.model_config.get("extra") != "forbid":
        return False
    return all(not field.metadata and field.alias is None and field.validation_alias is None
               for field in model.model_fields.values())


def _rule(annotation: Any) -> Rule | None:
    """None where the validated value is not the JSON value (tuples, dates, Any...)."""
    if annotation in _SCALARS:
        return frozenset({_SCALARS[annotation]}), None
    origin, args = get_origin(annotation), get_args(annotation)
    if origin is Literal and all(type(arg) is str for arg in args):
        return frozenset({str}), frozenset(args).__contains__
    if origin in (Union, types.UnionType):
        return _union([_rule(arg) for arg in args])
    if origin is list and len(args) == 1:
        return _list(_rule(args[0]))
    if origin is dict and args == (str, Any):  # pydantic keeps Any values as they are
        return frozenset({dict}), lambda value: {*map(type, value)} <= _STR
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        nested = canonical_check(annotation)
        return (frozenset({dict}), nested) if nested is not None else None
    return None


def _union(rules: list[Rule | None]) -> Rule | None:
    known = [rule for rule in rules if rule is not None]
    allowed = frozenset().union(*(types_ for types_, _ in known))
    if len(known) < len(rules) or len(allowed) < sum(len(types_) for types_, _ in known):
        return None  # a member it cannot judge, or two members taking the same type
    tests = {type_: test for types_, test in known for type_ in types_ if test is not None}
    if not tests:
        return allowed, None
    return allowed, lambda value: (test := tests.get(type(value))) is None or test(value)


def _list(item: Rule | None) -> Rule | None:
    if item is None:
        return None
    allowed, test = item
    if test is None:
        return frozenset({list}), lambda value: {*map(type, value)} <= allowed
    return frozenset({list}), lambda value: {*map(type, value)} <= allowed and all(
        map(test, value))


# Exact types, not isinstance: a bool is an int to Python, and pydantic would convert it.
_SCALARS: dict[Any, type] = {str: str, int: int, float: float, bool: bool, None: type(None),
                             type(None): type(None)}
_SCALAR_TYPES = frozenset(_SCALARS.values())
_STR = frozenset({str})
