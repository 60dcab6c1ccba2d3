"""A fake `libnvidia-ml.so.1`, compiled from fake_nvml.c, and a probe that reads it via pynvml.

pynvml loads the library once per process through ctypes, and the dynamic loader reads
LD_LIBRARY_PATH only at process start: so NVML code runs in a subprocess (`run_probe`).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
SOURCE = HERE / "fake_nvml.c"
PROBE = HERE / "probe.py"
LIBRARY = "libnvidia-ml.so.1"
PROBE_TIMEOUT_S = 60  # a guard against a hang, not a measurement


def compiler() -> str | None:
    return shutil.which(os.environ.get("CC", "gcc"))


def build(cc: str, folder: Path, *, old_driver: bool = False) -> Path:
    """Compiles the fake into `folder`/libnvidia-ml.so.1; returns the folder.

    `old_driver`: without nvmlDeviceGetComputeRunningProcesses_v3, as before driver 510.
    """
    folder.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [cc, "-shared", "-fPIC", "-Wall", "-Werror", "-O1", f"-Wl,-soname,{LIBRARY}",
         *(["-DFAKE_NVML_V2_ONLY"] if old_driver else []),
         "-o", str(folder / LIBRARY), str(SOURCE)],
        check=True, capture_output=True, text=True)
    return folder


def run_probe(library_dir: Path, spec: str, **fake_env: str) -> dict[str, Any]:
    """`open_gpu(spec)` then a snapshot, in a process that loads NVML from `library_dir`."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("FAKE_NVML_")}
    env.update(fake_env, LD_LIBRARY_PATH=str(library_dir))
    done = subprocess.run([sys.executable, str(PROBE), spec], env=env, capture_output=True,
                          text=True, timeout=PROBE_TIMEOUT_S, check=False)
    if done.returncode != 0:
        raise AssertionError(f"probe failed ({done.returncode}): {done.stderr}")
    result: dict[str, Any] = json.loads(done.stdout)
    return result
