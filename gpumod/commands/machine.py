"""The machine a saga acts on, as small protocols: real adapters in use, fakes in tests."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any, Protocol

from gpumod.adapters.drivers.base import Driver
from gpumod.adapters.gpu.base import Gpu, GpuSnapshot
from gpumod.adapters.process.base import LaunchSpec, ProcessBackend


class ActionFailed(RuntimeError):
    """A step on the machine failed; the failure is already recorded as an event."""


class GpuBusy(RuntimeError):
    """Another gpumod process is changing the GPU and the caller chose not to wait."""


class GpuLock(Protocol):
    def __call__(self, wait: bool = True) -> AbstractContextManager[None]:
        """Held by one GPU-changing operation at a time; GpuBusy when not waiting."""
        ...


@dataclass
class Machine:
    gpu: Gpu
    backend: ProcessBackend
    driver_for: Callable[[str], Driver]
    launch_spec: Callable[[dict[str, Any]], LaunchSpec]
    port_in_use: Callable[[int], bool]
    descends: Callable[[int, int], bool]  # (pid, root): pid is root or one of its descendants
    lock: GpuLock  # one GPU-changing operation at a time, across processes
    monotonic: Callable[[], float]
    sleep: Callable[[float], None]

    def held_mb(self, snapshot: GpuSnapshot, pid: int | None) -> int:
        """VRAM held by the process tree of `pid` in one GPU reading."""
        pids = set(self.gpu_pids(snapshot, pid))
        return sum(p.used_mb for p in snapshot.processes if p.pid in pids)

    def gpu_pids(self, snapshot: GpuSnapshot, pid: int | None) -> list[int]:
        """The processes of `pid`'s tree that use the GPU in this reading."""
        if pid is None:
            return []
        return sorted(p.pid for p in snapshot.processes if self.descends(p.pid, pid))
