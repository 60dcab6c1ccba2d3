"""A throwaway gpumod with stand-in services on a simulated GPU, for the switch and status
benchmarks: its own log and state folder, the direct backend, the real machine otherwise."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import urllib.request
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

from gpumod.adapters.gpu.select import SIM_FILE_ENV
from gpumod.adapters.standins.harness import free_port
from gpumod.bootstrap import App, MachineSettings, bootstrap, real_machine
from gpumod.commands.current_state import current_state
from gpumod.commands.machine import Machine
from gpumod.commands.messages import ImportConfiguration, ModeFile, ServiceFile
from gpumod.commands.operate import operate
from gpumod.commands.recorder import Origin, Recorder
from gpumod.commands.sagas.stop import stop_one
from gpumod.commands.sagas.switch import SwitchResult, switch_mode
from gpumod.definitions import ModeDefinition, ServiceDefinition
from gpumod.projections.service_state import LIVE

# CUDA frees a dead process's memory up to seconds later; that is the GPU's time, not gpumod's,
# so the simulated GPU here frees it as soon as the process is gone.
GPU = "sim:24GiB,release=0s"
VRAM_MB = 4000
ORIGIN = Origin("bench")


@dataclass
class Rig:
    folder: Path
    app: App
    machine: Machine
    ports: dict[str, int]

    @property
    def db(self) -> Path:
        return self.folder / "gpumod.db"

    def close(self) -> None:
        stop_all(self)
        self.app.store.close()
        shutil.rmtree(self.folder, ignore_errors=True)


def make_rig(modes: Mapping[str, Sequence[str]], prefix: str) -> Rig:
    """Services that become ready at once (load_s 0), each on a free port, and the modes."""
    folder = Path(tempfile.mkdtemp(prefix=prefix))
    sids = sorted({s for members in modes.values() for s in members})
    app = bootstrap(folder / "gpumod.db")
    app.state_dir.mkdir(parents=True, exist_ok=True)
    (app.state_dir / "standins.yaml").write_text("".join(f"{s}: {{load_s: 0}}\n" for s in sids))
    # This GPU, not one an earlier rig or the caller's environment named (a CLI run inherits it).
    os.environ[SIM_FILE_ENV] = str(app.state_dir / "sim-gpu.json")
    ports = {sid: free_port() for sid in sids}
    services = tuple(ServiceFile(None, ServiceDefinition.model_validate({
        "id": sid, "name": sid, "driver": "fastapi", "port": ports[sid], "vram_mb": VRAM_MB,
        "unit_vars": {"app_module": "app:app", "working_dir": "/opt/x"}})) for sid in sids)
    mode_files = tuple(ModeFile(None, ModeDefinition.model_validate(
        {"id": m, "name": m, "services": list(s)})) for m, s in modes.items())
    app.bus.handle(ImportConfiguration(services=services, modes=mode_files, initialize=True),
                   ORIGIN)
    settings = MachineSettings(gpu=GPU, process_backend="direct", stand_ins=True)
    return Rig(folder, app, real_machine(app.state_dir, settings), ports)


def switch(rig: Rig, mode: str) -> tuple[Recorder, SwitchResult]:
    """As `gpumod mode switch MODE` runs it: lock, recovery, the saga."""
    rec, result = operate(rig.app.store, rig.app.bus.new_id, rig.machine, "SwitchMode",
                          {"mode_id": mode}, ORIGIN, partial(switch_mode, mode_id=mode))
    if result.status != "completed":
        raise SystemExit(f"switch to {mode} {result.status}: {result.reason}")
    return rec, result


def stop_all(rig: Rig) -> None:
    def stop_live(rec: Recorder, machine: Machine) -> None:
        for sid, view in current_state(rec.store).services.items():
            if view.state in LIVE:
                stop_one(rec, machine, sid)

    operate(rig.app.store, rig.app.bus.new_id, rig.machine, "StopAll", {}, ORIGIN, stop_live)


def standin_state(port: int) -> dict[str, Any]:
    """What a stand-in says about itself (ready_at_monotonic: when it became ready)."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/standin/state", timeout=5) as reply:
        state: dict[str, Any] = json.loads(reply.read())
    return state


def quantile(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]
