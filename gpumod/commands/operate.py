"""One GPU-changing operation, as the CLI and MCP run it: lock, recover, act, all recorded.

The GPU lock serializes every process that changes the GPU; whoever takes it first records
the GPU if the log does not know it yet and repairs what a killed gpumod left behind, so no
operation starts from a state nobody recorded.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from gpumod.commands.current_state import current_state
from gpumod.commands.errors import Rejected
from gpumod.commands.gpu_identity import detect_gpu
from gpumod.commands.machine import GpuBusy, Machine
from gpumod.commands.recorder import Listener, Origin, Recorder
from gpumod.commands.sagas.recovery import recover
from gpumod.events.store import EventStore

T = TypeVar("T")
Saga = Callable[[Recorder, Machine], T]


def operate(store: EventStore, new_id: Callable[[], str], machine: Machine, name: str,
            arguments: dict[str, Any], origin: Origin, saga: Saga[T], *, wait: bool = True,
            listeners: Sequence[Listener] = ()) -> tuple[Recorder, T]:
    rec = Recorder(store, new_id, name, arguments, origin)
    rec.listeners.extend(listeners)
    try:
        with machine.lock(wait):
            detect_gpu(store, new_id, machine)
            recover(store, new_id, machine)
            return rec, saga(rec, machine)
    except GpuBusy as busy:
        refusal = Rejected("busy", f"{busy}{_in_progress(store)}")
        rec.reject(refusal)
        raise refusal from None


def _in_progress(store: EventStore) -> str:
    state = current_state(store)
    timeline = state.switches.get(state.switch_in_progress or "")
    if timeline is None:
        return ""
    return (f" (switch {timeline.switch_id} to {timeline.to_mode!r} in progress since "
            f"{timeline.started_at[:19].replace('T', ' ')} UTC)")
