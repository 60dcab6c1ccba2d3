"""What runs in a docker preset's container: `extra_config.command` and `.environment`.

    command      a list, or a string split as a shell would (no shell runs); default: the image's
    environment  {NAME: value} or ["NAME=value"]; numbers and booleans are written as text
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from gpumod.adapters.drivers import validation as v

_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def command(definition: Mapping[str, Any]) -> tuple[str, ...]:
    value = (definition.get("extra_config") or {}).get("command")
    if value is None:
        return ()
    if isinstance(value, list):
        return tuple(v.text(part, "extra_config.command") for part in value)
    return tuple(v.extra_args(value, "extra_config.command", ()))


def environment(definition: Mapping[str, Any]) -> dict[str, str]:
    value = (definition.get("extra_config") or {}).get("environment")
    if value is None:
        return {}
    if isinstance(value, list):
        value = dict(_env_item(item) for item in value)
    if not isinstance(value, Mapping):
        raise ValueError(f"extra_config.environment must be a mapping {{NAME: value}} or a "
                         f"list of 'NAME=value' strings, not {value!r}")
    return {_env_name(name): _env_value(name, raw) for name, raw in value.items()}


def _env_item(item: Any) -> tuple[str, str]:
    name, sep, value = v.text(item, "extra_config.environment").partition("=")
    if not sep:
        raise ValueError(f"extra_config.environment: {item!r} must be 'NAME=value'")
    return name, value


def _env_name(name: Any) -> str:
    if not isinstance(name, str) or not _ENV_NAME.fullmatch(name):
        raise ValueError(f"extra_config.environment: {name!r} is not a valid variable name "
                         "(letters, digits and '_', not starting with a digit)")
    return name


def _env_value(name: str, value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if not isinstance(value, str | int | float):
        raise ValueError(f"extra_config.environment.{name} must be a string or a number, "
                         f"not {value!r}")
    text = str(value)
    return v.text(text, f"extra_config.environment.{name}") if text else text
