"""Read models shaped for output: what `list` and `status` show, as plain dicts (also JSON)."""

from __future__ import annotations

from typing import Any

from gpumod.projections.state import State


def services(state: State) -> list[dict[str, Any]]:
    return [_service_row(state, sid) for sid in sorted(state.services)]


def service_detail(state: State, service_id: str) -> dict[str, Any]:
    view = state.services[service_id]
    row = _service_row(state, service_id)
    row.update(pid=view.pid, sleep_level=view.sleep_level,
               measured_vram_mb=view.measured_vram_mb, last_error=view.last_error,
               oom_count=view.oom_count,
               modes=sorted(m.id for m in state.modes.values()
                            if service_id in m.definition.get("services", [])),
               definition=view.definition)
    return row


def modes(state: State) -> list[dict[str, Any]]:
    rows = []
    for mid in sorted(state.modes):
        definition = state.modes[mid].definition
        members = list(definition.get("services", []))
        rows.append({
            "id": mid, "name": definition.get("name"),
            "description": definition.get("description"), "services": members,
            "vram_mb": sum(_vram(state, s) for s in members),
            "active": state.active_mode == mid, "definition": definition,
        })
    return rows


def _service_row(state: State, sid: str) -> dict[str, Any]:
    view = state.services[sid]
    d = view.definition
    return {"id": sid, "name": d.get("name"), "driver": d.get("driver"), "port": d.get("port"),
            "vram_mb": d.get("vram_mb"), "sleep_mode": d.get("sleep_mode", "none"),
            "state": view.state, "since": view.since}


def _vram(state: State, sid: str) -> int:
    view = state.services.get(sid)
    if view is None:
        return 0
    return view.measured_vram_mb or int(view.definition.get("vram_mb", 0))
