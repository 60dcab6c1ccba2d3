"""Wiring: the one place that chooses real or fake adapters, for the CLI, MCP and tests alike."""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gpumod.commands.bus import CommandBus
from gpumod.events.store import EventStore

if TYPE_CHECKING:
    from gpumod.adapters.process.base import LaunchSpec
    from gpumod.commands.machine import Machine

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)


def new_uuid() -> str:
    return str(uuid.uuid4())


def default_db_path() -> Path:
    if env := os.environ.get("GPUMOD_DB"):
        return Path(env).expanduser()
    config = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(config) / "gpumod" / "gpumod.db"


@dataclass(frozen=True)
class MachineSettings:
    """How gpumod reaches the machine: which GPU, which process backend, stand-ins or not."""

    gpu: str = field(default_factory=lambda: os.environ.get("GPUMOD_GPU", "nvml"))
    process_backend: str | None = field(
        default_factory=lambda: os.environ.get("GPUMOD_PROCESS_BACKEND"))
    stand_ins: bool = field(default_factory=lambda: os.environ.get("GPUMOD_STAND_INS") == "1")


@dataclass(frozen=True)
class App:
    store: EventStore
    bus: CommandBus
    clock: Clock
    state_dir: Path
    settings: MachineSettings = field(default_factory=MachineSettings)

    def machine(self) -> Machine:
        """The real machine, opened only by the commands that act on it."""
        return real_machine(self.state_dir, self.settings)


def bootstrap(
    db_path: Path | None = None, clock: Clock = utc_now, new_id: Callable[[], str] = new_uuid,
    settings: MachineSettings | None = None,
) -> App:
    path = db_path or default_db_path()
    store = EventStore.open(path, clock)
    state_dir = Path(os.environ.get("GPUMOD_STATE_DIR") or path.parent / "state")
    return App(store, CommandBus(store, new_id), clock, state_dir, settings or MachineSettings())


def real_machine(state_dir: Path, settings: MachineSettings) -> Machine:
    from gpumod.adapters.drivers.registry import driver_for
    from gpumod.adapters.gpu.select import open_gpu
    from gpumod.adapters.locks import gpu_lock
    from gpumod.adapters.net import port_in_use
    from gpumod.adapters.process.routing import RoutingBackend
    from gpumod.adapters.process.select import choose_backend
    from gpumod.adapters.process.tree import descends_from
    from gpumod.commands.machine import Machine

    if settings.gpu.startswith("sim"):
        # Stand-ins and every other gpumod process must share one simulated GPU.
        os.environ.setdefault("GPUMOD_SIM_GPU_FILE", str(state_dir / "sim-gpu.json"))
    gpu = open_gpu(settings.gpu, state_dir)
    if settings.stand_ins and not settings.gpu.startswith("sim"):
        raise ValueError("--stand-ins needs the simulated GPU (--gpu sim:24GiB): stand-ins "
                         "allocate their memory there, not on a real GPU")
    return Machine(
        gpu=gpu,
        backend=RoutingBackend(choose_backend(settings.process_backend, state_dir), state_dir),
        driver_for=driver_for, launch_spec=_launcher(state_dir, settings, gpu),
        port_in_use=port_in_use, descends=descends_from,
        lock=lambda wait=True: gpu_lock(state_dir / "gpu.lock", wait),
        monotonic=time.monotonic, sleep=time.sleep,
    )


def _launcher(
    state_dir: Path, settings: MachineSettings, gpu: object
) -> Callable[[dict[str, Any]], LaunchSpec]:
    from gpumod.adapters.drivers.registry import driver_for

    if not settings.stand_ins:
        return lambda definition: driver_for(str(definition["driver"])).launch_spec(definition)
    from gpumod.adapters.standin_behaviours import behaviours
    from gpumod.adapters.standins.launch import standin_spec

    table = behaviours(state_dir)
    # Stand-ins check free memory themselves: they must see the GPU gpumod opened.
    total = getattr(gpu, "total_mb", None)
    release = getattr(gpu, "release_delay_s", None)
    return lambda definition: standin_spec(
        definition, definition.get("port"), table.get(str(definition["id"]), {}),
        sim_gpu_total_mb=total, sim_gpu_release_s=release)
