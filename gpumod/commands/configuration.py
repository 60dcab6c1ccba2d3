"""Deciding configuration commands: import presets and modes, remove services and modes."""

from __future__ import annotations

from collections import Counter

import gpumod
from gpumod.commands.errors import Rejected
from gpumod.commands.messages import (
    ImportConfiguration,
    InitStore,
    ModeFile,
    RemoveMode,
    RemoveService,
    ServiceFile,
)
from gpumod.definitions import diff, previous
from gpumod.events import catalogue as ev
from gpumod.events.base import Event
from gpumod.projections.service_state import LIVE
from gpumod.projections.state import State


def init_store(command: InitStore, state: State) -> list[Event]:
    return [] if state.initialized else [ev.StoreInitialized(gpumod_version=gpumod.__version__)]


def import_configuration(command: ImportConfiguration, state: State) -> list[Event]:
    events: list[Event] = []
    if command.initialize:
        events += init_store(InitStore(), state)
    _refuse_duplicates([f.definition.id for f in command.services], "service")
    _refuse_duplicates([f.definition.id for f in command.modes], "mode")
    for service in command.services:
        events += _service_events(service, state)
    known = set(state.services) | {f.definition.id for f in command.services}
    for mode in command.modes:
        _check_mode_services(mode, known)
        events += _mode_events(mode, state)
    return events


def remove_service(command: RemoveService, state: State) -> list[Event]:
    view = state.services.get(command.service_id)
    if view is None:
        raise Rejected("unknown_service", f"no service {command.service_id!r} is registered "
                       f"(registered: {', '.join(sorted(state.services)) or 'none'})")
    if view.state in LIVE or view.state == "STOPPING":
        raise Rejected("service_running", f"service {command.service_id!r} is {view.state}; "
                       "stop it before removing it")
    users = sorted(m.id for m in state.modes.values()
                   if command.service_id in m.definition.get("services", []))
    if users:
        raise Rejected("service_in_use", f"service {command.service_id!r} is used by mode(s) "
                       f"{', '.join(users)}; remove it from them first")
    return [ev.ServiceRemoved(service_id=command.service_id)]


def remove_mode(command: RemoveMode, state: State) -> list[Event]:
    if command.mode_id not in state.modes:
        raise Rejected("unknown_mode", f"no mode {command.mode_id!r} is defined "
                       f"(defined: {', '.join(sorted(state.modes)) or 'none'})")
    if state.active_mode == command.mode_id:
        raise Rejected("mode_active", f"mode {command.mode_id!r} is the active mode; "
                       "switch to another mode before removing it")
    return [ev.ModeRemoved(mode_id=command.mode_id)]


def _service_events(file: ServiceFile, state: State) -> list[Event]:
    new = file.definition.as_stored()
    sid = file.definition.id
    view = state.services.get(sid)
    if view is None:
        return [ev.ServiceRegistered(service_id=sid, definition=new, source=file.source)]
    changed, removed = diff(view.definition, new)
    if not changed and not removed:
        return []
    return [ev.ServiceDefinitionChanged(service_id=sid, changed=changed, removed=removed,
                                        previous=previous(view.definition, changed, removed),
                                        source=file.source)]


def _mode_events(file: ModeFile, state: State) -> list[Event]:
    new = file.definition.as_stored()
    mid = file.definition.id
    mode = state.modes.get(mid)
    if mode is None:
        return [ev.ModeDefined(mode_id=mid, definition=new, source=file.source)]
    changed, removed = diff(mode.definition, new)
    if not changed and not removed:
        return []
    return [ev.ModeDefinitionChanged(mode_id=mid, changed=changed, removed=removed,
                                     previous=previous(mode.definition, changed, removed),
                                     source=file.source)]


def _check_mode_services(file: ModeFile, known: set[str]) -> None:
    where = file.source or file.definition.id
    services = file.definition.services
    unknown = [s for s in services if s not in known]
    if unknown:
        raise Rejected("unknown_service", f"{where}: field 'services' names unregistered "
                       f"service(s) {', '.join(unknown)} (registered: "
                       f"{', '.join(sorted(known)) or 'none'})")
    _refuse_duplicates(services, f"service in {where}")


def _refuse_duplicates(ids: list[str], what: str) -> None:
    twice = sorted(i for i, n in Counter(ids).items() if n > 1)
    if twice:
        raise Rejected("duplicate_id", f"{what} id(s) given twice: {', '.join(twice)}")
