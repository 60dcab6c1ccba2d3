"""One GPU-changing operation at a time, across every gpumod process (CLI, MCP, monitor)."""

from __future__ import annotations

import fcntl
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from gpumod.commands.machine import GpuBusy


class LockBusy(GpuBusy):
    """Another gpumod process holds the GPU lock and the caller chose not to wait."""


@contextmanager
def gpu_lock(path: Path, wait: bool = True, poll_s: float = 0.05) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a+") as handle:
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if not wait:
                    raise LockBusy(_holder(handle)) from None
                time.sleep(poll_s)
        handle.seek(0)
        handle.truncate()
        handle.write(f"{os.getpid()}\n")
        handle.flush()
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _holder(handle: object) -> str:
    try:
        pid = Path(getattr(handle, "name", "")).read_text().strip()
    except OSError:
        pid = "?"
    return f"another gpumod process (pid {pid}) is changing the GPU; try again, or wait"
