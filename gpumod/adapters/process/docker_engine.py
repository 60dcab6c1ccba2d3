"""The Docker SDK, imported on first use (about 0.4 s): the client, errors, container settings.

The engine is the one `DOCKER_HOST` names (podman's Docker API works too), else the default
socket. Every SDK failure becomes a ProcessError saying what gpumod was doing.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from gpumod.adapters.drivers.validation import HOST
from gpumod.adapters.process.base import ProcessError
from gpumod.adapters.process.container_spec import ContainerLaunch, container_name

if TYPE_CHECKING:
    import docker

LABEL = "gpumod.service"  # which service a container runs; never act on one without it
API_TIMEOUT_S = 60


def connect() -> docker.DockerClient:
    with engine_errors("connecting to the Docker engine"):
        import docker

        # Asks the engine its API version: an unreachable engine fails here.
        return docker.from_env(timeout=API_TIMEOUT_S)


@contextmanager
def engine_errors(doing: str, image: str = "IMAGE") -> Iterator[None]:
    """SDK and connection failures as ProcessError; a missing image says to pull it."""
    from docker.errors import DockerException, ImageNotFound
    from requests.exceptions import RequestException

    try:
        yield
    except ImageNotFound as exc:
        raise ProcessError(f"{doing}: image {image} is not on the Docker engine "
                           f"({_reason(exc)}); gpumod never pulls images: pull or build it "
                           f"yourself (`docker pull {image}`)") from None
    except (DockerException, RequestException) as exc:
        where = os.environ.get("DOCKER_HOST", "the default socket")
        raise ProcessError(f"{doing} (engine at {where}): {_reason(exc)}") from None


def create_arguments(spec: ContainerLaunch) -> dict[str, Any]:
    """Keyword arguments for `containers.create`; nothing the preset may not ask for."""
    from docker.types import DeviceRequest
    from docker.types import Mount as SdkMount

    config = spec.container
    arguments: dict[str, Any] = {
        "image": config.image, "name": container_name(spec.service_id),
        "command": list(spec.argv) or None, "environment": dict(spec.env),
        "ports": {inner: (HOST, outer) for inner, outer in config.ports.items()},
        "labels": {LABEL: spec.service_id}, "detach": True,
        "privileged": False, "network_mode": "bridge",
        "mounts": [SdkMount(target=m.target, source=m.source, read_only=m.read_only,
                            type="volume" if m.named_volume else "bind")
                   for m in config.mounts],
    }
    if config.gpu_ids:
        arguments["device_requests"] = [DeviceRequest(device_ids=list(config.gpu_ids),
                                                      capabilities=[["gpu"]])]
    elif config.gpu_count is not None:
        arguments["device_requests"] = [DeviceRequest(count=config.gpu_count,
                                                      capabilities=[["gpu"]])]
    for key in ("runtime", "mem_limit", "shm_size"):
        if getattr(config, key) is not None:
            arguments[key] = getattr(config, key)
    return arguments


def _reason(exc: BaseException) -> str:
    explanation = getattr(exc, "explanation", None)
    return str(explanation or exc or type(exc).__name__)
