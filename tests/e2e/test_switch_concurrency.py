"""Many gpumod processes changing the GPU at once: each operation runs alone, the log never
interleaves two of them, and VRAM is never over-committed."""

from __future__ import annotations

import subprocess
from collections.abc import Sequence

from tests.e2e.conftest import COMMAND_TIMEOUT_S, Gpumod
from tests.e2e.switching import MACHINE

OPERATIONS: Sequence[Sequence[str]] = (
    ("mode", "switch", "code"), ("mode", "switch", "rag"), ("service", "start", "bge-large"),
    ("mode", "switch", "blank"), ("service", "stop", "vllm-embedding"),
    ("mode", "switch", "code"), ("service", "start", "nomic-embed"), ("mode", "switch", "rag"),
)


def run_all_at_once(runner: Gpumod, operations: Sequence[Sequence[str]]) -> list[tuple[int, str]]:
    processes = [subprocess.Popen(runner.argv(*MACHINE, *op), env=runner.env, text=True,
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE)
                 for op in operations]
    results = []
    for process in processes:
        _, err = process.communicate(timeout=COMMAND_TIMEOUT_S)
        results.append((process.returncode, err))
    return results


def test_concurrent_switches_starts_and_stops_are_serialized(switching: Gpumod) -> None:
    before = len(switching.history())

    results = run_all_at_once(switching, OPERATIONS)

    for code, err in results:
        assert code in (0, 1) and "Traceback" not in err, err
    # The first of them records the GPU, under a correlation of its own: not an operation.
    events = [e for e in switching.history()[before:] if e["type"] != "GpuDetected"]
    correlations = [e["metadata"]["correlation_id"] for e in events]
    runs = [c for i, c in enumerate(correlations) if i == 0 or correlations[i - 1] != c]
    assert len(runs) == len(set(runs)), "two operations' events interleave in the log"
    assert len(set(runs)) == len(OPERATIONS)
    types = [e["type"] for e in events]
    assert types.count("ModeSwitchRequested") == 5
    assert "OomDetected" not in types
    open_switches = 0
    for kind in types:  # a switch ends before the next one begins
        open_switches += kind == "ModeSwitchRequested"
        open_switches -= kind in ("ModeSwitchCompleted", "ModeSwitchFailed")
        assert open_switches in (0, 1)


def test_no_wait_refuses_while_another_gpumod_holds_the_gpu(switching: Gpumod) -> None:
    from gpumod.adapters.locks import gpu_lock

    with gpu_lock(switching.db.parent / "state" / "gpu.lock"):
        refused = switching.fails(*MACHINE, "mode", "switch", "code", "--no-wait")

    assert "another gpumod process" in refused.stderr and "busy" in refused.stderr
