"""The stand-in servers' failure behaviours, as real processes on a simulated GPU: out of memory,
crash, failing health, SIGTERM, slow teardown, bad command lines."""

from __future__ import annotations

import socket
import sys
import time
from pathlib import Path

import pytest

from gpumod.adapters.drivers.fastapi import FastApiDriver
from gpumod.adapters.drivers.vllm import VllmDriver
from gpumod.adapters.gpu.sim import SimulatedGpu
from gpumod.adapters.standins.harness import StandInProcess, free_port, launch, start_standin


def run(started: list[StandInProcess], kind: str, gpu_file: Path, **kwargs: object
        ) -> StandInProcess:
    process = start_standin(kind, gpu_file, **kwargs)  # type: ignore[arg-type]
    started.append(process)
    return process


def holding(gpu_file: Path, pid: int, release_delay_s: float = 60) -> int | None:
    """What `pid` holds as a reader with this release delay sees it (None: no allocation)."""
    snapshot = SimulatedGpu(gpu_file, 24576, release_delay_s=release_delay_s).snapshot()
    return next((p.used_mb for p in snapshot.processes if p.pid == pid), None)


OOM_MESSAGES = {
    "vllm": "torch.OutOfMemoryError: CUDA out of memory. Tried to allocate",
    "llamacpp": "ggml_backend_cuda_buffer_type_alloc_buffer: allocating 4000.00 MiB on device 0: "
                "cudaMalloc failed: out of memory",
    "mistralrs": "CUDA_ERROR_OUT_OF_MEMORY",
    "fastapi": "torch.OutOfMemoryError: CUDA out of memory. Tried to allocate",
}


@pytest.mark.parametrize("kind", sorted(OOM_MESSAGES))
def test_an_oom_standin_prints_the_real_message_and_exits_non_zero(
        kind: str, gpu_file: Path, started: list[StandInProcess]) -> None:
    process = run(started, kind, gpu_file, vram_mb=4000, behaviour={"load_s": 0.1, "oom": True})
    code = process.wait_exit()
    assert code != 0
    assert OOM_MESSAGES[kind] in process.output()
    # what it had allocated is not freed explicitly: the simulated GPU releases it later
    assert holding(gpu_file, process.pid) is not None


def test_a_standin_that_does_not_fit_fails_as_out_of_memory(
        gpu_file: Path, started: list[StandInProcess]) -> None:
    process = run(started, "vllm", gpu_file, vram_mb=4000, total_mb=3000,
                  behaviour={"load_s": 0.1})
    assert process.wait_exit() == 1
    assert "Tried to allocate 3.91 GiB" in process.output()


def test_memory_really_used_can_differ_from_the_declared(
        gpu_file: Path, started: list[StandInProcess]) -> None:
    process = run(started, "vllm", gpu_file, vram_mb=4000,
                  behaviour={"load_s": 0.1, "real_vram_mb": 5500})
    process.wait_ready()
    assert holding(gpu_file, process.pid) == 5500


def test_a_crashing_standin_dies_with_a_cuda_error(gpu_file: Path,
                                                   started: list[StandInProcess]) -> None:
    process = run(started, "llamacpp", gpu_file, behaviour={"load_s": 0.1, "crash_after_s": 0.5})
    assert process.wait_exit() == 1
    assert "CUDA error: an illegal memory access was encountered" in process.output()


def test_failing_health_answers_500(gpu_file: Path, started: list[StandInProcess]) -> None:
    process = run(started, "vllm", gpu_file, args=["--model", "m"],
                  behaviour={"load_s": 0.1, "health_fail": True})
    process.wait_ready()
    health = VllmDriver().health({"id": "svc", "port": process.port})
    assert (health.ready, health.status) == (False, 500)


def test_health_can_fail_after_some_seconds(gpu_file: Path,
                                            started: list[StandInProcess]) -> None:
    process = run(started, "fastapi", gpu_file, behaviour={"load_s": 0.1, "health_fail": 1.0})
    process.wait_ready()
    definition = {"id": "svc", "port": process.port}
    statuses = [FastApiDriver().health(definition).status]
    deadline = time.monotonic() + 10
    while statuses[-1] != 500 and time.monotonic() < deadline:
        time.sleep(0.05)
        statuses.append(FastApiDriver().health(definition).status)
    assert statuses[0] == 200
    assert statuses[-1] == 500


def test_sigterm_exits_cleanly_and_the_gpu_releases_the_memory_later(
        gpu_file: Path, started: list[StandInProcess]) -> None:
    process = run(started, "mistralrs", gpu_file, vram_mb=3000, behaviour={"load_s": 0.1})
    process.wait_ready()
    assert holding(gpu_file, process.pid) == 3000
    assert process.stop() == 0
    assert "Serving on" in process.output()
    assert holding(gpu_file, process.pid) == 3000  # a reader with a 60 s delay still sees it
    holding(gpu_file, process.pid, release_delay_s=0)  # first seen gone now...
    assert holding(gpu_file, process.pid, release_delay_s=0) is None  # ...and released


def test_a_slow_teardown_stops_listening_but_holds_memory_until_it_exits(
        gpu_file: Path, started: list[StandInProcess]) -> None:
    process = run(started, "vllm", gpu_file, vram_mb=2000,
                  behaviour={"load_s": 0.1, "release_delay_s": 1.0})
    process.wait_ready()
    process.proc.terminate()
    deadline = time.monotonic() + 10
    while process.get("/health", timeout=0.5)[0] is not None and time.monotonic() < deadline:
        time.sleep(0.02)
    assert process.get("/health", timeout=0.5)[0] is None  # no longer answering
    assert process.proc.poll() is None  # but still alive, tearing down
    assert holding(gpu_file, process.pid, release_delay_s=0) == 2000
    assert process.wait_exit() == 0
    assert "holding 2000 MiB" in process.output()


def test_an_unknown_behaviour_key_is_refused(gpu_file: Path,
                                             started: list[StandInProcess]) -> None:
    process = run(started, "vllm", gpu_file, behaviour={"laod_s": 1})
    assert process.wait_exit() == 2
    assert "unknown behaviour key 'laod_s'" in process.output()


def test_a_standin_needs_a_simulated_gpu(tmp_path: Path, started: list[StandInProcess],
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GPUMOD_SIM_GPU_FILE", raising=False)
    port = free_port()
    process = launch("fastapi", "svc", port, [
        sys.executable, "-m", "gpumod.adapters.standins", "fastapi", "--port", str(port),
        "--service-id", "svc", "--vram-mb", "10"], {}, tmp_path)
    started.append(process)
    assert process.wait_exit() == 2
    assert "no simulated GPU" in process.output()


def test_a_port_already_taken_fails_the_start(gpu_file: Path,
                                              started: list[StandInProcess]) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        process = run(started, "fastapi", gpu_file, port=port, behaviour={"load_s": 0.1})
        assert process.wait_exit() == 1
    assert "address already in use" in process.output().lower()
