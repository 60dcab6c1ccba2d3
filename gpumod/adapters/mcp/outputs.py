"""The shapes tools return: each becomes the tool's output schema (structured content).

Rows mirror the read models the CLI prints with --json (gpumod/adapters/cli/views.py,
gpumod/commands/reports.py); reports built elsewhere (post-mortems, simulations, switch
timelines, replayed states) stay open objects, described by the tool that returns them.
"""

from __future__ import annotations

from typing import Any

from typing_extensions import TypedDict  # pydantic reads typing's only from Python 3.12


class GpuProcess(TypedDict):
    pid: int
    used_mb: int
    name: str | None


class Gpu(TypedDict):
    name: str
    driver_version: str | None
    total_mb: int
    used_mb: int
    free_mb: int
    simulated: bool
    processes: list[GpuProcess]


class ServiceStatus(TypedDict):
    id: str
    state: str
    since: str | None
    pid: int | None
    sleep_level: str | None
    reserved_mb: int
    observed_mb: int
    last_error: str | None


class GpuStatus(TypedDict):
    gpu: Gpu
    active_mode: str | None
    switch_in_progress: str | None
    services: list[ServiceStatus]


class ServiceRow(TypedDict):
    id: str
    name: str | None
    driver: str | None
    port: int | None
    vram_mb: int | None
    sleep_mode: str
    state: str
    since: str | None


class ServiceList(TypedDict):
    services: list[ServiceRow]


class ModeRow(TypedDict):
    id: str
    name: str | None
    description: str | None
    services: list[str]
    vram_mb: int
    active: bool


class ModeList(TypedDict):
    active_mode: str | None
    modes: list[ModeRow]


class ServiceInfo(ServiceRow):
    pid: int | None
    sleep_level: str | None
    measured_vram_mb: int | None
    last_error: str | None
    oom_count: int
    modes: list[str]
    definition: dict[str, Any]


class ModelService(TypedDict):
    id: str
    driver: str | None
    vram_mb: int | None
    measured_vram_mb: int | None
    context_size: int | None
    state: str


class ModelInfo(TypedDict):
    model_id: str
    services: list[ModelService]
    modes: list[str]
    model_paths: list[str]


class Event(TypedDict):
    position: int
    recorded_at: str
    type: str
    stream: str
    version: int
    event_id: str
    schema_version: int
    data: dict[str, Any]
    metadata: dict[str, Any]
    hash: str


class History(TypedDict):
    events: list[Event]
    head_position: int
    more: bool


class Operation(TypedDict):
    correlation_id: str
    service: ServiceRow | None
    events: list[Event]


class Audit(TypedDict):
    intact: bool
    events_checked: int
    head_hash: str | None
    broken_at: int | None
    reason: str | None
