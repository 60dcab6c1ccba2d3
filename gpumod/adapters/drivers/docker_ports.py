"""A docker preset's `extra_config.ports`: which container ports are published on 127.0.0.1.

Accepted: a list of "HOST:CONTAINER" strings (the original gpumod docs' form; "127.0.0.1:HOST:
CONTAINER" too), bare container ports (published on the same host port), or a mapping
{CONTAINER: HOST}. CONTAINER may end in /tcp or /udp. Any other host address is refused: every
server gpumod manages answers on loopback only.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from gpumod.adapters.drivers.validation import HOST

WHAT = "extra_config.ports"
_CONTAINER = re.compile(r"^([0-9]{1,5})(/tcp|/udp)?$")


def ports(value: Any, preset_port: int) -> dict[str, int]:
    """Container port ("8080/tcp") -> host port; the preset's port must be published."""
    if value is None:
        return {f"{preset_port}/tcp": preset_port}
    if isinstance(value, Mapping):
        pairs = [(_container(c), _host(h, f"{WHAT}[{c!r}]")) for c, h in value.items()]
    elif isinstance(value, list):
        pairs = [_item(item) for item in value]
    else:
        raise ValueError(f"{WHAT} must be a list of 'HOST:CONTAINER' strings or a mapping "
                         f"{{CONTAINER: HOST}}, not {value!r}")
    published: dict[str, int] = {}
    for container, host in pairs:
        if host in published.values():
            raise ValueError(f"{WHAT}: host port {host} is published twice")
        published[container] = host
    if preset_port not in published.values():
        raise ValueError(f"{WHAT} publishes no container port on the preset's port "
                         f"{preset_port}, where gpumod probes its health; add "
                         f"'{preset_port}:CONTAINER_PORT'")
    return published


def _item(item: Any) -> tuple[str, int]:
    if isinstance(item, int) and not isinstance(item, bool):
        return _container(item), _host(item, WHAT)
    if not isinstance(item, str):
        raise ValueError(f"{WHAT}: {item!r} must be 'HOST:CONTAINER' or a port number")
    parts = item.split(":")
    if len(parts) == 3:
        if parts[0] != HOST:
            raise ValueError(f"{WHAT}: {item!r}: ports are published on {HOST} only, not on "
                             f"{parts[0]!r}")
        parts = parts[1:]
    if len(parts) == 1:
        container = _container(parts[0])
        return container, _host(container.split("/")[0], WHAT)
    if len(parts) != 2:
        raise ValueError(f"{WHAT}: {item!r} must be 'HOST:CONTAINER'")
    return _container(parts[1]), _host(parts[0], f"{WHAT}: {item!r}")


def _container(value: Any) -> str:
    match = _CONTAINER.fullmatch(str(value))
    if match is None or not 1 <= int(match[1]) <= 65535:
        raise ValueError(f"{WHAT}: container port {value!r} must be a port number (1-65535), "
                         "optionally followed by /tcp or /udp")
    return f"{int(match[1])}{match[2] or '/tcp'}"


def _host(value: Any, what: str) -> int:
    text = str(value)
    if isinstance(value, bool) or not text.isdigit() or not 1 <= int(text) <= 65535:
        raise ValueError(f"{what}: host port {value!r} must be a port number (1-65535)")
    return int(text)
