"""Services, modes and settings, folded from configuration events."""

from __future__ import annotations

from gpumod.definitions import patch
from gpumod.events import catalogue as ev
from gpumod.events.base import Event, RecordedEvent
from gpumod.projections.state import Anomaly, ModeView, ServiceView, State


def apply_config(state: State, event: Event, rec: RecordedEvent) -> None:
    match event:
        case ev.StoreInitialized():
            state.initialized = True
        case ev.ServiceRegistered(service_id=sid, definition=definition):
            state.services[sid] = ServiceView(sid, dict(definition), since=rec.recorded_at)
        case ev.ServiceDefinitionChanged(service_id=sid, changed=changed, removed=removed):
            if (view := state.services.get(sid)) is not None:
                view.definition = patch(view.definition, changed, removed)
            else:
                _missing(state, rec, f"service {sid!r}")
        case ev.ServiceRemoved(service_id=sid):
            if state.services.pop(sid, None) is None:
                _missing(state, rec, f"service {sid!r}")
            state.vram.reservations.pop(sid, None)
        case ev.ModeDefined(mode_id=mid, definition=definition):
            state.modes[mid] = ModeView(mid, dict(definition))
        case ev.ModeDefinitionChanged(mode_id=mid, changed=changed, removed=removed):
            if (mode := state.modes.get(mid)) is not None:
                mode.definition = patch(mode.definition, changed, removed)
            else:
                _missing(state, rec, f"mode {mid!r}")
        case ev.ModeRemoved(mode_id=mid):
            if state.modes.pop(mid, None) is None:
                _missing(state, rec, f"mode {mid!r}")
            if state.active_mode == mid:
                state.active_mode = None
        case ev.SettingChanged(key=key, value=value):
            state.settings[key] = value


def _missing(state: State, rec: RecordedEvent, what: str) -> None:
    state.anomalies.append(Anomaly(rec.position, rec.stream, rec.type, f"{what} is not defined"))
