"""`gpumod simulate` and `gpumod mode switch` against stand-in servers on a simulated GPU."""

from __future__ import annotations

from tests.e2e.conftest import Gpumod
from tests.e2e.switching import (
    MACHINE,
    foreign_allocation,
    live,
    write_behaviours,
)


def test_simulate_appends_nothing_and_says_whether_it_fits(switching: Gpumod) -> None:
    before = len(switching.history())

    fits = switching.ok(*MACHINE, "simulate", "mode", "code", "--json").json()
    too_big = switching.run(*MACHINE, "simulate", "mode", "code", "--add", "vllm-embedding")

    assert fits["fits"] and fits["plan"]["needed_mb"] == 22500
    assert [s["id"] for s in fits["services"]] == ["vllm-embedding-code", "qwen3-coder"]
    assert too_big.code == 2, str(too_big)
    assert "DOES NOT FIT" in too_big.stdout and "alternatives" in too_big.stdout
    assert "drop" in too_big.stdout
    assert len(switching.history()) == before


def test_switch_back_and_forth_shows_steps_and_keeps_what_both_modes_share(
    switching: Gpumod,
) -> None:
    first = switching.ok(*MACHINE, "mode", "switch", "code")
    pid = switching.ok(*MACHINE, "status", "--json").json()["services"]
    embed_pid = next(s["pid"] for s in pid if s["id"] == "vllm-embedding-code")

    second = switching.ok(*MACHINE, "mode", "switch", "rag", "--json").json()

    assert "ModeSwitchCompleted" in first.stdout and "COMPLETED" in first.stdout
    assert second["status"] == "completed" and second["result"] == "completed"
    steps = [s["type"] for s in second["steps"]]
    assert "ServiceSlept" in steps  # qwen3-coder is a router: it sleeps beside the new mode
    assert live(switching) == {"vllm-embedding-code": "RUNNING", "vllm-embedding": "RUNNING",
                               "qwen3-coder": "SLEEPING"}
    after = switching.ok(*MACHINE, "status", "--json").json()["services"]
    assert next(s["pid"] for s in after if s["id"] == "vllm-embedding-code") == embed_pid
    assert "active mode: rag" in switching.ok("mode", "status").stdout
    back = switching.ok(*MACHINE, "mode", "switch", "code", "--json").json()
    assert "ServiceWoke" in [s["type"] for s in back["steps"]]


def test_a_switch_that_cannot_fit_is_refused_before_anything_is_touched(
    switching: Gpumod,
) -> None:
    foreign_allocation(switching.db.parent / "state", 6000)

    refused = switching.fails(*MACHINE, "mode", "switch", "code")

    assert "needs 22500 MB + 512 MB margin" in refused.stderr
    assert live(switching) == {}
    rejected = switching.history("--type", "CommandRejected")[-1]
    assert rejected["data"]["code"] == "insufficient_vram"


def test_a_failing_service_fails_the_switch_and_rollback_restores_the_previous_mode(
    switching: Gpumod,
) -> None:
    state_dir = switching.db.parent / "state"
    switching.ok(*MACHINE, "mode", "switch", "rag")
    write_behaviours(state_dir, {"qwen3-coder": "{load_s: 0.05, oom: true}"})

    failed = switching.run(*MACHINE, "mode", "switch", "code", "--rollback")

    assert failed.code == 1, str(failed)
    assert "ROLLED_BACK" in failed.stdout
    assert live(switching) == {"vllm-embedding-code": "RUNNING", "vllm-embedding": "RUNNING",
                               "qwen3-coder": "FAILED"}  # its process is gone; the log says why
    assert "active mode: rag" in switching.ok("mode", "status").stdout
    report = switching.ok("postmortem", "--last-failure", "--json").json()
    assert report["oom"] and report["failure"]["service_id"] == "qwen3-coder"
