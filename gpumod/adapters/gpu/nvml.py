"""The real NVIDIA GPU through NVML (the `pynvml` module of nvidia-ml-py); no nvidia-smi."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pynvml  # type: ignore[import-untyped]

from gpumod.adapters.gpu.base import GpuProcessUsage, GpuSnapshot, GpuUnavailable

MIB = 1024 * 1024
USE_SIM = ("on a machine without an NVIDIA GPU use the simulated one: "
           "--gpu sim:24GiB or GPUMOD_GPU=sim:24GiB")

# What went wrong, said plainly, for the NVML errors a user can meet before any GPU is read.
_INIT_FAILURES: dict[int, str] = {
    pynvml.NVML_ERROR_LIBRARY_NOT_FOUND:
        "no NVIDIA driver found (libnvidia-ml.so.1 not loadable)",
    pynvml.NVML_ERROR_DRIVER_NOT_LOADED:
        "the NVIDIA driver is installed but not loaded (NVML: Driver Not Loaded)",
    pynvml.NVML_ERROR_LIB_RM_VERSION_MISMATCH:
        "the NVIDIA driver and libnvidia-ml.so.1 versions differ (reboot after a driver update)",
    pynvml.NVML_ERROR_NO_PERMISSION:
        "no permission to open the NVIDIA GPU (check access to /dev/nvidia*)",
}


class NvmlGpu:
    """GPU number `index` as NVML sees it; NVML stays initialised while this object lives."""

    def __init__(self, index: int = 0) -> None:
        self.index = index
        _init()
        try:
            self._handle = _device(index)
            # Name and driver cannot change under a running process; read them once.
            self._name = str(_query(index, "name", pynvml.nvmlDeviceGetName, self._handle))
            self._driver = str(_query(index, "driver version",
                                      pynvml.nvmlSystemGetDriverVersion))
        except GpuUnavailable:
            pynvml.nvmlShutdown()
            raise

    def snapshot(self) -> GpuSnapshot:
        memory = _query(self.index, "memory", pynvml.nvmlDeviceGetMemoryInfo, self._handle)
        running = _query(self.index, "processes", _compute_processes, self._handle)
        return GpuSnapshot(
            self.index, self._name, self._driver, int(memory.total) // MIB,
            int(memory.used) // MIB, int(memory.free) // MIB,
            tuple(_usage(process) for process in running), simulated=False)

    def close(self) -> None:
        pynvml.nvmlShutdown()


def _init() -> None:
    try:
        pynvml.nvmlInit()
    except pynvml.NVMLError as error:
        what = _INIT_FAILURES.get(error.value, f"NVML could not start ({error})")
        raise GpuUnavailable(f"{what}; {USE_SIM}") from None


def _device(index: int) -> Any:
    count = int(_query(index, "device count", pynvml.nvmlDeviceGetCount))
    if count == 0:
        raise GpuUnavailable(f"the NVIDIA driver is loaded but sees no GPU; {USE_SIM}")
    if not 0 <= index < count:
        raise GpuUnavailable(f"no NVIDIA GPU with index {index}: NVML sees {count} "
                             f"(indexes 0 to {count - 1}); choose one with --gpu nvml:INDEX")
    return _query(index, "device handle", pynvml.nvmlDeviceGetHandleByIndex, index)


def _query(index: int, what: str, call: Callable[..., Any], *args: Any) -> Any:
    """One NVML call; a failure mid-run (GPU lost, driver unloaded) is a GpuUnavailable."""
    try:
        return call(*args)
    except pynvml.NVMLError as error:
        raise GpuUnavailable(f"NVML could not read the {what} of GPU {index}: {error}") from None


def _compute_processes(handle: Any) -> Any:
    try:
        return pynvml.nvmlDeviceGetComputeRunningProcesses(handle)
    except pynvml.NVMLLibraryMismatchError:
        # Drivers before 510 lack the _v3 call; _v2 returns the same records.
        return pynvml.nvmlDeviceGetComputeRunningProcesses_v2(handle)


def _usage(process: Any) -> GpuProcessUsage:
    pid, used = int(process.pid), process.usedGpuMemory
    # None where the driver cannot tell (Windows WDDM, some containers): holding unknown memory.
    return GpuProcessUsage(pid, int(used) // MIB if used is not None else 0, _process_name(pid))


def _process_name(pid: int) -> str | None:
    # NVML reports host pids, which a container may not see.
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip() or None
    except OSError:
        return None
