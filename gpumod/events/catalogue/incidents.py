"""Incidents found on the machine: out-of-memory failures, processes gpumod did not start."""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import BaseModel, ConfigDict

from gpumod.events.base import Event
from gpumod.events.registry import registered


class GpuProcess(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    pid: int
    used_mb: int
    name: str | None = None


@registered
class OomDetected(Event):
    """A service failed for lack of GPU memory: recognised from its log or from short VRAM."""

    type_name: ClassVar[str] = "OomDetected"
    service_id: str
    evidence: Literal["log", "vram_short"]
    free_mb: int
    total_mb: int
    needed_mb: int | None = None
    processes: list[GpuProcess] = []
    log_tail: list[str] = []

    def stream(self) -> str:
        return f"service-{self.service_id}"


@registered
class UnmanagedProcessFound(Event):
    """A process uses the GPU or a service's port but the log says gpumod did not start it."""

    type_name: ClassVar[str] = "UnmanagedProcessFound"
    gpu_index: int = 0
    pid: int | None = None
    used_mb: int | None = None
    port: int | None = None
    name: str | None = None

    def stream(self) -> str:
        return f"gpu-{self.gpu_index}"
