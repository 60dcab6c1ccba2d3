"""A server that runs in a container on a Docker engine (Docker, or podman's Docker API).

The preset's `extra_config` says what the container is (gpumod.adapters.drivers.docker_preset);
`launch_spec` turns it into a `ContainerLaunch`, which the machine's process backend hands to
the Docker engine (gpumod.adapters.process.docker) rather than running a host process. Health
is probed over HTTP on the preset's `port` and `health_endpoint`, as for the other drivers.
Containers cannot sleep: stopping one is how its memory is freed.
"""

from __future__ import annotations

from typing import Any

from gpumod.adapters.drivers import docker_command, docker_preset, http
from gpumod.adapters.drivers import validation as v
from gpumod.adapters.drivers.base import DriverError, Health
from gpumod.adapters.drivers.docker_mounts import check_sources_exist
from gpumod.adapters.process.container_spec import ContainerLaunch


class DockerDriver:
    name = "docker"

    def launch_spec(self, definition: dict[str, Any]) -> ContainerLaunch:
        # The container's settings live in extra_config; unit_vars would silently do nothing.
        v.unit_vars(definition, self.name, ())
        config = docker_preset.container_config(definition)
        check_sources_exist(config.mounts)
        return ContainerLaunch(
            service_id=v.service_id(definition), argv=docker_command.command(definition),
            env=docker_command.environment(definition), port=v.port(definition),
            container=config)

    def health(self, definition: dict[str, Any]) -> Health:
        return http.probe_health(definition)

    def sleep(self, definition: dict[str, Any], level: str) -> None:
        raise DriverError(f"docker service {definition.get('id')!r} cannot sleep: stop it to "
                          "free its memory")

    def wake(self, definition: dict[str, Any], level: str | None = None) -> None:
        raise DriverError(f"docker service {definition.get('id')!r} cannot sleep, so it cannot "
                          "be woken: start it")

    def is_sleeping(self, definition: dict[str, Any]) -> bool | None:
        return False
