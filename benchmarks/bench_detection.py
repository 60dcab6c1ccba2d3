"""How late gpumod notices (issue 3): a service becoming ready, and GPU memory being freed.

- Health detection delay: a llama-server stand-in (503 while loading) becomes ready at a moment
  it reports (CLOCK_MONOTONIC, shared by all processes); gpumod's `wait_ready` with the real
  llamacpp driver polls it; the delay is when `wait_ready` returned minus that moment.
- Release detection delay: memory a process holds on the simulated GPU is freed at a known
  moment (by another thread); gpumod's `await_free_vram` polls the GPU; the delay is when it
  returned minus that moment.
Targets: both under 50 ms median (the original gpumod polled every 1 s and 0.5 s). Usage:

    .venv/bin/python benchmarks/bench_detection.py [--trials N] [--strict]
"""

from __future__ import annotations

import argparse
import random
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import replace
from pathlib import Path

from gpumod.adapters.drivers.registry import driver_for
from gpumod.adapters.gpu.sim import SimulatedGpu
from gpumod.adapters.process.base import ProcessInfo
from gpumod.adapters.process.direct import DirectBackend
from gpumod.adapters.standins.harness import start_standin
from gpumod.bootstrap import MachineSettings, bootstrap, real_machine
from gpumod.commands.machine import Machine
from gpumod.commands.recorder import Origin, Recorder
from gpumod.commands.sagas.release import await_free_vram
from gpumod.commands.sagas.start import wait_ready

TARGET_MS = 50.0
TOTAL_MB = 24576


def health_delays(folder: Path, machine: Machine, trials: int) -> list[float]:
    delays = []
    for _ in range(trials):
        process = start_standin("llamacpp", folder / "health-gpu.json", service_id="svc",
                                vram_mb=1000, args=["--model", "/models/m.gguf"],
                                behaviour={"load_s": random.uniform(0.3, 0.6)})
        definition = {"id": "svc", "name": "svc", "driver": "llamacpp", "port": process.port,
                      "vram_mb": 1000, "startup_timeout": 30,
                      "unit_vars": {"model_path": "/models/m.gguf"}}
        try:
            outcome = wait_ready(machine, driver_for("llamacpp"), "svc", definition)
            noticed = time.monotonic()
            assert outcome.ready, outcome
            ready_at = process.state()["ready_at_monotonic"]
            delays.append((noticed - float(ready_at)) * 1000)
        finally:
            process.stop()
    return delays


class _AlwaysRunning(DirectBackend):
    """`wait_ready` asks the backend whether the process lives: the stand-in does."""

    def info(self, service_id: str) -> ProcessInfo:
        return ProcessInfo(service_id, None, True)


def release_delays(folder: Path, machine: Machine, rec: Recorder, trials: int) -> list[float]:
    gpu = SimulatedGpu(folder / "sim-gpu.json", TOTAL_MB, release_delay_s=0)
    holder = subprocess.Popen(["sleep", "600"])
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
    freed.append(time.monotonic())


def report(name: str, delays: list[float]) -> bool:
    median = statistics.median(delays)
    p90 = sorted(delays)[int(len(delays) * 0.9) - 1]
    ok = median < TARGET_MS
    print(f"  {name:<28} median {median:6.1f} ms  p90 {p90:6.1f} ms  max {max(delays):6.1f} ms "
          f"(target < {TARGET_MS:.0f} ms median: {'PASS' if ok else 'MISS'})")
    return ok


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=15)
    parser.add_argument("--strict", action="store_true", help="exit 1 when a target is missed")
    args = parser.parse_args(argv)
    folder = Path(tempfile.mkdtemp(prefix="gpumod-bench-detect-"))
    app = bootstrap(folder / "gpumod.db")
    settings = MachineSettings(gpu=f"sim:{TOTAL_MB}MiB,release=0s", process_backend="direct")
    machine = real_machine(app.state_dir, settings)
    machine.gpu = SimulatedGpu(folder / "sim-gpu.json", TOTAL_MB, release_delay_s=0)
    health_machine = replace(machine, backend=_AlwaysRunning(folder / "state"))
    rec = Recorder(app.store, app.bus.new_id, "Bench", {}, Origin("bench"))
    print(f"detection delays ({args.trials} trials each)")
    ok = report("health (service ready)", health_delays(folder, health_machine, args.trials))
    ok &= report("release (memory freed)", release_delays(folder, machine, rec, args.trials))
    return 1 if args.strict and not ok else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
