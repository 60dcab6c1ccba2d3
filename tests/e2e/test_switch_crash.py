"""gpumod SIGKILLed at each step of a real switch (rag -> code: stop, release wait, start):
the next command records what it found and leaves one mode fully in place."""

from __future__ import annotations

import pytest

from tests.e2e.conftest import Gpumod
from tests.e2e.switching import MACHINE, live

STEPS = ["ModeSwitchRequested", "ModeSwitchPlanned", "ServiceStopping", "ServiceStopped",
         "VramReleaseAwaited", "ServiceStarting", "ServiceProcessLaunched",
         "ServiceBecameHealthy"]
MODES = {"rag": {"vllm-embedding-code", "vllm-embedding"},
         "code": {"vllm-embedding-code", "qwen3-coder"}}


@pytest.mark.parametrize("step", STEPS)
def test_killed_mid_switch_the_next_command_finishes_or_restores(
    switching: Gpumod, step: str,
) -> None:
    switching.ok(*MACHINE, "mode", "switch", "rag")
    env = switching.env | {"GPUMOD_FAULT_KILL_AFTER": step}
    killed = switching.run(*MACHINE, "mode", "switch", "code", env=env)
    assert killed.code == -9, str(killed)
    assert "switch in progress" in switching.ok("mode", "status").stdout
    count = len(switching.history())

    switching.ok(*MACHINE, "recover")

    mode = switching.ok("mode", "status", "--json").json()
    assert mode["switch_in_progress"] is None and mode["active_mode"] in MODES
    running = {s for s, state in live(switching).items() if state == "RUNNING"}
    assert running == MODES[mode["active_mode"]]
    recovery = switching.history()[count:]
    assert "ModeSwitchInterrupted" in [e["type"] for e in recovery]
    assert {e["metadata"]["actor"] for e in recovery} == {"gpumod:recovery"}
    positions = [e["position"] for e in switching.history()]
    assert positions == list(range(1, len(positions) + 1))  # nothing lost or duplicated
    switching.ok("audit", "verify")
