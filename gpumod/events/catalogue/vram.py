"""The GPU and its memory: what was seen, what services really used, releases awaited."""

from __future__ import annotations

from typing import ClassVar

from gpumod.events.base import Event
from gpumod.events.catalogue.incidents import GpuProcess
from gpumod.events.registry import registered


class _Gpu(Event):
    gpu_index: int = 0

    def stream(self) -> str:
        return f"gpu-{self.gpu_index}"


@registered
class GpuDetected(_Gpu):
    type_name: ClassVar[str] = "GpuDetected"
    name: str
    total_mb: int
    driver_version: str | None = None
    simulated: bool = False


@registered
class VramObserved(_Gpu):
    type_name: ClassVar[str] = "VramObserved"
    total_mb: int
    used_mb: int
    free_mb: int
    processes: list[GpuProcess] = []


@registered
class ServiceVramMeasured(Event):
    """What a healthy service really holds; later starts use it instead of the preset guess."""

    type_name: ClassVar[str] = "ServiceVramMeasured"
    service_id: str
    vram_mb: int

    def stream(self) -> str:
        return f"service-{self.service_id}"


@registered
class VramReleaseAwaited(_Gpu):
    type_name: ClassVar[str] = "VramReleaseAwaited"
    needed_mb: int
    free_mb: int
    timeout_s: float


@registered
class VramReleased(_Gpu):
    type_name: ClassVar[str] = "VramReleased"
    needed_mb: int
    free_mb: int
    waited_ms: int
    samples: list[tuple[int, int]] = []  # (ms since wait began, free MiB)


@registered
class VramReleaseTimedOut(_Gpu):
    type_name: ClassVar[str] = "VramReleaseTimedOut"
    needed_mb: int
    free_mb: int
    waited_ms: int
    samples: list[tuple[int, int]] = []
