"""How a service's process is launched, stopped and inspected, whichever backend does it."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol


@dataclass(frozen=True)
class LaunchSpec:
    """Everything needed to run one service: argv is never passed through a shell."""

    service_id: str
    argv: tuple[str, ...]
    env: dict[str, str] = field(default_factory=dict)
    cwd: Path | None = None
    port: int | None = None


@dataclass(frozen=True)
class ProcessInfo:
    service_id: str
    pid: int | None
    running: bool
    exit_code: int | None = None


class ProcessError(RuntimeError):
    pass


class ProcessBackend(Protocol):
    name: str

    def start(self, spec: LaunchSpec) -> ProcessInfo:
        """Launch detached; returns at once (health is the driver's business)."""
        ...

    def stop(self, service_id: str, timeout_s: float) -> ProcessInfo:
        """SIGTERM (or the unit's stop), then SIGKILL after `timeout_s`; waits for exit."""
        ...

    def info(self, service_id: str) -> ProcessInfo: ...

    def log_tail(self, service_id: str, lines: int = 40) -> list[str]: ...
