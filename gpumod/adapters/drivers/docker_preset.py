"""A docker preset's `extra_config`, checked and read into a `ContainerConfig` (no SDK here).

    image        the image (required); never pulled: it must be on the engine already
    command      see gpumod.adapters.drivers.docker_command
    ports        ["HOST:CONTAINER"] or {CONTAINER: HOST} (`/tcp` or `/udp` may follow
                 CONTAINER), published on 127.0.0.1 only; default: the preset's `port` on both
                 sides. The preset's `port` (probed for health) must be one of the host ports.
    environment  see gpumod.adapters.drivers.docker_command
    volumes      see gpumod.adapters.drivers.docker_mounts
    gpus         all | a count | [device ids], as `docker run --gpus`
    runtime      runc | crun | nvidia
    mem_limit, shm_size   a size such as 512m or 16g

Options that would hand the container the host are refused with the reason (REFUSED).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from gpumod.adapters.drivers import docker_command, docker_ports
from gpumod.adapters.drivers import validation as v
from gpumod.adapters.drivers.docker_mounts import mounts
from gpumod.adapters.process.container_spec import ALL_GPUS, ContainerConfig

ACCEPTED = ("image", "command", "ports", "environment", "volumes", "gpus", "runtime",
            "mem_limit", "shm_size")
RUNTIMES = ("runc", "crun", "nvidia")
# Key -> (values that ask for nothing, why anything else is refused).
REFUSED: dict[str, tuple[tuple[Any, ...], str]] = {
    "privileged": ((False,), "privileged containers are refused: they can take over the host"),
    "network_mode": (("bridge", "default"), "only 'bridge' is accepted (host networking "
                     "would put the container's sockets on the host; extra_config.ports "
                     "publishes them on 127.0.0.1)"),
    "pid_mode": (("",), "sharing the host's processes is refused"),
    "ipc_mode": (("", "private"), "sharing the host's IPC is refused; use shm_size"),
    "userns_mode": (("",), "the host's user namespace is refused"),
    "uts_mode": (("",), "the host's UTS namespace is refused"),
    "cap_add": (([],), "extra capabilities are refused"),
    "devices": (([],), "host devices are refused; GPU access is extra_config.gpus"),
    "security_opt": (([],), "security options are refused"),
    "volumes_from": (([],), "mounting another container's volumes is refused"),
}
_IMAGE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._/:@-]{0,254}$")
_SIZE = re.compile(r"^[1-9][0-9]*[bkmgBKMG]?$")


def container_config(definition: Mapping[str, Any]) -> ContainerConfig:
    """ValueError naming the `extra_config` field for anything refused or malformed."""
    extra = _extra_config(definition)
    image = extra.get("image")
    if not isinstance(image, str) or not _IMAGE.fullmatch(image):
        raise ValueError(f"extra_config.image must name an image such as "
                         f"'ghcr.io/org/server:1.2', not {image!r}")
    gpu_count, gpu_ids = _gpus(extra.get("gpus"))
    return ContainerConfig(
        image=image, ports=docker_ports.ports(extra.get("ports"), v.port(definition)),
        mounts=mounts(extra.get("volumes")), gpu_count=gpu_count, gpu_ids=gpu_ids,
        runtime=(v.choice(extra["runtime"], "extra_config.runtime", RUNTIMES)
                 if "runtime" in extra else None),
        mem_limit=_size(extra.get("mem_limit"), "mem_limit"),
        shm_size=_size(extra.get("shm_size"), "shm_size"))


def _extra_config(definition: Mapping[str, Any]) -> dict[str, Any]:
    extra = definition.get("extra_config")
    if not isinstance(extra, Mapping) or not extra:
        raise ValueError(f"docker preset {definition.get('id')!r} needs extra_config with at "
                         "least an image")
    for key, value in extra.items():
        if key in REFUSED:
            harmless, why = REFUSED[key]
            if value not in harmless:
                raise ValueError(f"extra_config.{key}: {value!r} is refused: {why}")
        elif key not in ACCEPTED:
            raise ValueError(f"extra_config: unknown key {key!r} (accepted keys: "
                             f"{', '.join(ACCEPTED)})")
    return dict(extra)


def _gpus(value: Any) -> tuple[int | None, tuple[str, ...]]:
    if value is None:
        return None, ()
    if value == "all":
        return ALL_GPUS, ()
    if isinstance(value, int) and not isinstance(value, bool) and value >= 1:
        return value, ()
    if isinstance(value, list) and value and all(
            isinstance(i, str | int) and not isinstance(i, bool) for i in value):
        return None, tuple(v.text(str(i), "extra_config.gpus") for i in value)
    raise ValueError(f"extra_config.gpus must be 'all', a count (1 or more) or a list of GPU "
                     f"ids or indexes, not {value!r}")


def _size(value: Any, key: str) -> str | None:
    if value is None:
        return None
    if not _SIZE.fullmatch(str(value)):
        raise ValueError(f"extra_config.{key} must be a size such as 512m or 16g, not {value!r}")
    return str(value)


def check_preset(definition: Mapping[str, Any]) -> None:
    """Everything `launch_spec` checks but what depends on the moment (host folders exist)."""
    v.unit_vars(definition, "docker", ())
    container_config(definition)
    docker_command.command(definition)
    docker_command.environment(definition)
