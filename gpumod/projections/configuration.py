"""Services, modes and settings, folded from configuration events."""

from __future__ import annotations

from typing import Any

from gpumod.definitions import patch
from gpumod.events import catalogue as ev
from gpumod.projections.envelope import Envelope
from gpumod.projections.state import Anomaly, ModeView, ServiceView, State


def apply_config(state: State, fields: dict[str, Any], rec: Envelope) -> None:
    match rec.type:
        case ev.StoreInitialized.type_name:
            state.initialized = True
        case ev.ServiceRegistered.type_name:
            sid = fields["service_id"]
            state.services[sid] = ServiceView(sid, dict(fields["definition"]),
                                              since=rec.recorded_at)
        case ev.ServiceDefinitionChanged.type_name:
            if (view := state.services.get(fields["service_id"])) is not None:
                view.definition = patch(view.definition, fields["changed"], fields["removed"])
            else:
                _missing(state, rec, f"service {fields['service_id']!r}")
        case ev.ServiceRemoved.type_name:
            sid = fields["service_id"]
            if state.services.pop(sid, None) is None:
                _missing(state, rec, f"service {sid!r}")
            state.vram.reservations.pop(sid, None)
        case ev.ModeDefined.type_name:
            mid = fields["mode_id"]
            state.modes[mid] = ModeView(mid, dict(fields["definition"]))
        case ev.ModeDefinitionChanged.type_name:
            if (mode := state.modes.get(fields["mode_id"])) is not None:
                mode.definition = patch(mode.definition, fields["changed"], fields["removed"])
            else:
                _missing(state, rec, f"mode {fields['mode_id']!r}")
        case ev.ModeRemoved.type_name:
            mid = fields["mode_id"]
            if state.modes.pop(mid, None) is None:
                _missing(state, rec, f"mode {mid!r}")
            if state.active_mode == mid:
                state.active_mode = None
        case ev.SettingChanged.type_name:
            state.settings[fields["key"]] = fields["value"]


def _missing(state: State, rec: Envelope, what: str) -> None:
    state.anomalies.append(Anomaly(rec.position, rec.stream, rec.type, f"{what} is not defined"))
