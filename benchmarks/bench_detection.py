"""How late gpumod notices (issue 3): a service becoming ready, and GPU memory being freed.

- Health detection delay: a stand-in server, launched as gpumod launches it (the real machine:
  direct backend, stand-in launch spec, simulated GPU), becomes ready after a random load time
  and reports the moment it did (GET /standin/state: ready_at_monotonic, CLOCK_MONOTONIC, the
  same clock in every process); gpumod's `wait_ready` with the service's real driver polls it.
  The delay is when `wait_ready` returned minus that moment. Two kinds: llama-server (answers
  503 while loading) and a FastAPI app (refuses connections until it is up).
- Release detection delay: memory a live process holds on the simulated GPU is freed at a
  random, recorded moment (by a timer thread, as a server gives memory back); gpumod's
  `await_free_vram` polls the GPU; the delay is when it returned (VramReleased recorded)
  minus that moment.
Targets: both under 50 ms median (the original gpumod polled every 1 s and 0.5 s). Usage:

    .venv/bin/python benchmarks/bench_detection.py [--quick] [--trials N] [--strict]
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from standin_rig import quantile, standin_state

import gpumod
from gpumod.adapters.gpu.select import SIM_FILE_ENV
from gpumod.adapters.gpu.sim import SimulatedGpu
from gpumod.adapters.standins.harness import free_port
from gpumod.bootstrap import MachineSettings, bootstrap, real_machine
from gpumod.commands.machine import Machine
from gpumod.commands.recorder import Origin, Recorder
from gpumod.commands.sagas.release import POLL_S as RELEASE_POLL_S
from gpumod.commands.sagas.release import await_free_vram
from gpumod.commands.sagas.start import FAST_POLL_S, wait_ready

TARGET_MS = 50.0
TOTAL_MB = 24576
GPU = f"sim:{TOTAL_MB}MiB,release=0s"
LOAD_S = (0.2, 0.5)  # random, so the ready moment falls anywhere between two polls
KINDS: dict[str, dict[str, Any]] = {
    "llamacpp": {"unit_vars": {"model_path": "/models/m.gguf"}},
    "fastapi": {"unit_vars": {"app_module": "app:app", "working_dir": "/opt/x"}},
}


def health_delay(state_dir: Path, driver: str) -> float:
    """One trial: launch a stand-in as gpumod does, wait until gpumod sees it ready."""
    load_s = random.uniform(*LOAD_S)
    (state_dir / "standins.yaml").write_text(f"svc: {{load_s: {load_s:.4f}}}\n")
    machine = real_machine(state_dir, MachineSettings(gpu=GPU, process_backend="direct",
                                                      stand_ins=True))
    definition = {"id": "svc", "name": "svc", "driver": driver, "port": free_port(),
                  "vram_mb": 1000, "startup_timeout": 30, **KINDS[driver]}
    machine.backend.start(machine.launch_spec(definition))
    try:
        outcome = wait_ready(machine, machine.driver_for(driver), "svc", definition)
        noticed = time.monotonic()
        if not outcome.ready:
            raise SystemExit(f"{driver} stand-in never became ready: {outcome.reason}")
        ready_at = float(standin_state(definition["port"])["ready_at_monotonic"])
    finally:
        machine.backend.stop("svc", timeout_s=10)
    return (noticed - ready_at) * 1000


def release_delays(machine: Machine, rec: Recorder, trials: int) -> list[float]:
    gpu = machine.gpu
    assert isinstance(gpu, SimulatedGpu)
    holder = subprocess.Popen(["sleep", "600"])  # alive: only an explicit free frees its memory
    delays = []
    try:
        for _ in range(trials):
            gpu.allocate(holder.pid, 20000, "holder")
            freed: list[float] = []
            timer = threading.Timer(random.uniform(0.2, 0.4), _free, (gpu, holder.pid, freed))
            timer.start()
            await_free_vram(rec, machine, TOTAL_MB - 1000, timeout_s=10)
            noticed = time.monotonic()
            timer.join()
            delays.append((noticed - freed[0]) * 1000)
    finally:
        holder.kill()
        holder.wait()
    return delays


def _free(gpu: SimulatedGpu, pid: int, freed: list[float]) -> None:
    gpu.free(pid)
    freed.append(time.monotonic())  # taken after the free: the delay is never overstated


def report(name: str, delays: list[float], poll_s: float) -> bool:
    median = statistics.median(delays)
    ok = median < TARGET_MS
    print(f"  {name:<34} median {median:5.1f} ms  p90 {quantile(delays, 0.9):5.1f} ms  max "
          f"{max(delays):5.1f} ms  (polls every {poll_s * 1000:.0f} ms; target < "
          f"{TARGET_MS:.0f} ms median: {'PASS' if ok else 'MISS'})")
    return ok


def run(folder: Path, trials: int) -> bool:
    app = bootstrap(folder / "gpumod.db")
    app.state_dir.mkdir(parents=True, exist_ok=True)
    os.environ[SIM_FILE_ENV] = str(app.state_dir / "sim-gpu.json")  # this run's GPU only
    print(f"gpumod {gpumod.__version__}, Python {platform.python_version()}, {os.cpu_count()} "
          f"CPUs, load {os.getloadavg()[0]:.1f}; detection delays, {trials} trials each")
    ok = True
    for driver in KINDS:
        delays = [health_delay(app.state_dir, driver) for _ in range(trials)]
        ok &= report(f"health: {driver} stand-in ready", delays, FAST_POLL_S)
    machine = real_machine(app.state_dir, MachineSettings(gpu=GPU, process_backend="direct"))
    rec = Recorder(app.store, app.bus.new_id, "Bench", {}, Origin("bench"))
    ok &= report("release: memory freed on the GPU", release_delays(machine, rec, trials),
                 RELEASE_POLL_S)
    app.store.close()
    return ok


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="fewer trials (CI)")
    parser.add_argument("--trials", type=int, help="trials per figure")
    parser.add_argument("--strict", action="store_true", help="exit 1 when a target is missed")
    args = parser.parse_args(argv)
    trials = args.trials or (8 if args.quick else 20)
    folder = Path(tempfile.mkdtemp(prefix="gpumod-bench-detect-"))
    try:
        ok = run(folder, trials)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return 1 if args.strict and not ok else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
