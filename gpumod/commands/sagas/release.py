"""Waiting until the GPU really has the memory the next steps need (CUDA frees it late).

A timeout is a failure, not a warning: starting anyway is how a load meets "30 GB needed,
700 MB free" and takes the machine down. The free-memory samples are kept in the events.
"""

from __future__ import annotations

from contextlib import suppress

from gpumod.adapters.gpu.base import GpuSnapshot
from gpumod.commands.machine import ActionFailed, Machine
from gpumod.commands.recorder import Recorder
from gpumod.events import catalogue as ev
from gpumod.projections.state import State

RELEASE_TIMEOUT_S = 30.0
POLL_S = 0.01
MAX_SAMPLES = 50


class ReleaseTimedOut(ActionFailed):
    """Stopped services' memory was not freed in time (recorded as VramReleaseTimedOut)."""


def await_free_vram(rec: Recorder, machine: Machine, needed_mb: int,
                    timeout_s: float = RELEASE_TIMEOUT_S) -> int:
    """Block until free VRAM >= `needed_mb`; returns the free MiB seen. ActionFailed on timeout."""
    began = machine.monotonic()
    free = machine.gpu.snapshot().free_mb
    if free >= needed_mb:
        return free
    rec.fact(ev.VramReleaseAwaited(needed_mb=needed_mb, free_mb=free, timeout_s=timeout_s))
    samples: list[tuple[int, int]] = [(0, free)]
    while free < needed_mb:
        waited_ms = int((machine.monotonic() - began) * 1000)
        if waited_ms > timeout_s * 1000:
            rec.fact(ev.VramReleaseTimedOut(needed_mb=needed_mb, free_mb=free,
                                            waited_ms=waited_ms, samples=_thin(samples)))
            raise ReleaseTimedOut(f"VRAM was not released: {needed_mb} MB needed, {free} MB free "
                               f"after waiting {timeout_s:.0f} s")
        machine.sleep(POLL_S)
        free = machine.gpu.snapshot().free_mb
        if free != samples[-1][1]:
            samples.append((int((machine.monotonic() - began) * 1000), free))
    waited_ms = int((machine.monotonic() - began) * 1000)
    samples.append((waited_ms, free))
    rec.fact(ev.VramReleased(needed_mb=needed_mb, free_mb=free, waited_ms=waited_ms,
                             samples=_thin(samples)))
    return free


def _thin(samples: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Keep the first and the latest samples: a long wait must not make a huge event."""
    if len(samples) <= MAX_SAMPLES:
        return samples
    return samples[:1] + samples[-(MAX_SAMPLES - 1):]


def releasing_mb(state: State, snapshot: GpuSnapshot) -> int:
    """VRAM still held by the processes of services already stopped (CUDA frees it late)."""
    exited = {pid for view in state.services.values() if view.pid is None
              for pid in view.exited_pids}
    return sum(p.used_mb for p in snapshot.processes if p.pid in exited)


def await_releasing(rec: Recorder, machine: Machine, state: State, needed_mb: int) -> None:
    """Before a start or wake: wait if memory being released would make room, else go on
    (the VRAM check that follows refuses with the figures, after a timeout too)."""
    snapshot = machine.gpu.snapshot()
    releasing = releasing_mb(state, snapshot)
    if releasing and snapshot.free_mb < needed_mb <= snapshot.free_mb + releasing:
        with suppress(ReleaseTimedOut):
            await_free_vram(rec, machine, needed_mb)
