"""The VRAM ledger: the GPU's size, what each service reserves or was measured at, last usage."""

from __future__ import annotations

from gpumod.events import catalogue as ev
from gpumod.events.base import Event, RecordedEvent
from gpumod.projections.state import State


def apply_vram(state: State, event: Event, rec: RecordedEvent) -> None:
    ledger = state.vram
    match event:
        case ev.GpuDetected(name=name, total_mb=total, driver_version=driver, simulated=sim):
            ledger.gpu_name, ledger.total_mb = name, total
            ledger.driver_version, ledger.simulated = driver, sim
        case ev.VramObserved(total_mb=total, used_mb=used, free_mb=free):
            ledger.total_mb, ledger.observed_used_mb, ledger.observed_free_mb = total, used, free
            ledger.observed_at = rec.recorded_at
        case ev.ServiceVramMeasured(service_id=sid, vram_mb=mb):
            if (view := state.services.get(sid)) is not None:
                view.measured_vram_mb = mb
        case ev.VramReleased(free_mb=free) | ev.VramReleaseTimedOut(free_mb=free):
            ledger.observed_free_mb, ledger.observed_at = free, rec.recorded_at
        case ev.OomDetected(service_id=sid):
            if (view := state.services.get(sid)) is not None:
                view.oom_count += 1
