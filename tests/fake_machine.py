"""In-memory stand-ins for the machine a saga drives: a GPU, a process backend, drivers.

They behave as the real ones are documented to: memory of a stopped process is released some
polls later (as CUDA does), llama-server answers 503 until loaded, a 404 on /sleep is an error.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from gpumod.adapters.drivers.base import DriverError, Health
from gpumod.adapters.gpu.base import GpuProcessUsage, GpuSnapshot
from gpumod.adapters.process.base import LaunchSpec, ProcessInfo
from gpumod.commands.machine import Machine


@dataclass
class FakeProcess:
    spec: LaunchSpec
    pid: int
    running: bool = True
    exit_code: int | None = None
    vram_mb: int = 0
    log: list[str] = field(default_factory=list)
    stopped_at: float | None = None


class FakeGpu:
    """Memory of an exited process stays held for `release_s` (fake) seconds, as with CUDA."""

    def __init__(self, total_mb: int = 24576, others_mb: int = 0, release_s: float = 0.0,
                 clock: FakeTime | None = None) -> None:
        self.total_mb, self.others_mb, self.release_s = total_mb, others_mb, release_s
        self.clock = clock or FakeTime()
        self.backend: FakeBackend | None = None

    def _holds(self, proc: FakeProcess) -> bool:
        if proc.running or proc.stopped_at is None:
            return proc.running
        return self.clock.now < proc.stopped_at + self.release_s

    def snapshot(self) -> GpuSnapshot:
        procs = [GpuProcessUsage(p.pid, p.vram_mb, p.spec.service_id)
                 for p in (self.backend.processes.values() if self.backend else [])
                 if self._holds(p) and p.vram_mb]
        if self.others_mb:
            procs.append(GpuProcessUsage(1, self.others_mb, "someone-else"))
        used = sum(p.used_mb for p in procs)
        return GpuSnapshot(0, "Fake GPU", "fake", self.total_mb, used, self.total_mb - used,
                           tuple(procs), simulated=True)


class FakeBackend:
    name = "fake"

    def __init__(self, clock: FakeTime | None = None) -> None:
        self.clock = clock or FakeTime()
        self.processes: dict[str, FakeProcess] = {}
        self.next_pid = 1000
        self.on_start: dict[str, dict[str, Any]] = {}  # service -> FakeProcess field overrides

    def start(self, spec: LaunchSpec) -> ProcessInfo:
        self.next_pid += 1
        vram = int(spec.env.get("FAKE_VRAM_MB", "0"))
        proc = FakeProcess(spec, self.next_pid, vram_mb=vram,
                           **self.on_start.get(spec.service_id, {}))
        self.processes[spec.service_id] = proc
        return ProcessInfo(spec.service_id, proc.pid, proc.running, proc.exit_code)

    def stop(self, service_id: str, timeout_s: float) -> ProcessInfo:
        proc = self.processes.get(service_id)
        if proc is None:  # as the real backends: nothing to stop is not an error
            return ProcessInfo(service_id, None, False)
        if proc.running:
            proc.stopped_at = self.clock.now
        proc.running, proc.exit_code = False, proc.exit_code if proc.exit_code is not None else 0
        return self.info(service_id)

    def info(self, service_id: str) -> ProcessInfo:
        proc = self.processes.get(service_id)
        if proc is None:
            return ProcessInfo(service_id, None, False)
        return ProcessInfo(service_id, proc.pid, proc.running, proc.exit_code)

    def log_tail(self, service_id: str, lines: int = 40) -> list[str]:
        proc = self.processes.get(service_id)
        return proc.log[-lines:] if proc else []


class FakeDriver:
    """Ready after `polls_to_ready` health probes of a running process."""

    name = "fake"

    def __init__(self, backend: FakeBackend, polls_to_ready: int = 3) -> None:
        self.backend, self.polls_to_ready = backend, polls_to_ready
        self.polls: dict[str, int] = {}
        self.sleep_status: int | None = None  # e.g. 404 when vLLM dev mode is off
        self.health_override: dict[str, Health] = {}  # service -> what a live process answers
        self.calls: list[tuple[str, str]] = []
        self.woken_from: str | None = None

    def launch_spec(self, definition: dict[str, Any]) -> LaunchSpec:
        return LaunchSpec(definition["id"], ("fake-server", definition["id"]),
                          env={"FAKE_VRAM_MB": str(definition["vram_mb"])},
                          port=definition.get("port"))

    def health(self, definition: dict[str, Any]) -> Health:
        proc = self.backend.processes.get(definition["id"])
        if proc is None or not proc.running:
            return Health(False, None, "connection refused")
        if proc.spec.service_id in self.health_override:
            return self.health_override[proc.spec.service_id]
        self.polls[proc.spec.service_id] = self.polls.get(proc.spec.service_id, 0) + 1
        if self.polls[proc.spec.service_id] < self.polls_to_ready:
            return Health(False, 503, "Loading model")
        return Health(True, 200)

    def sleep(self, definition: dict[str, Any], level: str) -> None:
        self.calls.append(("sleep", definition["id"]))
        if self.sleep_status is not None:
            raise DriverError(f"POST /sleep answered {self.sleep_status}", self.sleep_status)
        self.backend.processes[definition["id"]].vram_mb = 300

    def wake(self, definition: dict[str, Any], level: str | None = None) -> None:
        self.calls.append(("wake", definition["id"]))
        self.woken_from = level
        self.backend.processes[definition["id"]].vram_mb = int(definition["vram_mb"])

    def is_sleeping(self, definition: dict[str, Any]) -> bool | None:
        return None


@dataclass
class FakeTime:
    now: float = 0.0

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def fake_machine(total_mb: int = 24576, others_mb: int = 0, polls_to_ready: int = 3,
                 busy_ports: frozenset[int] = frozenset(), release_s: float = 0.0,
                 ) -> tuple[Machine, FakeBackend, FakeDriver, FakeGpu]:
    clock = FakeTime()
    backend, gpu = FakeBackend(clock), FakeGpu(total_mb, others_mb, release_s, clock)
    gpu.backend = backend
    driver = FakeDriver(backend, polls_to_ready)

    @contextmanager
    def lock(wait: bool = True) -> Iterator[None]:
        yield

    machine = Machine(
        gpu=gpu, backend=backend, driver_for=lambda name: driver,
        launch_spec=driver.launch_spec, port_in_use=lambda port: port in busy_ports,
        descends=lambda pid, root: pid == root, lock=lock, monotonic=clock.monotonic,
        sleep=clock.sleep)
    return machine, backend, driver, gpu
