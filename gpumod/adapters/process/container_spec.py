"""What a container is created with: the launch spec of a service that runs on a Docker engine.

A `ContainerLaunch` is a `LaunchSpec` (argv is the container's command, empty for the image's
own), so the sagas hand it to the machine's backend like any other; the backend that routes
containers (`gpumod.adapters.process.routing`) sends it to the Docker engine.
"""

from __future__ import annotations

from dataclasses import dataclass

from gpumod.adapters.process.base import LaunchSpec

ALL_GPUS = -1  # the Docker API's count for "every GPU" (`docker run --gpus all`)


@dataclass(frozen=True)
class Mount:
    """A host folder (absolute, already checked against the allow-list) or a named volume."""

    source: str
    target: str
    read_only: bool = False
    named_volume: bool = False


@dataclass(frozen=True)
class ContainerConfig:
    image: str
    # Container port ("8080/tcp") -> host port, always published on 127.0.0.1.
    ports: dict[str, int]
    mounts: tuple[Mount, ...] = ()
    gpu_count: int | None = None  # ALL_GPUS, or how many; None with gpu_ids or no GPU
    gpu_ids: tuple[str, ...] = ()
    runtime: str | None = None
    mem_limit: str | None = None
    shm_size: str | None = None


@dataclass(frozen=True, kw_only=True)
class ContainerLaunch(LaunchSpec):
    container: ContainerConfig


def container_name(service_id: str) -> str:
    # The prefix keeps gpumod's containers apart from the user's own.
    return f"gpumod-{service_id}"
