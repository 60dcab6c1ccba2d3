"""Given what a server printed (and the GPU at failure) / when judged / then OOM or not."""

from __future__ import annotations

import pytest

from gpumod.commands.oom import oom_evidence, oom_in

# Lines real servers print on a fatal GPU allocation failure (one per server and variant).
OOM_LINES = [
    "torch.OutOfMemoryError: CUDA out of memory. Tried to allocate 2.00 GiB. GPU 0 has a total "
    "capacity of 23.55 GiB of which 1.19 GiB is free.",
    "torch.cuda.OutOfMemoryError: CUDA out of memory. Tried to allocate 20.00 MiB",
    "RuntimeError: CUDA error: out of memory",
    "ggml_backend_cuda_buffer_type_alloc_buffer: allocating 19800.00 MiB on device 0: "
    "cudaMalloc failed: out of memory",
    "alloc_tensor_range: failed to allocate CUDA0 buffer of size 20761804800",
    "ggml_gallocr_reserve_n: failed to allocate CUDA0 buffer of size 1090519040",
    "llama_model_load: error loading model: unable to allocate CUDA0 buffer",
    'Error: DriverError(CUDA_ERROR_OUT_OF_MEMORY, "out of memory")',
    "CUDA_ERROR_OUT_OF_MEMORY",
    "cudaErrorMemoryAllocation",
    "RuntimeError: CUDA error: CUBLAS_STATUS_ALLOC_FAILED when calling `cublasCreate(handle)`",
    "ValueError: No available memory for the cache blocks. Try increasing "
    "`gpu_memory_utilization` when initializing the engine.",
    "ValueError: Free memory on device cuda:0 (12.18/23.56 GiB) on startup is less than desired "
    "GPU memory utilization (0.92, 21.67 GiB).",
    "ValueError: To serve at least one request with the models's max seq len (32768), (4.0 GiB "
    "KV cache is needed, which is larger than the available KV cache memory (1.2 GiB).",
    "tensorflow.python.framework.errors_impl.ResourceExhaustedError: OOM when allocating tensor",
    "torch.OutOfMemoryError: HIP out of memory. Tried to allocate 1.00 GiB",
    "CUDA OUT OF MEMORY",  # any case
]

NOT_OOM_LINES = [
    "RuntimeError: CUDA error: an illegal memory access was encountered",
    "Segmentation fault (core dumped)",
    "OSError: [Errno 98] Address already in use",
    # llama.cpp falls back to pageable host memory: a warning, not a GPU failure.
    "ggml_cuda_host_malloc: failed to allocate 4096.00 MiB of pinned memory: out of memory",
]


@pytest.mark.parametrize("line", OOM_LINES)
def test_a_real_servers_out_of_memory_line_is_recognised(line: str) -> None:
    assert oom_in(["loading model", line, "exiting"])


@pytest.mark.parametrize("line", NOT_OOM_LINES)
def test_other_failures_are_not_called_out_of_memory(line: str) -> None:
    assert not oom_in(["loading model", line])


def test_the_log_is_the_evidence_even_with_vram_to_spare() -> None:
    assert oom_evidence(["cudaMalloc failed: out of memory"], 20000, 4000) == "log"


def test_a_failure_while_the_memory_it_could_have_had_was_short_is_vram_short() -> None:
    assert oom_evidence(["loading model", "Killed"], 3000, 4000) == "vram_short"


def test_a_failure_with_enough_vram_and_a_silent_log_is_not_guessed_to_be_oom() -> None:
    assert oom_evidence(["loading model", "Killed"], 4000, 4000) is None
    assert oom_evidence([], 20000, None) is None
