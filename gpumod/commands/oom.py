"""Recognising an out-of-memory failure from what a server printed (never guessed)."""

from __future__ import annotations

import re
from typing import Literal

from gpumod.adapters.gpu.base import GpuSnapshot
from gpumod.events import catalogue as ev
from gpumod.events.catalogue.incidents import GpuProcess

# What real servers print when CUDA memory runs out (vLLM/PyTorch, llama.cpp, generic CUDA).
OOM_PATTERNS = re.compile(
    r"CUDA out of memory|OutOfMemoryError|cudaMalloc failed|failed to allocate|"
    r"out of memory", re.IGNORECASE)


def oom_in(log_tail: list[str]) -> bool:
    return any(OOM_PATTERNS.search(line) for line in log_tail)


Evidence = Literal["log", "vram_short"]


def oom_event(sid: str, evidence: Evidence, snapshot: GpuSnapshot, need_mb: int | None,
              log_tail: list[str]) -> ev.OomDetected:
    return ev.OomDetected(
        service_id=sid, evidence=evidence,
        free_mb=snapshot.free_mb, total_mb=snapshot.total_mb, needed_mb=need_mb,
        processes=[GpuProcess(pid=p.pid, used_mb=p.used_mb, name=p.name)
                   for p in snapshot.processes],
        log_tail=log_tail)
