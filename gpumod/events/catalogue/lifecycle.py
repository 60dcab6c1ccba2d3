"""A service's life: each class is one transition of the service state machine."""

from __future__ import annotations

from typing import ClassVar, Literal

from gpumod.events.base import Event
from gpumod.events.registry import registered

State = Literal["STOPPED", "STARTING", "RUNNING", "SLEEPING", "STOPPING", "UNHEALTHY", "FAILED"]


class _Lifecycle(Event):
    service_id: str

    def stream(self) -> str:
        return f"service-{self.service_id}"


@registered
class ServiceStarting(_Lifecycle):
    """gpumod decided to start the service (recorded before the launch; the pid follows in
    ServiceProcessLaunched); health is not yet confirmed."""

    type_name: ClassVar[str] = "ServiceStarting"
    backend: str
    pid: int | None = None
    vram_needed_mb: int
    reason: str | None = None


@registered
class ServiceProcessLaunched(_Lifecycle):
    """The backend started the process: recorded after the launch, so the log knows its pid."""

    type_name: ClassVar[str] = "ServiceProcessLaunched"
    backend: str
    pid: int | None = None
    unit: str | None = None


@registered
class ServiceBecameHealthy(_Lifecycle):
    type_name: ClassVar[str] = "ServiceBecameHealthy"
    elapsed_ms: int


@registered
class ServiceStartFailed(_Lifecycle):
    type_name: ClassVar[str] = "ServiceStartFailed"
    reason: str
    exit_code: int | None = None
    log_tail: list[str] = []


@registered
class ServiceStopping(_Lifecycle):
    type_name: ClassVar[str] = "ServiceStopping"
    reason: str | None = None


@registered
class ServiceStopped(_Lifecycle):
    type_name: ClassVar[str] = "ServiceStopped"
    exit_code: int | None = None
    pids: list[int] = []  # its process tree when the stop began: their VRAM is freed late


@registered
class ServiceStopFailed(_Lifecycle):
    type_name: ClassVar[str] = "ServiceStopFailed"
    reason: str


@registered
class ServiceSlept(_Lifecycle):
    type_name: ClassVar[str] = "ServiceSlept"
    level: Literal["l1", "l2", "router"]
    vram_held_mb: int | None = None  # measured once asleep; plans use it for later sleeps


@registered
class ServiceSleepFailed(_Lifecycle):
    """A sleep call failed (e.g. vLLM's 404 when dev mode is off); the service keeps running."""

    type_name: ClassVar[str] = "ServiceSleepFailed"
    level: Literal["l1", "l2", "router"]
    reason: str
    http_status: int | None = None


@registered
class ServiceWoke(_Lifecycle):
    type_name: ClassVar[str] = "ServiceWoke"
    elapsed_ms: int


@registered
class ServiceWakeFailed(_Lifecycle):
    type_name: ClassVar[str] = "ServiceWakeFailed"
    reason: str
    http_status: int | None = None


@registered
class ServiceBecameUnhealthy(_Lifecycle):
    type_name: ClassVar[str] = "ServiceBecameUnhealthy"
    consecutive_failures: int
    last_error: str


@registered
class ServiceRecovered(_Lifecycle):
    type_name: ClassVar[str] = "ServiceRecovered"
    consecutive_successes: int


@registered
class ServiceCrashed(_Lifecycle):
    """The process gpumod started exited when it should be running or sleeping."""

    type_name: ClassVar[str] = "ServiceCrashed"
    exit_code: int | None = None
    log_tail: list[str] = []


@registered
class ServiceStateReconciled(_Lifecycle):
    """After a crash of gpumod: the log's view was corrected to what is really running."""

    type_name: ClassVar[str] = "ServiceStateReconciled"
    state: State
    observed: str
