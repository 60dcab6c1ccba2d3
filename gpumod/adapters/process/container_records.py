"""Which container gpumod created for a service: `<state_dir>/run/<id>.container` holds its id.

Only that container is ever stopped, inspected or removed, and the file's presence is how the
routing backend knows, without asking the engine, that the service runs as a container.
"""

from __future__ import annotations

import fcntl
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from gpumod.adapters.process.base import ProcessError
from gpumod.definitions import ID_PATTERN


class ContainerRecords:
    def __init__(self, state_dir: Path) -> None:
        self.run_dir = state_dir / "run"

    def has(self, service_id: str) -> bool:
        return self._path(service_id).exists()

    def read(self, service_id: str) -> str | None:
        try:
            return self._path(service_id).read_text().strip() or None
        except FileNotFoundError:
            return None

    def write(self, service_id: str, container_id: str) -> None:
        path = self._path(service_id)
        temporary = path.with_suffix(".tmp")
        temporary.write_text(container_id + "\n")
        temporary.replace(path)

    def forget(self, service_id: str) -> None:
        self._path(service_id).unlink(missing_ok=True)

    @contextmanager
    def lock(self, service_id: str) -> Iterator[None]:
        # Two gpumod commands must not both create (or stop and replace) one service's container.
        self._path(service_id)
        self.run_dir.mkdir(parents=True, exist_ok=True)
        with open(self.run_dir / f"{service_id}.container.lock", "wb") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            yield

    def _path(self, service_id: str) -> Path:
        # The id names a file under the state dir: nothing may reach outside it.
        if not ID_PATTERN.fullmatch(service_id):
            raise ProcessError(f"invalid service id {service_id!r}")
        return self.run_dir / f"{service_id}.container"
