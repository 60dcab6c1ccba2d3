"""gpumod's own overhead per mode switch (issue 4, "Figures"): switching back and forth between
two modes of two stand-in services each (a 4-service switch: stop two, start two) that become
ready at once, on a simulated GPU that frees memory at once.

overhead = wall time of the switch - the services' own time, where the services' own time is,
per started service, launch -> healthy as gpumod measured it (ServiceBecameHealthy.elapsed_ms,
which is mostly the stand-in's Python start-up) and, per stopped service, SIGTERM -> exited
(ServiceStopping -> ServiceStopped). What is left is planning, the log, VRAM checks and polling.
Usage:

    .venv/bin/python benchmarks/bench_switch.py [--switches N] [--strict]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from datetime import datetime
from functools import partial
from pathlib import Path

from gpumod.bootstrap import App, MachineSettings, bootstrap, real_machine
from gpumod.commands.current_state import current_state
from gpumod.commands.machine import Machine
from gpumod.commands.messages import ImportConfiguration, ModeFile, ServiceFile
from gpumod.commands.operate import operate
from gpumod.commands.recorder import Origin, Recorder
from gpumod.commands.sagas.stop import stop_one
from gpumod.commands.sagas.switch import switch_mode
from gpumod.definitions import ModeDefinition, ServiceDefinition
from gpumod.events.base import RecordedEvent
from gpumod.events.query import EventFilter
from gpumod.projections.service_state import LIVE

TARGET_MS = 100
MODES = {"left": ["l-one", "l-two"], "right": ["r-one", "r-two"]}


def configure(app: App, base_port: int) -> None:
    services = tuple(ServiceFile(None, ServiceDefinition.model_validate({
        "id": sid, "name": sid, "driver": "fastapi", "port": base_port + index, "vram_mb": 4000,
        "unit_vars": {"app_module": "app:app", "working_dir": "/opt/x"}}))
        for index, sid in enumerate(s for members in MODES.values() for s in members))
    modes = tuple(ModeFile(None, ModeDefinition.model_validate(
        {"id": m, "name": m, "services": s})) for m, s in MODES.items())
    app.bus.handle(ImportConfiguration(services=services, modes=modes, initialize=True),
                   Origin("bench"))


def own_time_ms(events: list[RecordedEvent]) -> float:
    """The services' own start and stop time within one switch's events."""
    total = sum(e.data["elapsed_ms"] for e in events if e.type == "ServiceBecameHealthy")
    stopping: dict[str, datetime] = {}
    for event in events:
        at = datetime.fromisoformat(event.recorded_at)
        if event.type == "ServiceStopping":
            stopping[event.data["service_id"]] = at
        elif event.type == "ServiceStopped":
            total += (at - stopping.pop(event.data["service_id"])).total_seconds() * 1000
    return float(total)


def run(switches: int) -> list[tuple[float, float]]:
    folder = Path(tempfile.mkdtemp(prefix="gpumod-bench-switch-"))
    (folder / "state").mkdir()
    (folder / "state" / "standins.yaml").write_text(
        "".join(f"{s}: {{load_s: 0}}\n" for m in MODES.values() for s in m))
    app = bootstrap(folder / "gpumod.db")
    configure(app, 19300 + os.getpid() % 500)
    settings = MachineSettings(gpu="sim:24GiB,release=0s", process_backend="direct",
                               stand_ins=True)
    machine = real_machine(app.state_dir, settings)
    results = []
    try:
        for index in range(switches + 1):
            target = "left" if index % 2 == 0 else "right"
            began = time.perf_counter()
            rec, result = operate(app.store, app.bus.new_id, machine, "SwitchMode", {},
                                  Origin("bench"), partial(switch_mode, mode_id=target))
            wall = (time.perf_counter() - began) * 1000
            assert result.status == "completed", result
            events = list(app.store.read(EventFilter(correlation_id=rec.correlation_id)))
            if index:  # the first switch only starts two: not a 4-service switch
                results.append((wall, own_time_ms(events)))
    finally:
        operate(app.store, app.bus.new_id, machine, "SwitchMode", {}, Origin("bench"),
                _stop_all)
    return results


def _stop_all(rec: Recorder, machine: Machine) -> None:
    for sid, view in current_state(rec.store).services.items():
        if view.state in LIVE:
            stop_one(rec, machine, sid)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--switches", type=int, default=10)
    parser.add_argument("--strict", action="store_true", help="exit 1 when the target is missed")
    args = parser.parse_args(argv)
    results = run(args.switches)
    overheads = [wall - own for wall, own in results]
    median = statistics.median(overheads)
    print(f"4-service switch ({args.switches} switches, stand-ins ready at once, "
          "simulated GPU releasing memory at once)")
    wall, own = (statistics.median(r[i] for r in results) for i in (0, 1))
    print(f"  wall time per switch:         median {wall:7.1f} ms")
    print(f"  services' own start+stop:     median {own:7.1f} ms")
    print(f"  gpumod overhead per switch:   median {median:7.1f} ms, max {max(overheads):.1f} ms "
          f"(target < {TARGET_MS} ms: {'PASS' if median < TARGET_MS else 'MISS'})")
    return 1 if args.strict and median >= TARGET_MS else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
