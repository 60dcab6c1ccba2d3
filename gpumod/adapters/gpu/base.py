"""What gpumod needs to know about the GPU, whichever adapter answers."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class GpuProcessUsage:
    pid: int
    used_mb: int
    name: str | None = None


@dataclass(frozen=True)
class GpuSnapshot:
    """One reading of the GPU: other processes' memory counts, so `free_mb` is the truth."""

    index: int
    name: str
    driver_version: str | None
    total_mb: int
    used_mb: int
    free_mb: int
    processes: tuple[GpuProcessUsage, ...]
    simulated: bool


class GpuUnavailable(RuntimeError):
    """No usable GPU; the message says why and how to proceed (e.g. --gpu sim:24GiB)."""


class Gpu(Protocol):
    def snapshot(self) -> GpuSnapshot: ...
