"""The GPU adapter that a `--gpu` / GPUMOD_GPU spec names (nvml, nvml:1, sim:24GiB,release=2s)."""

from __future__ import annotations

import os
import re
from pathlib import Path

from gpumod.adapters.gpu.base import Gpu
from gpumod.adapters.gpu.nvml import NvmlGpu
from gpumod.adapters.gpu.sim import SimulatedGpu

SIM_FILE_ENV = "GPUMOD_SIM_GPU_FILE"
ACCEPTED = ("nvml, nvml:INDEX (e.g. nvml:1), or sim:SIZE[,release=DELAY] with SIZE in "
            "GiB, MiB, GB or MB (sim:24GiB, sim:24000MiB, sim:24GB) and DELAY in s or ms "
            "(sim:24GiB,release=2s)")

NVML = re.compile(r"nvml(?::(\d+))?", re.IGNORECASE)
SIM = re.compile(r"sim:(\d+(?:\.\d+)?)\s*(GiB|MiB|GB|MB)(?:,release=(\d+(?:\.\d+)?)(ms|s))?",
                 re.IGNORECASE)
# In MiB, the unit NVML and the rest of gpumod count in; GB and MB are decimal (SI).
SIZE_MIB = {"gib": 1024.0, "mib": 1.0, "gb": 1e9 / 2**20, "mb": 1e6 / 2**20}
DELAY_S = {"s": 1.0, "ms": 0.001}


def open_gpu(spec: str, state_dir: Path) -> Gpu:
    """The GPU `spec` names; raises ValueError on a malformed spec, GpuUnavailable if absent."""
    text = spec.strip()
    if match := NVML.fullmatch(text):
        return NvmlGpu(int(match[1] or 0))
    if match := SIM.fullmatch(text):
        return _simulated(spec, match, state_dir)
    raise ValueError(f"--gpu / GPUMOD_GPU {spec!r}: expected {ACCEPTED}")


def sim_file(state_dir: Path) -> Path:
    """The state file every process on the machine shares for the simulated GPU."""
    return Path(os.environ.get(SIM_FILE_ENV) or state_dir / "sim-gpu.json")


def _simulated(spec: str, match: re.Match[str], state_dir: Path) -> SimulatedGpu:
    total_mb = int(float(match[1]) * SIZE_MIB[match[2].lower()])
    if total_mb <= 0:
        raise ValueError(f"--gpu / GPUMOD_GPU {spec!r}: the simulated GPU needs at least 1 MiB")
    if match[3] is None:
        return SimulatedGpu(sim_file(state_dir), total_mb)
    return SimulatedGpu(sim_file(state_dir), total_mb, float(match[3]) * DELAY_S[match[4].lower()])
