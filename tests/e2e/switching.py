"""Running `gpumod` switches against stand-in servers on a simulated GPU, and cleaning up."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from gpumod.adapters.gpu.sim import SimulatedGpu

if TYPE_CHECKING:
    from tests.e2e.conftest import Gpumod

MACHINE = ("--gpu", "sim:24GiB,release=0.3s", "--stand-ins", "--process-backend", "direct")
FAST = "{load_s: 0.05}"
SERVICES = ("vllm-embedding-code", "qwen3-coder", "vllm-embedding", "qwen3-coder-multi",
            "bge-large", "nomic-embed")


def write_behaviours(state_dir: Path, overrides: dict[str, str] | None = None) -> None:
    lines = [f"{sid}: {(overrides or {}).get(sid, FAST)}" for sid in SERVICES]
    state_dir.mkdir(exist_ok=True)
    (state_dir / "standins.yaml").write_text("\n".join(lines) + "\n", encoding="utf-8")


def stop_everything(runner: Gpumod) -> None:
    status = runner.run(*MACHINE, "status", "--json")
    if status.code != 0:
        return
    for service in status.json()["services"]:
        if service["state"] not in ("STOPPED",):
            runner.run(*MACHINE, "service", "stop", service["id"])


def live(runner: Gpumod) -> dict[str, str]:
    services: list[dict[str, Any]] = runner.ok(*MACHINE, "status", "--json").json()["services"]
    return {s["id"]: s["state"] for s in services if s["state"] != "STOPPED"}


def foreign_allocation(state_dir: Path, mb: int) -> SimulatedGpu:
    """Memory held on the simulated GPU by a process gpumod knows nothing of (this test)."""
    import os

    gpu = SimulatedGpu(state_dir / "sim-gpu.json", 24576, release_delay_s=0.3)
    gpu.allocate(os.getpid(), mb, "someone-else")
    return gpu
