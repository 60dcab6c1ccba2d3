"""The simulated GPU: one state file shared, under a lock, by every process on the machine."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from gpumod.adapters.gpu.select import SIM_FILE_ENV, open_gpu
from gpumod.adapters.gpu.sim import SimulatedGpu

TOTAL_MB = 24 * 1024
NEVER_A_PID = 5_000_000  # above the kernel's largest possible pid (2**22): never alive
CHILD_TIMEOUT_S = 60  # a guard against a hang, not a measurement

HOLD = """
import os, sys
from pathlib import Path
from gpumod.adapters.gpu.sim import SimulatedGpu
SimulatedGpu(Path(sys.argv[1]), 1).allocate(os.getpid(), int(sys.argv[2]), sys.argv[3])
print("allocated", flush=True)
sys.stdin.read()  # holds its memory until the test closes stdin
"""

ALLOCATE_AND_EXIT = """
import os, sys
from pathlib import Path
from gpumod.adapters.gpu.sim import SimulatedGpu
SimulatedGpu(Path(sys.argv[1]), 1).allocate(os.getpid(), int(sys.argv[2]))
"""

RACE = """
import os, sys
from pathlib import Path
from gpumod.adapters.gpu.sim import SimulatedGpu
path, first, count = Path(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
gpu = SimulatedGpu(path, 1)
print("ready", flush=True)
sys.stdin.readline()  # the go signal, sent to every process at once
for pid in range(first, first + count):
    gpu.allocate(pid, 1, f"p{pid}")
"""


class PinnedClock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture(autouse=True)
def no_sim_file_override(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(SIM_FILE_ENV, raising=False)


def python(script: str, *args: object, stdin: int | None = None,
           stdout: int | None = None) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-c", script, *map(str, args)], text=True,
                            stdin=stdin, stdout=stdout)


def test_processes_see_each_others_allocations(tmp_path: Path) -> None:
    # given two processes, each holding memory on the simulated GPU
    path = tmp_path / "sim-gpu.json"
    holders = [python(HOLD, path, mb, name, stdin=subprocess.PIPE, stdout=subprocess.PIPE)
               for mb, name in ((3000, "vllm-standin"), (5000, "llama-standin"))]
    try:
        for holder in holders:
            assert holder.stdout is not None and holder.stdout.readline() == "allocated\n"
        # when a third process (gpumod) reads the GPU
        snapshot = open_gpu("sim:24GiB", tmp_path).snapshot()
    finally:
        for holder in holders:
            holder.communicate(timeout=CHILD_TIMEOUT_S)
    # then it sees both, and counts their memory as used
    assert {(p.pid, p.used_mb, p.name) for p in snapshot.processes} == {
        (holders[0].pid, 3000, "vllm-standin"), (holders[1].pid, 5000, "llama-standin")}
    assert (snapshot.used_mb, snapshot.free_mb) == (8000, TOTAL_MB - 8000)
    assert snapshot.simulated and "simulated GPU" in snapshot.name


def test_memory_of_an_exited_process_is_released_only_after_the_delay(tmp_path: Path) -> None:
    # given a process that allocated 4000 MiB and exited, and this process holding 1000 MiB
    path = tmp_path / "sim-gpu.json"
    child = python(ALLOCATE_AND_EXIT, path, 4000)
    assert child.wait(timeout=CHILD_TIMEOUT_S) == 0
    clock = PinnedClock(100.0)
    gpu = SimulatedGpu(path, TOTAL_MB, release_delay_s=2.0, clock=clock)
    gpu.allocate(os.getpid(), 1000)
    # when gpumod first notices the exit, and again just before the delay is over
    first = gpu.snapshot()
    clock.now = 101.9
    before = gpu.snapshot()
    # then the memory still counts as used
    assert first.used_mb == before.used_mb == 5000
    # and once the delay has passed it is free, while the live process keeps its share
    clock.now = 102.0
    after = gpu.snapshot()
    assert [(p.pid, p.used_mb) for p in after.processes] == [(os.getpid(), 1000)]
    assert after.free_mb == TOTAL_MB - 1000


def test_with_no_release_delay_an_exited_process_is_free_at_the_first_look(
        tmp_path: Path) -> None:
    # given a process that allocated 4000 MiB and exited, on a GPU releasing at once
    path = tmp_path / "sim-gpu.json"
    assert python(ALLOCATE_AND_EXIT, path, 4000).wait(timeout=CHILD_TIMEOUT_S) == 0
    gpu = open_gpu("sim:24GiB,release=0s", tmp_path)
    # when gpumod reads the GPU for the first time since; then the memory is already free
    assert gpu.snapshot().free_mb == TOTAL_MB


def test_concurrent_allocations_from_many_processes_are_all_kept(tmp_path: Path) -> None:
    # given eight processes, each about to record 25 allocations at the same moment
    path = tmp_path / "sim-gpu.json"
    racers = [python(RACE, path, NEVER_A_PID + 1000 * i, 25, stdin=subprocess.PIPE,
                     stdout=subprocess.PIPE) for i in range(8)]
    for racer in racers:
        assert racer.stdout is not None and racer.stdout.readline() == "ready\n"
    # when they all start
    for racer in racers:
        assert racer.stdin is not None
        racer.stdin.write("go\n")
        racer.stdin.flush()
    for racer in racers:
        racer.communicate(timeout=CHILD_TIMEOUT_S)
    assert [racer.returncode for racer in racers] == [0] * 8
    # then none of the 200 read-modify-write cycles lost another's allocation
    gpu = SimulatedGpu(path, TOTAL_MB, release_delay_s=3600.0)
    pids = {p.pid for p in gpu.snapshot().processes}
    assert pids == {NEVER_A_PID + 1000 * i + j for i in range(8) for j in range(25)}


def test_a_later_allocation_replaces_the_earlier_and_free_releases_at_once(
        tmp_path: Path) -> None:
    # given a server that loaded 6000 MiB, then slept down to 500 MiB
    gpu = SimulatedGpu(tmp_path / "sim-gpu.json", TOTAL_MB)
    gpu.allocate(os.getpid(), 6000, "server")
    gpu.allocate(os.getpid(), 500, "server")
    assert gpu.snapshot().used_mb == 500
    # when it frees its memory while still alive; then it is free without any delay
    gpu.free(os.getpid())
    assert (gpu.snapshot().processes, gpu.snapshot().free_mb) == ((), TOTAL_MB)


def test_the_state_file_is_in_the_state_dir_unless_the_environment_names_one(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # given no override: the file is <state_dir>/sim-gpu.json
    default = open_gpu("sim:24GiB", tmp_path / "state")
    assert isinstance(default, SimulatedGpu)
    assert default.path == tmp_path / "state" / "sim-gpu.json"
    # given GPUMOD_SIM_GPU_FILE: every process that sets it shares that file instead
    monkeypatch.setenv(SIM_FILE_ENV, str(tmp_path / "shared.json"))
    shared = open_gpu("sim:24GiB", tmp_path / "state")
    assert isinstance(shared, SimulatedGpu) and shared.path == tmp_path / "shared.json"


@pytest.mark.parametrize(("spec", "total_mb", "release_delay_s"), [
    ("sim:24GiB", 24576, 1.0),
    ("sim:24000MiB", 24000, 1.0),
    ("sim:24GB", 22888, 1.0),  # decimal: 24e9 bytes
    ("sim:512MB", 488, 1.0),
    ("SIM:1.5gib", 1536, 1.0),
    ("sim:24GiB,release=2s", 24576, 2.0),
    ("sim:80GiB,release=250ms", 81920, 0.25),
    ("sim:24GiB,release=0s", 24576, 0.0),
])
def test_a_sim_spec_sets_size_in_mib_and_release_delay(
        spec: str, total_mb: int, release_delay_s: float, tmp_path: Path) -> None:
    gpu = open_gpu(spec, tmp_path)
    assert isinstance(gpu, SimulatedGpu)
    assert (gpu.total_mb, gpu.release_delay_s) == (total_mb, release_delay_s)


@pytest.mark.parametrize("spec", [
    "sim", "sim:", "sim:24", "sim:24TB", "sim:GiB", "sim:-1GiB", "sim:0MiB",
    "sim:24GiB,release=2", "sim:24GiB,delay=2s", "sim:24GiB,", "sim 24GiB",
])
def test_a_malformed_sim_spec_names_the_option_and_the_accepted_forms(
        spec: str, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"^--gpu / GPUMOD_GPU "):
        open_gpu(spec, tmp_path)
