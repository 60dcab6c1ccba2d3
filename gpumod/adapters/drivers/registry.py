"""`driver_for(name)`: the driver for a preset's `driver` field, its module imported on first use
(so importing this registry costs nothing: httpx is loaded only when a driver makes a call)."""

from __future__ import annotations

import importlib
from functools import cache

from gpumod.adapters.drivers.base import Driver

_DRIVERS: dict[str, tuple[str, str]] = {
    "vllm": ("gpumod.adapters.drivers.vllm", "VllmDriver"),
    "llamacpp": ("gpumod.adapters.drivers.llamacpp", "LlamaCppDriver"),
    "mistralrs": ("gpumod.adapters.drivers.mistralrs", "MistralRsDriver"),
    "fastapi": ("gpumod.adapters.drivers.fastapi", "FastApiDriver"),
    "docker": ("gpumod.adapters.drivers.docker", "DockerDriver"),
}


def driver_names() -> tuple[str, ...]:
    return tuple(_DRIVERS)


@cache
def driver_for(name: str) -> Driver:
    if name not in _DRIVERS:
        raise ValueError(f"no driver {name!r} (known: {', '.join(_DRIVERS)})")
    module, attribute = _DRIVERS[name]
    driver: Driver = getattr(importlib.import_module(module), attribute)()
    return driver
