"""A folded state as a report: what `replay` prints, and comparing two states."""

from __future__ import annotations

import dataclasses
from typing import Any

from gpumod.adapters.cli.render import table
from gpumod.projections.state import State, SwitchTimeline


def as_dict(state: State) -> dict[str, Any]:
    return {
        "position": state.position,
        "active_mode": state.active_mode,
        "switch_in_progress": state.switch_in_progress,
        "services": {sid: {"state": v.state, "since": v.since, "pid": v.pid,
                           "sleep_level": v.sleep_level, "measured_vram_mb": v.measured_vram_mb,
                           "last_error": v.last_error, "definition": v.definition}
                     for sid, v in sorted(state.services.items())},
        "modes": {mid: m.definition for mid, m in sorted(state.modes.items())},
        "vram": dataclasses.asdict(state.vram),
        "switches": {sid: _switch(t) for sid, t in state.switches.items()},
        "anomalies": [dataclasses.asdict(a) for a in state.anomalies],
    }


def _switch(timeline: SwitchTimeline) -> dict[str, Any]:
    summary = dataclasses.asdict(timeline)
    summary["steps"] = [{"position": s.position, "at": s.at, "type": s.type, "stream": s.stream}
                        for s in timeline.steps]
    return summary


def as_text(report: dict[str, Any]) -> str:
    vram = report["vram"]
    lines = [f"state at position {report['position']}",
             f"active mode: {report['active_mode'] or '-'}"
             + (f" (switch {report['switch_in_progress']} in progress)"
                if report["switch_in_progress"] else ""),
             f"gpu: {vram['gpu_name'] or 'unknown'}  total {vram['total_mb'] or '?'} MB  "
             f"reserved {sum(vram['reservations'].values())} MB  "
             f"last seen free {_or_unknown(vram['observed_free_mb'])} MB",
             "", table(("SERVICE", "STATE", "SINCE", "VRAM MB"), [
                 (sid, s["state"], (s["since"] or "")[:19].replace("T", " "),
                  s["measured_vram_mb"] or s["definition"].get("vram_mb"))
                 for sid, s in report["services"].items()]),
             "", "modes: " + (", ".join(f"{m} ({','.join(d.get('services', []))})"
                                      for m, d in report["modes"].items()) or "none")]
    for anomaly in report["anomalies"]:
        lines.append(f"anomaly at #{anomaly['position']}: {anomaly['message']}")
    return "\n".join(lines)


def _or_unknown(value: object) -> str:
    return "?" if value is None else str(value)


def compare(left: State, right: State) -> list[str]:
    """Fields whose values differ between two states, named by their path."""
    return _diff("", dataclasses.asdict(left), dataclasses.asdict(right))


def _diff(path: str, a: Any, b: Any) -> list[str]:
    if isinstance(a, dict) and isinstance(b, dict):
        return [line for key in sorted(set(a) | set(b), key=str)
                for line in _diff(f"{path}.{key}", a.get(key), b.get(key))]
    return [] if a == b else [f"{path.lstrip('.')}: snapshot {a!r} != refolded {b!r}"]
