"""A simulated GPU shared by every process on the machine, through a small locked state file.

Stand-in servers allocate their memory here; gpumod reads it like NVML. As with CUDA, memory
of a process that exited is released only `release_delay_s` after gpumod first sees it gone.
"""

from __future__ import annotations

import fcntl
import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import orjson

from gpumod.adapters.gpu.base import GpuProcessUsage, GpuSnapshot

SIM_NAME = "gpumod simulated GPU"


class SimulatedGpu:
    def __init__(
        self, path: Path, total_mb: int, release_delay_s: float = 1.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.path, self.total_mb = path, total_mb
        self.release_delay_s, self.clock = release_delay_s, clock

    def allocate(self, pid: int, used_mb: int, name: str | None = None) -> None:
        """Set what `pid` holds (a later call replaces it: a server growing or sleeping)."""
        with self._locked() as state:
            state["allocations"][str(pid)] = {"used_mb": used_mb, "name": name, "gone_at": None}

    def free(self, pid: int) -> None:
        """Release at once, as a server does for memory it gives back while alive."""
        with self._locked() as state:
            state["allocations"].pop(str(pid), None)

    def snapshot(self) -> GpuSnapshot:
        with self._locked() as state:
            self._reap(state["allocations"])
            processes = tuple(
                GpuProcessUsage(int(pid), a["used_mb"], a["name"])
                for pid, a in sorted(state["allocations"].items(), key=lambda kv: int(kv[0]))
            )
        used = sum(p.used_mb for p in processes)
        return GpuSnapshot(0, SIM_NAME, "simulated", self.total_mb, used,
                           max(self.total_mb - used, 0), processes, simulated=True)

    def _reap(self, allocations: dict[str, dict[str, Any]]) -> None:
        now = self.clock()
        for pid, allocation in list(allocations.items()):
            if _alive(int(pid)):
                allocation["gone_at"] = None
                continue
            if allocation["gone_at"] is None:
                allocation["gone_at"] = now
            if now - allocation["gone_at"] >= self.release_delay_s:
                del allocations[pid]

    @contextmanager
    def _locked(self) -> Iterator[dict[str, Any]]:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.path, "a+b") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            handle.seek(0)
            raw = handle.read()
            state: dict[str, Any] = orjson.loads(raw) if raw else {"allocations": {}}
            yield state
            handle.seek(0)
            handle.truncate()
            handle.write(orjson.dumps(state))
            handle.flush()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return not _zombie(pid)


def _zombie(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[-1].split()[0] == "Z"
