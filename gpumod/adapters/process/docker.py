"""Services as containers on a Docker engine, through the Docker SDK.

Containers are named `gpumod-<id>`, labelled with the service id, and recorded
(gpumod.adapters.process.container_records). A stopped container is kept, so its exit code and
log stay readable, until the service's next start replaces it.
"""

from __future__ import annotations

from contextlib import suppress
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gpumod.adapters.process import docker_engine as engine
from gpumod.adapters.process.base import LaunchSpec, ProcessError, ProcessInfo
from gpumod.adapters.process.container_records import ContainerRecords
from gpumod.adapters.process.container_spec import ContainerLaunch, container_name

if TYPE_CHECKING:
    import docker
    from docker.models.containers import Container

KILL_WAIT_S = 30.0  # after the stop timeout's SIGKILL, how long the engine may take


class DockerBackend:
    name = "docker"

    def __init__(self, state_dir: Path) -> None:
        self.records = ContainerRecords(state_dir)
        self._client: docker.DockerClient | None = None

    def start(self, spec: LaunchSpec) -> ProcessInfo:
        if not isinstance(spec, ContainerLaunch):
            raise ProcessError(f"{spec.service_id}: the docker backend runs containers only")
        sid = spec.service_id
        with self.records.lock(sid), engine.engine_errors(f"starting {sid}",
                                                          spec.container.image):
            self._remove_previous(sid)
            container = self.client().containers.create(**engine.create_arguments(spec))
            self.records.write(sid, str(container.id))
            try:
                container.start()
            except Exception:
                with suppress(Exception):  # the start's own error is the one to report
                    container.remove(force=True)
                self.records.forget(sid)
                raise
            state = _state(container)
            if state.get("Status") == "created":
                raise ProcessError(f"{sid}: the engine accepted the start, but container "
                                   f"{container.short_id} is still only created")
            return _info(sid, state)

    def stop(self, service_id: str, timeout_s: float) -> ProcessInfo:
        with self.records.lock(service_id), engine.engine_errors(f"stopping {service_id}"):
            container = self._container(service_id)
            if container is None:
                return ProcessInfo(service_id, None, running=False)
            container.stop(timeout=max(1, round(timeout_s)))
            container.wait(timeout=timeout_s + KILL_WAIT_S)
            info = _info(service_id, _state(container))
            if info.running:
                raise ProcessError(f"{service_id}: container {container.short_id} still runs "
                                   "after the engine's stop")
            return info

    def info(self, service_id: str) -> ProcessInfo:
        with engine.engine_errors(f"inspecting {service_id}"):
            container = self._container(service_id)
            if container is None:
                return ProcessInfo(service_id, None, running=False)
            return _info(service_id, _state(container, fresh=True))

    def log_tail(self, service_id: str, lines: int = 40) -> list[str]:
        if lines <= 0:
            return []
        with engine.engine_errors(f"reading the log of {service_id}"):
            container = self._container(service_id)
            if container is None:
                return []
            raw: bytes = container.logs(stdout=True, stderr=True, tail=lines)
        return raw.decode(errors="replace").splitlines()[-lines:]

    def client(self) -> docker.DockerClient:
        if self._client is None:
            self._client = engine.connect()
        return self._client

    def _container(self, service_id: str) -> Container | None:
        """Our container for the service, None when there is no record or it is gone."""
        from docker.errors import NotFound

        container_id = self.records.read(service_id)
        if container_id is None:
            return None
        try:
            container: Container = self.client().containers.get(container_id)
        except NotFound:
            return None
        return container if container.labels.get(engine.LABEL) == service_id else None

    def _remove_previous(self, sid: str) -> None:
        """Our stopped container goes; a running one, or a stranger with our name, refuses."""
        from docker.errors import NotFound

        name = container_name(sid)
        try:
            previous = self.client().containers.get(name)
        except NotFound:
            return
        if previous.labels.get(engine.LABEL) != sid:
            raise ProcessError(f"a container named {name} ({previous.short_id}) exists that "
                               "gpumod did not create; remove or rename it")
        if _info(sid, _state(previous, fresh=True)).running:
            raise ProcessError(f"{sid} is already running (container {previous.short_id}); "
                               "stop it first")
        previous.remove()



def _state(container: Container, fresh: bool = False) -> dict[str, Any]:
    """The engine's word on the container; `fresh`: it was just inspected (each call costs)."""
    if not fresh:
        container.reload()
    state: dict[str, Any] = container.attrs.get("State") or {}
    return state


def _info(sid: str, state: dict[str, Any]) -> ProcessInfo:
    """The host pid of the container's first process while it runs (its GPU memory is measured
    by pid), and its exit code once it has exited."""
    if state.get("Running"):
        return ProcessInfo(sid, int(state.get("Pid") or 0) or None, running=True)
    # Only a container that never ran has no exit code (podman says "stopped" for a moment
    # before "exited", with the code already known).
    ran = state.get("Status") not in ("created", "configured")
    return ProcessInfo(sid, None, False, int(state.get("ExitCode") or 0) if ran else None)
