"""Given a service whose start fails on a (fake) machine / when the start saga runs / then an
OomDetected is recorded exactly when the log or the GPU shows memory ran out."""

from __future__ import annotations

from typing import Any

import pytest

from gpumod.adapters.process.base import LaunchSpec, ProcessInfo
from gpumod.bootstrap import App
from gpumod.commands.machine import ActionFailed
from gpumod.commands.sagas.start import start_with_dependencies
from gpumod.events.base import RecordedEvent
from tests.fake_machine import FakeBackend, FakeGpu, fake_machine
from tests.unit.test_lifecycle_sagas import recorder, register, svc


def dies_while_loading(backend: FakeBackend, sid: str, *log: str) -> None:
    backend.on_start[sid] = {"running": False, "exit_code": 1, "log": list(log)}


def others_take(gpu: FakeGpu, backend: FakeBackend, mb: int) -> None:
    """Another process grabs `mb` while the service loads (after gpumod's VRAM check)."""
    launch = backend.start

    def start(spec: LaunchSpec) -> ProcessInfo:
        gpu.others_mb = mb
        return launch(spec)

    backend.start = start  # type: ignore[method-assign]


def failed_start(app: App, sid: str, machine: Any) -> list[RecordedEvent]:
    with pytest.raises(ActionFailed):
        start_with_dependencies(recorder(app), machine, sid)
    return list(app.store.read())


def oom_of(events: list[RecordedEvent]) -> RecordedEvent | None:
    return next((e for e in events if e.type == "OomDetected"), None)


def test_an_oom_in_the_log_records_free_vram_every_gpu_process_and_the_tail(app: App) -> None:
    register(app, svc("qwen", 9000))
    machine, backend, _, _ = fake_machine(others_mb=3000, polls_to_ready=100)
    dies_while_loading(backend, "qwen", "loading model",
                       "torch.OutOfMemoryError: CUDA out of memory. Tried to allocate 2.00 GiB")

    oom = oom_of(failed_start(app, "qwen", machine))

    assert oom is not None
    assert (oom.data["evidence"], oom.data["free_mb"], oom.data["total_mb"]) == (
        "log", 24576 - 3000, 24576)
    assert oom.data["needed_mb"] == 9000
    assert oom.data["processes"] == [{"pid": 1, "used_mb": 3000, "name": "someone-else"}]
    assert oom.data["log_tail"][-1].startswith("torch.OutOfMemoryError")


def test_a_start_failing_while_free_vram_was_short_is_an_oom_without_log_evidence(
    app: App,
) -> None:
    register(app, svc("qwen", 9000))
    machine, backend, _, gpu = fake_machine(polls_to_ready=100)
    dies_while_loading(backend, "qwen", "loading model", "Killed")
    others_take(gpu, backend, 20000)  # 4576 MB left for a 9000 MB service

    events = failed_start(app, "qwen", machine)

    oom = oom_of(events)
    assert oom is not None and oom.data["evidence"] == "vram_short"
    assert (oom.data["free_mb"], oom.data["needed_mb"]) == (4576, 9000)
    assert [e.type for e in events[-2:]] == ["ServiceStartFailed", "OomDetected"]


def test_a_start_failing_with_vram_to_spare_and_a_silent_log_is_no_oom(app: App) -> None:
    register(app, svc("qwen", 9000))
    machine, backend, _, _ = fake_machine(polls_to_ready=100)
    dies_while_loading(backend, "qwen", "ModuleNotFoundError: No module named 'vllm'")

    assert oom_of(failed_start(app, "qwen", machine)) is None


def test_a_server_that_loaded_then_never_became_healthy_was_not_short_of_vram(app: App) -> None:
    # It holds its 20000 MB itself: free VRAM is low, but that memory was its own.
    register(app, svc("big", 20000, startup_timeout=1))
    machine, _, _, _ = fake_machine(polls_to_ready=10**9)

    assert oom_of(failed_start(app, "big", machine)) is None
