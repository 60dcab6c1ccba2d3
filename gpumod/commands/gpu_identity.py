"""Which GPU gpumod is driving, recorded once per GPU seen (and again when it changes).

Every later reading in the log (VRAM observed, released, OOM) is in this GPU's megabytes, so a
replay or post-mortem names the card, its total and its driver, and a swapped card or driver
upgrade shows in the history at the moment gpumod first ran on it.
"""

from __future__ import annotations

from collections.abc import Callable

from gpumod.adapters.gpu.base import GpuSnapshot
from gpumod.commands.machine import Machine
from gpumod.commands.recorder import Origin, Recorder
from gpumod.events import catalogue as ev
from gpumod.events.base import Event
from gpumod.events.store import EventStore
from gpumod.projections.state import State


def gpu_detected(state: State, snapshot: GpuSnapshot) -> list[Event]:
    """A GpuDetected when the log does not yet say this is the GPU; else nothing."""
    ledger = state.vram
    known = (ledger.gpu_name, ledger.total_mb, ledger.driver_version, ledger.simulated)
    seen = (snapshot.name, snapshot.total_mb, snapshot.driver_version, snapshot.simulated)
    if known == seen:
        return []
    return [ev.GpuDetected(gpu_index=snapshot.index, name=snapshot.name,
                           total_mb=snapshot.total_mb, driver_version=snapshot.driver_version,
                           simulated=snapshot.simulated)]


ACTOR = "gpumod:gpu"


def detect_gpu(store: EventStore, new_id: Callable[[], str], machine: Machine) -> None:
    """Records the GPU when the log does not know it: gpumod's own observation, under its own
    correlation, not a step of whichever operation happened to run first on the card."""
    snapshot = machine.gpu.snapshot()
    rec = Recorder(store, new_id, "DetectGpu", {}, Origin(ACTOR))
    rec.decide(lambda state: gpu_detected(state, snapshot))
