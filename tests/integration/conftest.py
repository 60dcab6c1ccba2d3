"""Fixtures for tests that run stand-in servers as real processes on a simulated GPU."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from gpumod.adapters.gpu.sim import SimulatedGpu
from gpumod.adapters.standins.harness import StandInProcess


@pytest.fixture
def gpu_file(tmp_path: Path) -> Path:
    return tmp_path / "gpu.json"


@pytest.fixture
def started() -> Iterator[list[StandInProcess]]:
    """Stand-ins a test started; each is stopped when the test ends, whatever happened."""
    processes: list[StandInProcess] = []
    yield processes
    for process in processes:
        process.stop()


def held(gpu_file: Path, pid: int) -> int:
    """MiB the simulated GPU says `pid` holds (a long delay: exited processes still count)."""
    gpu = SimulatedGpu(gpu_file, 24576, release_delay_s=60)
    return sum(p.used_mb for p in gpu.snapshot().processes if p.pid == pid)
