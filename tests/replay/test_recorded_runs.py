"""What each log recorded from a real CLI run (scripts/record_real_fixtures.py, and
scripts/record_real_fixture.sh for switch-oom-crash) replays to: the story the run told, checked
point by point on top of the whole-state comparison in test_fixtures.py."""

from __future__ import annotations

from gpumod.events.base import RecordedEvent
from tests.replay.recorded import events, journeys, replayed, steps, timelines


def of_type(log: list[RecordedEvent], type_name: str) -> list[RecordedEvent]:
    return [event for event in log if event.type == type_name]


def live(name: str) -> dict[str, str]:
    return {sid: s.state for sid, s in replayed(name).services.items() if s.state != "STOPPED"}


def test_switch_history_replays_its_switches_in_order() -> None:
    state = replayed("switch-history")

    assert journeys(state) == [
        (None, "code", "completed"), ("code", "rag", "completed"), ("rag", "code", "completed"),
        ("code", "blank", "completed"),
        ("blank", "rag", "rolled_back"),  # vllm-embedding ran out of memory loading
        (None, "blank", "completed")]  # the rollback, as a switch of its own
    assert state.active_mode == "blank" and state.switch_in_progress is None
    assert not state.anomalies


def test_switch_history_sleeps_the_router_beside_rag_and_wakes_it_for_code() -> None:
    to_rag, back_to_code = timelines(replayed("switch-history"))[1:3]

    assert ("ServiceSlept", "qwen3-coder") in steps(to_rag)
    assert ("ServiceStarting", "qwen3-coder") not in steps(back_to_code)
    assert ("ServiceWoke", "qwen3-coder") in steps(back_to_code)
    slept = next(s for s in to_rag.steps if s.type == "ServiceSlept")
    assert slept.detail["level"] == "router"


def test_switch_history_records_the_preflight_refusal_and_touches_nothing() -> None:
    log = events("switch-history")
    state = replayed("switch-history")

    [refusal] = of_type(log, "CommandRejected")
    assert (refusal.data["command"], refusal.data["code"]) == ("SwitchMode", "insufficient_vram")
    assert refusal.data["arguments"]["mode_id"] == "code"
    assert "nothing was touched" in refusal.data["reason"]
    assert refusal.metadata["correlation_id"] not in {t.correlation_id for t in timelines(state)}
    after = [e for e in log if e.position > refusal.position]
    assert after[0].type == "ModeSwitchRequested" and after[0].data["to_mode"] == "rag"


def test_switch_history_rolls_back_the_switch_where_a_service_ran_out_of_memory() -> None:
    state = replayed("switch-history")
    failed = next(t for t in timelines(state) if t.status == "rolled_back")

    assert steps(failed)[-3:] == [("ServiceStartFailed", "vllm-embedding"),
                                  ("OomDetected", "vllm-embedding"), ("ModeSwitchFailed", None)]
    assert failed.reason is not None and failed.reason.startswith("vllm-embedding:")
    [rolled_back] = of_type(events("switch-history"), "ModeSwitchRolledBack")
    assert rolled_back.data["restored_mode"] == "blank"
    assert state.services["vllm-embedding"].oom_count == 1
    assert live("switch-history") == {"vllm-embedding-code": "RUNNING",
                                      "vllm-embedding": "FAILED"}


def test_crash_recovery_replays_the_killed_switch_as_interrupted_then_finished() -> None:
    state = replayed("crash-recovery")

    assert journeys(state) == [(None, "rag", "completed"), ("rag", "code", "interrupted"),
                               (None, "code", "completed")]
    killed = timelines(state)[1]
    assert killed.reason == "gpumod stopped during the switch"
    assert ("ServiceProcessLaunched", "qwen3-coder") in steps(killed)
    assert ("ServiceBecameHealthy", "qwen3-coder") not in steps(killed)  # killed before it
    assert state.active_mode == "code" and state.switch_in_progress is None
    assert live("crash-recovery") == {"vllm-embedding-code": "RUNNING", "qwen3-coder": "RUNNING"}
    assert not state.anomalies


def test_crash_recovery_records_what_recover_found_under_its_own_actor() -> None:
    log = events("crash-recovery")

    by_recovery = [e for e in log if e.metadata["actor"] == "gpumod:recovery"]
    assert [e.type for e in by_recovery][:2] == ["ServiceStateReconciled", "ModeSwitchInterrupted"]
    reconciled = by_recovery[0]
    assert (reconciled.data["service_id"], reconciled.data["state"]) == ("qwen3-coder", "RUNNING")
    assert by_recovery[-1].type == "ModeSwitchCompleted"
    assert by_recovery[-1].data["to_mode"] == "code"


def test_oom_incident_counts_one_oom_and_one_crash_the_monitor_found() -> None:
    log = events("oom-incident")
    state = replayed("oom-incident")

    [oom] = of_type(log, "OomDetected")
    assert (oom.data["service_id"], oom.data["evidence"]) == ("vllm-embedding", "log")
    assert oom.data["needed_mb"] == 5000
    [crash] = of_type(log, "ServiceCrashed")
    assert crash.data["service_id"] == "vllm-embedding-code"
    assert (crash.metadata["actor"], crash.data["exit_code"]) == ("monitor", 1)
    services = state.services
    assert (services["vllm-embedding"].state, services["vllm-embedding"].oom_count) == (
        "FAILED", 1)
    assert (services["vllm-embedding-code"].state, services["vllm-embedding-code"].oom_count) == (
        "FAILED", 0)
    assert services["vllm-embedding-code"].last_error == "process exited (code 1)"
    assert state.switches == {} and state.active_mode is None and not state.anomalies


def test_the_combined_real_run_replays_what_the_run_did() -> None:
    """switch-oom-crash: switches, a refusal, an OOM rolled back, gpumod killed mid-switch and
    recovered, a crash the monitor found."""
    state = replayed("switch-oom-crash")
    log = events("switch-oom-crash")

    statuses = [t.status for t in state.switches.values()]
    assert {"completed", "rolled_back", "interrupted"} <= set(statuses)
    assert state.switch_in_progress is None and state.active_mode == "rag"
    assert state.services["vllm-embedding"].oom_count >= 1
    assert state.services["vllm-embedding"].state == "FAILED"  # crashed, found by the monitor
    types = {event.type for event in log}
    assert {"CommandRejected", "ServiceStateReconciled"} <= types
    assert not state.anomalies


def test_every_recorded_run_names_the_gpu_it_ran_on() -> None:
    for name in ("switch-history", "crash-recovery", "oom-incident", "release-timeout"):
        ledger = replayed(name).vram
        [detected] = of_type(events(name), "GpuDetected")

        assert (ledger.gpu_name, ledger.total_mb, ledger.simulated) == (
            detected.data["name"], 24576, True), name
        assert detected.position < 30 and detected.metadata["actor"] == "gpumod:gpu", name


def test_release_timeout_fails_the_switch_with_nothing_started_then_a_retry_completes() -> None:
    state = replayed("release-timeout")
    failed, retried = timelines(state)[2:]

    assert (failed.to_mode, failed.status, retried.to_mode, retried.status) == (
        "code", "failed", "code", "completed")
    assert [t for t, _ in steps(failed)][-3:] == [
        "VramReleaseAwaited", "VramReleaseTimedOut", "ModeSwitchFailed"]
    assert not [s for s in steps(failed) if s[0] in ("ServiceStarting", "ServiceWoke")]
    timed_out = next(s for s in failed.steps if s.type == "VramReleaseTimedOut")
    assert timed_out.detail["free_mb"] < timed_out.detail["needed_mb"]
    assert 1000 <= timed_out.detail["waited_ms"] < 2000  # --release-timeout 1
    ended = next(s for s in failed.steps if s.type == "ModeSwitchFailed")
    assert ended.detail["protection"] == "release-wait"
    assert state.active_mode == "code" and not state.anomalies
