"""The NVML adapter through the real pynvml, against a fake libnvidia-ml.so.1 compiled from C."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from gpumod.adapters.gpu.select import open_gpu
from tests.fakes.nvml import LIBRARY, build, compiler, run_probe

GIB = 1024**3
MIB = 1024**2
NO_SUCH_PID = 4_999_999  # above the kernel's largest possible pid (2**22)
NO_DRIVER = ("no NVIDIA driver found (libnvidia-ml.so.1 not loadable); on a machine without an "
             "NVIDIA GPU use the simulated one: --gpu sim:24GiB or GPUMOD_GPU=sim:24GiB")


@pytest.fixture(scope="session")
def fake_nvml(tmp_path_factory: pytest.TempPathFactory) -> Path:
    cc = compiler()
    if cc is None:
        pytest.skip("gcc not found: the fake libnvidia-ml.so.1 is compiled from C at test time")
    return build(cc, tmp_path_factory.mktemp("fake-nvml"))


@pytest.fixture(scope="session")
def old_fake_nvml(tmp_path_factory: pytest.TempPathFactory) -> Path:
    cc = compiler()
    if cc is None:
        pytest.skip("gcc not found: the fake libnvidia-ml.so.1 is compiled from C at test time")
    return build(cc, tmp_path_factory.mktemp("old-fake-nvml"), old_driver=True)


@pytest.fixture
def unloadable(tmp_path: Path) -> Path:
    """A folder whose libnvidia-ml.so.1 the loader rejects, even where a real driver is installed.

    LD_LIBRARY_PATH is searched before the system's libraries, and an invalid file found there
    ends the search, so this is "no library" on any machine.
    """
    (tmp_path / LIBRARY).write_bytes(b"")
    return tmp_path


def test_snapshot_reports_the_gpu_memory_and_processes_nvml_gives(fake_nvml: Path) -> None:
    # given a 24 GiB GPU with 10 GiB used, by this test's process and by one no longer visible
    own_pid, own_name = os.getpid(), Path("/proc/self/comm").read_text().strip()
    procs = f"{own_pid}:{8 * GIB},{NO_SUCH_PID}:{2 * GIB + MIB // 2}"
    # when gpumod reads it
    result = run_probe(fake_nvml, "nvml", FAKE_NVML_NAMES="NVIDIA H100 80GB HBM3",
                       FAKE_NVML_DRIVER="550.54.15", FAKE_NVML_TOTAL_BYTES=str(24 * GIB),
                       FAKE_NVML_USED_BYTES=str(10 * GIB), FAKE_NVML_PROCS=procs)
    # then every figure is in MiB, and names come from /proc where the process is visible
    snapshot = result["snapshot"]
    assert snapshot == {
        "index": 0, "name": "NVIDIA H100 80GB HBM3", "driver_version": "550.54.15",
        "total_mb": 24 * 1024, "used_mb": 10 * 1024, "free_mb": 14 * 1024, "simulated": False,
        "processes": [
            {"pid": own_pid, "used_mb": 8 * 1024, "name": own_name},
            {"pid": NO_SUCH_PID, "used_mb": 2 * 1024, "name": None},
        ],
    }


def test_a_gpu_without_compute_processes_lists_none(fake_nvml: Path) -> None:
    # given an idle GPU; when read; then no processes and all memory free
    snapshot = run_probe(fake_nvml, "nvml", FAKE_NVML_TOTAL_BYTES=str(16 * GIB))["snapshot"]
    assert (snapshot["processes"], snapshot["free_mb"]) == ([], 16 * 1024)


def test_processes_are_listed_on_drivers_older_than_the_v3_call(old_fake_nvml: Path) -> None:
    # given a driver whose NVML lists processes only through the _v2 call
    result = run_probe(old_fake_nvml, "nvml", FAKE_NVML_PROCS=f"{NO_SUCH_PID}:{3 * GIB}")
    # then the processes are still read
    assert result["snapshot"]["processes"] == [
        {"pid": NO_SUCH_PID, "used_mb": 3 * 1024, "name": None}]


def test_an_index_selects_that_gpu(fake_nvml: Path) -> None:
    # given two GPUs; when `nvml:1` is asked for; then the second one answers
    snapshot = run_probe(fake_nvml, "nvml:1", FAKE_NVML_NAMES="first GPU,second GPU")["snapshot"]
    assert (snapshot["index"], snapshot["name"]) == (1, "second GPU")


def test_an_index_beyond_the_gpus_present_is_refused(fake_nvml: Path) -> None:
    # given two GPUs; when `nvml:2` is asked for; then the refusal says how many there are
    result = run_probe(fake_nvml, "nvml:2", FAKE_NVML_NAMES="first GPU,second GPU")
    assert result == {"unavailable": "no NVIDIA GPU with index 2: NVML sees 2 (indexes 0 to 1); "
                                     "choose one with --gpu nvml:INDEX"}


def test_without_the_nvml_library_the_message_says_how_to_proceed(unloadable: Path) -> None:
    # given no loadable libnvidia-ml.so.1; when gpumod opens the GPU; then it explains
    assert run_probe(unloadable, "nvml") == {"unavailable": NO_DRIVER}


def test_a_driver_that_is_not_loaded_is_named_as_such(fake_nvml: Path) -> None:
    # given NVML answering NVML_ERROR_DRIVER_NOT_LOADED (9) at start
    result = run_probe(fake_nvml, "nvml", FAKE_NVML_INIT_ERROR="9")
    # then the message names that and the simulated GPU
    assert result == {"unavailable": (
        "the NVIDIA driver is installed but not loaded (NVML: Driver Not Loaded); on a machine "
        "without an NVIDIA GPU use the simulated one: --gpu sim:24GiB or GPUMOD_GPU=sim:24GiB")}


def test_an_unexpected_nvml_failure_is_reported_with_nvmls_words(fake_nvml: Path) -> None:
    # given NVML failing to start with NVML_ERROR_UNKNOWN (999)
    result = run_probe(fake_nvml, "nvml", FAKE_NVML_INIT_ERROR="999")
    assert result["unavailable"].startswith("NVML could not start (Unknown Error); ")


@pytest.mark.parametrize("spec", ["nvml:", "nvml:-1", "nvml:one", "nvidia", "cuda:0", ""])
def test_a_malformed_gpu_spec_names_the_option_and_the_accepted_forms(
        spec: str, tmp_path: Path) -> None:
    # given a spec no adapter answers to; when opened; then ValueError before NVML is touched
    with pytest.raises(ValueError, match=r"^--gpu / GPUMOD_GPU .*expected nvml, nvml:INDEX"):
        open_gpu(spec, tmp_path)
