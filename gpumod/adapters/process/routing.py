"""One process backend for the sagas, whatever each service runs as: containers go to the
Docker engine, everything else to the machine's host backend (direct or systemd).

A start is routed by its launch spec (a `ContainerLaunch` is a container); stop, info and
log_tail by the container record a container start leaves, so no engine is asked about host
processes and the Docker SDK is imported only when a container is involved. The backend keeps
the host backend's name: services started either way are this machine's, for the monitor.
"""

from __future__ import annotations

from pathlib import Path

from gpumod.adapters.process.base import LaunchSpec, ProcessBackend, ProcessInfo
from gpumod.adapters.process.container_records import ContainerRecords
from gpumod.adapters.process.container_spec import ContainerLaunch


class RoutingBackend:
    def __init__(self, host: ProcessBackend, state_dir: Path,
                 containers: ProcessBackend | None = None) -> None:
        self.host, self.name = host, host.name
        self.records = ContainerRecords(state_dir)
        self._state_dir = state_dir
        self._containers = containers

    def start(self, spec: LaunchSpec) -> ProcessInfo:
        if isinstance(spec, ContainerLaunch):
            return self.containers().start(spec)
        # Now a host process (its preset changed, or a stand-in): the old container is history.
        self.records.forget(spec.service_id)
        return self.host.start(spec)

    def stop(self, service_id: str, timeout_s: float) -> ProcessInfo:
        return self._for(service_id).stop(service_id, timeout_s)

    def info(self, service_id: str) -> ProcessInfo:
        return self._for(service_id).info(service_id)

    def log_tail(self, service_id: str, lines: int = 40) -> list[str]:
        return self._for(service_id).log_tail(service_id, lines)

    def containers(self) -> ProcessBackend:
        if self._containers is None:
            from gpumod.adapters.process.docker import DockerBackend

            self._containers = DockerBackend(self._state_dir)
        return self._containers

    def _for(self, service_id: str) -> ProcessBackend:
        return self.containers() if self.records.has(service_id) else self.host
