"""Turning a stored preset into a safe command line: defaults, typed `unit_vars`, checked argv.

Drivers receive a definition exactly as stored (only the fields its file set), so defaults are
applied here. Every value that reaches an argv element is checked: no control or line-break
characters, no value that could be read as an extra flag, no unknown `unit_vars` key.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import unicodedata
from collections.abc import Collection, Iterable, Mapping
from pathlib import Path
from typing import Any

from gpumod.adapters.process.base import LaunchSpec
from gpumod.definitions import check_id

DEFAULTS: dict[str, Any] = {
    "health_endpoint": "/health",
    "startup_timeout": 120,
    "sleep_mode": "none",
    "supports_sleep": False,
}

HOST = "127.0.0.1"
_HOME = re.compile(r"\$\{HOME\}|\$HOME(?![A-Za-z0-9_])")
_URL_PATH = re.compile(r"^/[A-Za-z0-9._~!$&'()*+,;=:@%/-]*$")


def field(definition: Mapping[str, Any], name: str) -> Any:
    """A top-level field, or its documented default when the preset did not set it."""
    return definition.get(name, DEFAULTS.get(name))


def service_id(definition: Mapping[str, Any]) -> str:
    value = definition.get("id")
    if not isinstance(value, str):
        raise ValueError("preset has no id")
    return check_id(value)


def port(definition: Mapping[str, Any]) -> int:
    value = definition.get("port")
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 65535:
        raise ValueError(f"preset {definition.get('id')!r} needs a port (1-65535), has {value!r}")
    return value


def startup_timeout(definition: Mapping[str, Any]) -> float:
    value = field(definition, "startup_timeout")
    if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
        raise ValueError(f"startup_timeout must be a positive number, not {value!r}")
    return float(value)


def url_path(value: Any, what: str) -> str:
    """An HTTP path such as `/health`: starts with '/', no spaces, control characters or '?'."""
    if not isinstance(value, str) or not _URL_PATH.fullmatch(value):
        raise ValueError(f"{what} must be a URL path like '/health', not {value!r}")
    return value


def unit_vars(definition: Mapping[str, Any], driver: str,
              accepted: Collection[str]) -> dict[str, Any]:
    """The preset's `unit_vars`; a key this driver does not use is an error naming it."""
    raw = definition.get("unit_vars") or {}
    if not isinstance(raw, Mapping):
        raise ValueError(f"unit_vars must be a mapping, not {type(raw).__name__}")
    unknown = sorted(str(key) for key in raw if key not in accepted)
    if unknown:
        raise ValueError(
            f"preset {definition.get('id')!r}: unknown unit_vars key {unknown[0]!r} for driver "
            f"{driver!r} (accepted keys: {', '.join(sorted(accepted))})")
    return dict(raw)


def text(value: Any, what: str) -> str:
    """A non-empty string with no control, line or paragraph separator characters."""
    if not isinstance(value, str) or not value:
        raise ValueError(f"{what} must be a non-empty string, not {value!r}")
    for char in value:
        if unicodedata.category(char) in ("Cc", "Zl", "Zp"):
            raise ValueError(f"{what} contains a control or line-break character: {value!r}")
    return value


def value_arg(value: Any, what: str) -> str:
    """A string passed as a flag's value or a positional argument: it must not look like a flag."""
    checked = text(value, what)
    if checked.startswith("-"):
        raise ValueError(f"{what} must not start with '-' (it would be read as a flag): {value!r}")
    return checked


def integer(value: Any, what: str, minimum: int | None = None) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"{what} must be an integer, not {value!r}")
    if minimum is not None and value < minimum:
        raise ValueError(f"{what} must be at least {minimum}, not {value}")
    return value


def number(value: Any, what: str, low: float, high: float) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not low < value <= high:
        raise ValueError(f"{what} must be a number in ({low}, {high}], not {value!r}")
    return float(value)


def boolean(value: Any, what: str) -> bool:
    if not isinstance(value, bool):
        raise ValueError(f"{what} must be true or false, not {value!r}")
    return value


def choice(value: Any, what: str, allowed: Iterable[str]) -> str:
    options = tuple(allowed)
    if value not in options:
        raise ValueError(f"{what} must be one of {', '.join(options)}, not {value!r}")
    return str(value)


def json_object(value: Any, what: str) -> str:
    """A JSON object, as a string (as in the presets) or a mapping: one argv element."""
    if isinstance(value, Mapping):
        return json.dumps(value, separators=(",", ":"))
    raw = text(value, what)
    try:
        parsed = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise ValueError(f"{what} is not valid JSON: {exc}") from None
    if not isinstance(parsed, dict):
        raise ValueError(f"{what} must be a JSON object, not {raw!r}")
    return raw


def path(value: Any, what: str, *, absolute: bool = False) -> str:
    """A file or folder path; `$HOME`, `${HOME}` and a leading `~` are expanded, nothing else."""
    raw = value_arg(value, what)
    home = os.environ.get("HOME") or str(Path.home())
    expanded = _HOME.sub(lambda _match: home, raw)
    if expanded == "~" or expanded.startswith("~/"):
        expanded = home + expanded[1:]
    if "$" in expanded:
        raise ValueError(f"{what}: only $HOME is expanded in paths, {raw!r} has another '$'")
    if absolute and not expanded.startswith("/"):
        raise ValueError(f"{what} must be an absolute path, not {raw!r}")
    return expanded


def extra_args(value: Any, what: str, reserved: Collection[str]) -> list[str]:
    """`extra_args` split as a shell would (no shell runs): flags gpumod sets itself are refused."""
    raw = text(value, what)
    try:
        parts = shlex.split(raw)
    except ValueError as exc:
        raise ValueError(f"{what} cannot be split: {exc}") from None
    for part in parts:
        text(part, what)
        flag = part.split("=", 1)[0]
        if flag in reserved:
            raise ValueError(f"{what} may not set {flag} (gpumod sets it from the preset)")
    return parts


def launch_spec(definition: Mapping[str, Any], argv: Iterable[str],
                env: Mapping[str, str] | None = None, cwd: str | None = None) -> LaunchSpec:
    """The final check: every argv element, env entry and the cwd are clean strings."""
    items = tuple(argv)
    for item in items:
        text(item, "command-line argument")
    clean_env = {text(key, "environment name"): text(value, f"environment {key}")
                 for key, value in (env or {}).items()}
    return LaunchSpec(service_id=service_id(definition), argv=items, env=clean_env,
                      cwd=Path(text(cwd, "working directory")) if cwd is not None else None,
                      port=port(definition))


def level_number(level: str) -> int:
    """`l1` -> 1, `l2` -> 2 (vLLM's sleep levels)."""
    if level == "l1":
        return 1
    if level == "l2":
        return 2
    raise ValueError(f"sleep level must be l1 or l2, not {level!r}")
