"""What reading the machine costs `gpumod status` and the MCP `gpu_status`, per live service.

`system_status` reads the GPU once and asks, for each live service, how much of that reading
its process tree holds (Machine.held_mb). That used to list every process's children, a scan
of all of /proc, once per service (~5 ms each on a desktop with a few hundred processes); now
it walks up from the few processes the GPU reading lists, the walks sharing their reads. Both
run here side by side, interleaved, on four live stand-in services on the simulated GPU: with
/proc as it is, and again with idle processes added to look like a desktop's. Usage:

    .venv/bin/python benchmarks/bench_status.py [--quick] [--calls N] [--extra-processes N]
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import fields
from pathlib import Path

from standin_rig import make_rig, switch

import gpumod
from gpumod.adapters.gpu.base import GpuSnapshot
from gpumod.adapters.process.tree import FRESH_S
from gpumod.commands.current_state import current_state
from gpumod.commands.machine import Machine
from gpumod.commands.reports import system_status
from gpumod.projections.state import State

SERVICES = ["s-one", "s-two", "s-three", "s-four"]


def scan_descendants(root: int) -> set[int]:
    """The former way (tree.py's pids_of, until 18f3bb3): all of /proc, every time."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            parent = int(stat.read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError):
            continue
        children.setdefault(parent, []).append(int(stat.parent.name))
    found, todo = {root}, [root]
    while todo:
        for child in children.get(todo.pop(), []):
            if child not in found:
                found.add(child)
                todo.append(child)
    return found


class ScanningMachine(Machine):
    """Machine.held_mb as it was: one /proc scan per service."""

    def held_mb(self, snapshot: GpuSnapshot, pid: int | None) -> int:
        if pid is None:
            return 0
        pids = scan_descendants(pid)
        return sum(p.used_mb for p in snapshot.processes if p.pid in pids)


def timed(call: Callable[[], object], calls: int) -> list[float]:
    """Each call a reading of its own, as `gpumod status` makes: none reuses the parents an
    earlier one read (tree.py keeps them FRESH_S)."""
    times = []
    for _ in range(calls):
        time.sleep(FRESH_S * 1.5)
        began = time.perf_counter()
        call()
        times.append((time.perf_counter() - began) * 1000)
    return times


def compare(machine: Machine, state: State, calls: int) -> tuple[float, float]:
    """Median ms of system_status, the former way and now, interleaved in rounds of 10."""
    former = ScanningMachine(**{f.name: getattr(machine, f.name) for f in fields(machine)})
    results: dict[str, list[float]] = {"former": [], "now": []}
    for _ in range(max(calls // 10, 1)):
        results["former"] += timed(lambda: system_status(state, former), 10)
        results["now"] += timed(lambda: system_status(state, machine), 10)
    return statistics.median(results["former"]), statistics.median(results["now"])


def print_row(what: str, former: float, now: float) -> None:
    per = len(SERVICES)
    print(f"  {what:<30} former {former:6.2f} ms ({former / per:5.2f}/service)   now "
          f"{now:5.2f} ms ({now / per:4.2f}/service)   {former / now:5.1f}x faster")


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="fewer calls (CI)")
    parser.add_argument("--calls", type=int, help="system_status calls per figure")
    parser.add_argument("--extra-processes", type=int, default=300,
                        help="idle processes added for the desktop-like figure")
    args = parser.parse_args(argv)
    calls = args.calls or (30 if args.quick else 100)
    print(f"gpumod {gpumod.__version__}, Python {platform.python_version()}, {os.cpu_count()} "
          f"CPUs, load {os.getloadavg()[0]:.1f}; system_status with {len(SERVICES)} live "
          f"stand-in services, median of {calls} calls each (GPU reading included)")
    rig = make_rig({"all": SERVICES}, "gpumod-bench-status-")
    try:
        switch(rig, "all")
        state = current_state(rig.app.store)
        print_row(f"/proc as is ({_process_count()} processes)",
                  *compare(rig.machine, state, calls))
        idle = [subprocess.Popen(["sleep", "600"]) for _ in range(args.extra_processes)]
        try:
            print_row(f"desktop-like ({_process_count()} processes)",
                      *compare(rig.machine, state, calls))
        finally:
            for process in idle:
                process.kill()
                process.wait()
    finally:
        rig.close()
    return 0


def _process_count() -> int:
    return sum(1 for entry in os.scandir("/proc") if entry.name.isdigit())


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
