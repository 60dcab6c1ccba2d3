"""The driver interface: how to run, probe, sleep and wake one kind of inference server."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from gpumod.adapters.process.base import LaunchSpec


@dataclass(frozen=True)
class Health:
    """One probe: `ready` only when the server can serve (llama-server's 503 while loading is
    not ready). `status` is the HTTP status, None when nothing answered."""

    ready: bool
    status: int | None
    detail: str = ""


class DriverError(RuntimeError):
    """A state-changing call failed; `status` is the HTTP status when there was one."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class Driver(Protocol):
    name: str

    def launch_spec(self, definition: dict[str, Any]) -> LaunchSpec:
        """The real server's command line for this preset (every field reaches it)."""
        ...

    def health(self, definition: dict[str, Any]) -> Health: ...

    def sleep(self, definition: dict[str, Any], level: str) -> None:
        """Put the service to sleep at `level` (l1, l2, router); DriverError if refused."""
        ...

    def wake(self, definition: dict[str, Any], level: str | None = None) -> None:
        """Wake from `level`, the one it slept at (None: the preset's); return only once the
        service can serve again (router: model reported loaded)."""
        ...

    def is_sleeping(self, definition: dict[str, Any]) -> bool | None:
        """What the server says of itself, or None when it cannot tell."""
        ...
