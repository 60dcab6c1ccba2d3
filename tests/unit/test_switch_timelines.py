"""Mode switches: each switch's timeline gathers every event of its correlation, in any stream."""

from __future__ import annotations

from gpumod.events import catalogue as ev
from gpumod.events.base import Event
from gpumod.projections.fold import fold
from gpumod.projections.state import State
from tests.helpers import recorded_in

SWITCH = "corr-switch"
OTHER = "corr-other"

CONFIG: list[tuple[Event, str | None]] = [
    (ev.ServiceRegistered(service_id="qwen", definition={
        "id": "qwen", "name": "Q", "driver": "llamacpp", "vram_mb": 20000}), "corr-config"),
    (ev.ServiceRegistered(service_id="embed", definition={
        "id": "embed", "name": "E", "driver": "vllm", "vram_mb": 2500}), "corr-config"),
    (ev.ModeDefined(mode_id="code", definition={"id": "code", "name": "C",
                                                "services": ["qwen"]}), "corr-config"),
    (ev.ModeDefined(mode_id="rag", definition={"id": "rag", "name": "R",
                                               "services": ["embed"]}), "corr-config"),
]
REQUESTED = ev.ModeSwitchRequested(switch_id="s1", from_mode=None, to_mode="code")
STARTING = ev.ServiceStarting(service_id="qwen", backend="process", vram_needed_mb=20000)
OBSERVED = ev.VramObserved(total_mb=24000, used_mb=500, free_mb=23500)
HEALTHY = ev.ServiceBecameHealthy(service_id="qwen", elapsed_ms=1200)
COMPLETED = ev.ModeSwitchCompleted(switch_id="s1", to_mode="code", duration_ms=1300)
FAILED = ev.ModeSwitchFailed(switch_id="s1", to_mode="code", reason="VRAM not released",
                             protection="vram_wait")


def folded(*entries: tuple[Event, str | None]) -> tuple[State, list[int]]:
    """The state, and the positions of `entries` (after the configuration)."""
    history = recorded_in(*CONFIG, *entries)
    return fold(history), [rec.position for rec in history[len(CONFIG):]]


def test_a_requested_switch_is_in_progress_with_its_first_step() -> None:
    state, [requested] = folded((REQUESTED, SWITCH))

    timeline = state.switches["s1"]
    assert state.switch_in_progress == "s1"
    assert timeline.status == "in_progress"
    assert (timeline.from_mode, timeline.to_mode) == (None, "code")
    assert timeline.correlation_id == SWITCH
    assert [(s.position, s.type) for s in timeline.steps] == [(requested, "ModeSwitchRequested")]
    assert timeline.started_at == timeline.steps[0].at


def test_events_of_the_switch_correlation_in_other_streams_become_its_steps() -> None:
    state, positions = folded((REQUESTED, SWITCH), (STARTING, SWITCH), (OBSERVED, SWITCH),
                              (HEALTHY, SWITCH), (COMPLETED, SWITCH))

    steps = state.switches["s1"].steps
    assert [s.position for s in steps] == positions
    assert [(s.type, s.stream) for s in steps] == [
        ("ModeSwitchRequested", "switch-s1"), ("ServiceStarting", "service-qwen"),
        ("VramObserved", "gpu-0"), ("ServiceBecameHealthy", "service-qwen"),
        ("ModeSwitchCompleted", "switch-s1")]
    assert steps[1].detail["vram_needed_mb"] == 20000
    assert [s.at for s in steps] == sorted(s.at for s in steps)


def test_events_of_other_correlations_are_not_steps() -> None:
    state, [_, mine, _, _] = folded((REQUESTED, SWITCH), (STARTING, SWITCH), (OBSERVED, OTHER),
                                    (OBSERVED, None))

    assert [s.position for s in state.switches["s1"].steps][1:] == [mine]


def test_a_completed_switch_sets_the_active_mode_and_ends() -> None:
    state, positions = folded((REQUESTED, SWITCH), (STARTING, SWITCH), (HEALTHY, SWITCH),
                              (COMPLETED, SWITCH))

    timeline = state.switches["s1"]
    assert timeline.status == "completed"
    assert timeline.ended_at == timeline.steps[-1].at
    assert timeline.steps[-1].position == positions[-1]
    assert timeline.reason is None
    assert state.active_mode == "code"
    assert state.switch_in_progress is None


def test_a_failed_switch_records_why_and_leaves_no_active_mode() -> None:
    state, _ = folded((REQUESTED, SWITCH), (STARTING, SWITCH), (FAILED, SWITCH))

    timeline = state.switches["s1"]
    assert timeline.status == "failed"
    assert timeline.reason == "VRAM not released"
    assert timeline.ended_at is not None
    assert state.active_mode is None
    assert state.switch_in_progress is None


def test_a_failed_switch_away_from_a_mode_clears_the_previous_active_mode() -> None:
    state, _ = folded((REQUESTED, SWITCH), (COMPLETED, SWITCH),
                      (ev.ModeSwitchRequested(switch_id="s2", from_mode="code", to_mode="rag"),
                       OTHER),
                      (ev.ModeSwitchFailed(switch_id="s2", to_mode="rag", reason="oom"), OTHER))

    assert state.switches["s1"].status == "completed"
    assert state.switches["s2"].status == "failed"
    assert state.active_mode is None


def test_events_after_a_switch_ended_are_not_added_to_it() -> None:
    state, _ = folded((REQUESTED, SWITCH), (COMPLETED, SWITCH), (OBSERVED, SWITCH))

    assert state.switches["s1"].steps[-1].type == "ModeSwitchCompleted"


def test_a_rolled_back_switch_restores_the_previous_mode() -> None:
    state, _ = folded(
        (REQUESTED, SWITCH), (COMPLETED, SWITCH),
        (ev.ModeSwitchRequested(switch_id="s2", from_mode="code", to_mode="rag"), OTHER),
        (ev.ModeSwitchFailed(switch_id="s2", to_mode="rag", reason="oom"), OTHER),
        (ev.ModeSwitchRolledBack(switch_id="s2", restored_mode="code"), OTHER),
    )

    assert state.switches["s2"].status == "rolled_back"
    assert state.active_mode == "code"


def test_an_interrupted_switch_ends_with_the_mode_it_was_resolved_to() -> None:
    state, _ = folded((REQUESTED, SWITCH), (STARTING, SWITCH),
                      (ev.ModeSwitchInterrupted(switch_id="s1", resolved_mode=None,
                                                actions=["stopped qwen"]), "corr-recovery"))

    timeline = state.switches["s1"]
    assert timeline.status == "interrupted"
    assert timeline.reason is not None
    assert state.active_mode is None
    assert state.switch_in_progress is None


def test_two_switches_keep_their_own_steps() -> None:
    second = ev.ModeSwitchRequested(switch_id="s2", from_mode="code", to_mode="rag")
    state, positions = folded(
        (REQUESTED, SWITCH), (STARTING, SWITCH), (COMPLETED, SWITCH),
        (second, OTHER), (ev.ServiceStopping(service_id="qwen"), OTHER),
        (ev.ModeSwitchCompleted(switch_id="s2", to_mode="rag", duration_ms=9), OTHER),
    )

    assert [s.position for s in state.switches["s1"].steps] == positions[:3]
    assert [s.position for s in state.switches["s2"].steps] == positions[3:]
    assert state.active_mode == "rag"
    assert state.open_correlations == {}


def test_removing_the_active_mode_from_the_log_clears_it() -> None:
    state, _ = folded((REQUESTED, SWITCH), (COMPLETED, SWITCH),
                      (ev.ModeRemoved(mode_id="code"), "corr-remove"))

    assert state.active_mode is None
