"""The one fold: each recorded event, as its current type's data, goes to its projection.

Appliers read the event's fields from a dict (`current_data`), not from the pydantic model:
data gpumod wrote is already in that form, and building and validating a model per event was
the largest cost of a replay (benchmarks/bench_log.py).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from pydantic import ValidationError

from gpumod.events import catalogue as ev
from gpumod.events.base import Event, RecordedEvent
from gpumod.events.registry import UnknownEventType, UnknownSchemaVersion, current_data
from gpumod.projections.configuration import apply_config
from gpumod.projections.service_state import TRANSITIONS, apply_launched, apply_lifecycle
from gpumod.projections.state import Anomaly, State
from gpumod.projections.switches import add_step, apply_switch
from gpumod.projections.vram_ledger import apply_vram

Applier = Callable[[State, dict[str, Any], RecordedEvent], None]


CONFIG: tuple[type[Event], ...] = (
    ev.StoreInitialized, ev.ServiceRegistered, ev.ServiceDefinitionChanged, ev.ServiceRemoved,
    ev.ModeDefined, ev.ModeDefinitionChanged, ev.ModeRemoved, ev.SettingChanged)
VRAM: tuple[type[Event], ...] = (
    ev.GpuDetected, ev.VramObserved, ev.ServiceVramMeasured, ev.VramReleased,
    ev.VramReleaseTimedOut, ev.OomDetected)
SWITCH: tuple[type[Event], ...] = (
    ev.ModeSwitchRequested, ev.ModeSwitchCompleted, ev.ModeSwitchFailed,
    ev.ModeSwitchRolledBack, ev.ModeSwitchInterrupted)


def _table() -> dict[str, Applier]:
    table: dict[str, Applier] = {name: apply_lifecycle for name in TRANSITIONS}
    table["ServiceStateReconciled"] = apply_lifecycle
    table["ServiceProcessLaunched"] = apply_launched
    for group, applier in ((CONFIG, apply_config), (VRAM, apply_vram), (SWITCH, apply_switch)):
        table.update({cls.type_name: applier for cls in group})
    return table


APPLIERS = _table()


def apply(state: State, rec: RecordedEvent) -> State:
    """Fold one event into `state` (mutated in place, and returned, for chaining)."""
    state.position = rec.position
    state.versions[rec.stream] = rec.version
    try:
        fields = current_data(rec.type, rec.schema_version, rec.data)
    except (UnknownEventType, UnknownSchemaVersion, ValidationError) as exc:
        state.anomalies.append(Anomaly(rec.position, rec.stream, rec.type,
                                       f"cannot read this event ({_why(exc)}); written by a "
                                       "newer gpumod?"))
        return state
    if state.open_correlations:
        add_step(state, rec)
    applier = APPLIERS.get(rec.type)
    if applier is not None:
        applier(state, fields, rec)
    return state


def _why(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        return f"{exc.error_count()} invalid field(s)"
    return str(exc)


def fold(events: Iterable[RecordedEvent], state: State | None = None) -> State:
    state = state if state is not None else State()
    for rec in events:
        apply(state, rec)
    return state
