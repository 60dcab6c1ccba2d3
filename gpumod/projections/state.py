"""The read model every projection folds into: services, modes, VRAM ledger, switches."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(slots=True)
class ServiceView:
    id: str
    definition: dict[str, Any]
    state: str = "STOPPED"
    since: str | None = None
    pid: int | None = None
    sleep_level: str | None = None
    measured_vram_mb: int | None = None
    sleep_vram_mb: int | None = None  # what it held when last asleep
    exited_pids: list[int] = field(default_factory=list)  # memory may still be held (CUDA)
    last_error: str | None = None
    oom_count: int = 0


@dataclass(slots=True)
class ModeView:
    id: str
    definition: dict[str, Any]


@dataclass(slots=True)
class VramLedger:
    gpu_name: str | None = None
    total_mb: int | None = None
    driver_version: str | None = None
    simulated: bool = False
    observed_used_mb: int | None = None
    observed_free_mb: int | None = None
    observed_at: str | None = None
    reservations: dict[str, int] = field(default_factory=dict)


@dataclass(slots=True)
class Step:
    position: int
    at: str
    type: str
    stream: str
    detail: dict[str, Any]


@dataclass(slots=True)
class SwitchTimeline:
    switch_id: str
    correlation_id: str | None
    from_mode: str | None
    to_mode: str
    status: str = "in_progress"
    started_at: str = ""
    ended_at: str | None = None
    reason: str | None = None
    steps: list[Step] = field(default_factory=list)


@dataclass(slots=True)
class Anomaly:
    """An event the state machine does not allow, found in the log (it is kept, and flagged)."""

    position: int
    stream: str
    type: str
    message: str


@dataclass(slots=True)
class State:
    position: int = 0
    initialized: bool = False
    services: dict[str, ServiceView] = field(default_factory=dict)
    modes: dict[str, ModeView] = field(default_factory=dict)
    settings: dict[str, Any] = field(default_factory=dict)
    active_mode: str | None = None
    switch_in_progress: str | None = None
    vram: VramLedger = field(default_factory=VramLedger)
    switches: dict[str, SwitchTimeline] = field(default_factory=dict)
    anomalies: list[Anomaly] = field(default_factory=list)
    versions: dict[str, int] = field(default_factory=dict)
    # correlation id -> switch id, so steps recorded in service streams join their switch.
    open_correlations: dict[str, str] = field(default_factory=dict)

    def version_of(self, stream: str) -> int:
        return self.versions.get(stream, 0)
