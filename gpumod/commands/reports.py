"""Read models that combine the log's view with a reading of the machine (for status)."""

from __future__ import annotations

from typing import Any

from gpumod.commands.lifecycle import vram_need
from gpumod.commands.machine import Machine
from gpumod.projections.service_state import LIVE
from gpumod.projections.state import State


def system_status(state: State, machine: Machine) -> dict[str, Any]:
    snapshot = machine.gpu.snapshot()
    services = []
    for sid in sorted(state.services):
        view = state.services[sid]
        live = view.state in LIVE
        services.append({
            "id": sid, "state": view.state, "since": view.since, "pid": view.pid,
            "sleep_level": view.sleep_level,
            "reserved_mb": vram_need(view) if live else 0,
            "observed_mb": machine.held_mb(snapshot, view.pid) if live else 0,
            "last_error": view.last_error,
        })
    return {
        "gpu": {"name": snapshot.name, "driver_version": snapshot.driver_version,
                "total_mb": snapshot.total_mb, "used_mb": snapshot.used_mb,
                "free_mb": snapshot.free_mb, "simulated": snapshot.simulated,
                "processes": [{"pid": p.pid, "used_mb": p.used_mb, "name": p.name}
                              for p in snapshot.processes]},
        "active_mode": state.active_mode,
        "switch_in_progress": state.switch_in_progress,
        "services": services,
    }
