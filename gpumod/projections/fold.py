"""The one fold: each recorded event, as its current type's data, goes to its projection.

Appliers read the event's fields from a dict, not from the pydantic model: data gpumod wrote is
already in that form, and building and validating a model per event was the largest cost of a
replay (benchmarks/bench_log.py). Events from gpumod's own log (`fold_rows`) are trusted in their
current shape; events from anywhere else (`fold`: an export, a test) are checked field by field
(docs/adr/0012-the-fold-trusts-the-log.md).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from orjson import JSONDecodeError, loads
from pydantic import ValidationError

from gpumod.events import catalogue as ev
from gpumod.events.base import Event, RecordedEvent
from gpumod.events.fold_rows import FoldRow
from gpumod.events.registry import (
    UnknownEventType,
    UnknownSchemaVersion,
    current_data,
    logged_data,
)
from gpumod.projections.configuration import apply_config
from gpumod.projections.envelope import Envelope
from gpumod.projections.service_state import TRANSITIONS, apply_launched, apply_lifecycle
from gpumod.projections.state import Anomaly, State
from gpumod.projections.switches import OPENING, add_step, apply_switch
from gpumod.projections.vram_ledger import apply_vram

Applier = Callable[[State, dict[str, Any], Envelope], None]
_UNREADABLE = (UnknownEventType, UnknownSchemaVersion, ValidationError, JSONDecodeError)

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


def _fold_fields(state: State, rec: Envelope, data: dict[str, Any],
                 fields: dict[str, Any]) -> None:
    if state.open_correlations:
        add_step(state, rec, data)
    applier = APPLIERS.get(rec.type)
    if applier is not None:
        applier(state, fields, rec)
        if rec.type == OPENING:
            add_step(state, rec, data)


def _unreadable(state: State, rec: Envelope, exc: Exception) -> None:
    state.anomalies.append(Anomaly(rec.position, rec.stream, rec.type,
                                   f"cannot read this event ({_why(exc)})"))


def _why(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        return f"{exc.error_count()} invalid field(s); `gpumod audit verify` checks the log"
    if isinstance(exc, JSONDecodeError):
        return "its data is not JSON; `gpumod audit verify` checks the log"
    return f"{exc}; written by a newer gpumod?"


def fold(events: Iterable[RecordedEvent], state: State | None = None) -> State:
    """Fold events from anywhere (an export, a test) into `state`, their data checked in full."""
    state = state if state is not None else State()
    for rec in events:
        state.position, state.versions[rec.stream] = rec.position, rec.version
        try:
            fields = current_data(rec.type, rec.schema_version, rec.data)
        except _UNREADABLE as exc:
            _unreadable(state, rec, exc)
        else:
            _fold_fields(state, rec, rec.data, fields)
    return state


def fold_rows(rows: Iterable[FoldRow], state: State | None = None) -> State:
    """`fold` for rows of gpumod's own log (`gpumod.events.fold_rows`): what a replay runs.

    The loop is written out, not a call per event: this is the hot path of every replay.
    """
    state = state if state is not None else State()
    versions = state.versions
    for row in rows:
        state.position, versions[row.stream] = row.position, row.version
        try:
            data = loads(row.data)
            fields = logged_data(row.type, row.schema_version, data)
        except _UNREADABLE as exc:
            _unreadable(state, row, exc)
        else:
            _fold_fields(state, row, data, fields)
    return state
