"""Recognising an out-of-memory failure: from what a server printed, or from the GPU's own
reading that the memory it needed was not there. Never guessed from a bare non-zero exit."""

from __future__ import annotations

import re
from typing import Literal

from gpumod.adapters.gpu.base import GpuSnapshot
from gpumod.events import catalogue as ev
from gpumod.events.catalogue.incidents import GpuProcess

# What real servers print when GPU memory runs out. Each alternative is a message some server
# is documented (or seen) to print on a fatal allocation failure:
OOM_PATTERNS = re.compile("|".join((
    r"out of memory",  # PyTorch/vLLM "CUDA out of memory", cudaGetErrorString, ROCm "HIP ..."
    r"OutOfMemoryError",  # torch.OutOfMemoryError, torch.cuda.OutOfMemoryError
    r"cudaMalloc\w* failed",  # llama.cpp ggml_backend_cuda_buffer_type_alloc_buffer
    r"failed to allocate",  # llama.cpp "failed to allocate CUDA0 buffer", compute buffers
    r"unable to allocate \w+ buffer",  # llama.cpp llama_model_load
    r"CUDA_ERROR_OUT_OF_MEMORY|cudaErrorMemoryAllocation|hipErrorOutOfMemory",
    r"CUBLAS_STATUS_ALLOC_FAILED|CUDNN_STATUS_ALLOC_FAILED",
    r"OOM when allocating",  # TensorFlow ResourceExhaustedError
    r"No available memory for the cache blocks",  # vLLM: weights fit, KV cache does not
    r"less than desired GPU memory utilization",  # vLLM's start-up guard on free memory
    r"larger than the available KV cache memory",  # vLLM: not even one max-length request
)), re.IGNORECASE)

# Harmless look-alikes: llama.cpp logs a failed *host* pinned allocation and carries on with
# pageable memory, so that line alone says nothing about VRAM.
NOT_OOM = re.compile(r"pinned memory", re.IGNORECASE)

Evidence = Literal["log", "vram_short"]


def oom_in(log_tail: list[str]) -> bool:
    return any(OOM_PATTERNS.search(line) and not NOT_OOM.search(line) for line in log_tail)


def oom_evidence(log_tail: list[str], available_mb: int,
                 need_mb: int | None) -> Evidence | None:
    """Why a failure counts as out-of-memory, if it does: the log says so, or the memory the
    service could have had (free VRAM plus what it already held) was less than its need."""
    if oom_in(log_tail):
        return "log"
    if need_mb is not None and available_mb < need_mb:
        return "vram_short"
    return None


def oom_event(sid: str, evidence: Evidence, snapshot: GpuSnapshot, need_mb: int | None,
              log_tail: list[str]) -> ev.OomDetected:
    return ev.OomDetected(
        service_id=sid, evidence=evidence,
        free_mb=snapshot.free_mb, total_mb=snapshot.total_mb, needed_mb=need_mb,
        processes=[GpuProcess(pid=p.pid, used_mb=p.used_mb, name=p.name)
                   for p in snapshot.processes],
        log_tail=log_tail)
