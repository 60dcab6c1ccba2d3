"""The VRAM ledger: the GPU's size, what each service reserves or was measured at, last usage."""

from __future__ import annotations

from typing import Any

from gpumod.events import catalogue as ev
from gpumod.projections.envelope import Envelope
from gpumod.projections.state import State


def apply_vram(state: State, fields: dict[str, Any], rec: Envelope) -> None:
    ledger = state.vram
    match rec.type:
        case ev.GpuDetected.type_name:
            ledger.gpu_name, ledger.total_mb = fields["name"], fields["total_mb"]
            ledger.driver_version, ledger.simulated = fields["driver_version"], fields["simulated"]
        case ev.VramObserved.type_name:
            ledger.total_mb = fields["total_mb"]
            ledger.observed_used_mb, ledger.observed_free_mb = fields["used_mb"], fields["free_mb"]
            ledger.observed_at = rec.recorded_at
        case ev.ServiceVramMeasured.type_name:
            if (view := state.services.get(fields["service_id"])) is not None:
                view.measured_vram_mb = fields["vram_mb"]
        case ev.VramReleased.type_name | ev.VramReleaseTimedOut.type_name:
            ledger.observed_free_mb, ledger.observed_at = fields["free_mb"], rec.recorded_at
        case ev.OomDetected.type_name:
            if (view := state.services.get(fields["service_id"])) is not None:
                view.oom_count += 1
