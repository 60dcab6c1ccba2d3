"""Given the recorded events of one operation / when the post-mortem is built / then its steps,
durations, VRAM, protection fired and log tail."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from gpumod.commands.postmortem import last_failure, report, steps_of, timeline_report
from gpumod.events import catalogue as ev
from gpumod.events.base import Event, RecordedEvent
from gpumod.events.catalogue.incidents import GpuProcess
from gpumod.projections.fold import fold
from tests.helpers import recorded, recorded_in

T0 = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
OOM_TAIL = ["loading model", "ggml_backend_cuda_buffer_type_alloc_buffer: allocating "
            "19800.00 MiB on device 0: cudaMalloc failed: out of memory"]


def timed(*entries: tuple[float, Event], correlation_id: str = "c-1") -> list[RecordedEvent]:
    """Events recorded `seconds` after T0 each, all under one correlation id."""
    events = recorded(*(e for _, e in entries), correlation_id=correlation_id)
    return [replace(rec, recorded_at=(T0 + timedelta(seconds=s)).isoformat())
            for rec, (s, _) in zip(events, entries, strict=True)]


RELEASE_TIMEOUT = timed(
    (0.0, ev.ModeSwitchRequested(switch_id="s1", from_mode="code", to_mode="rag")),
    (0.01, ev.ModeSwitchPlanned(switch_id="s1", stop=["qwen"], start=["embed"], needed_mb=9000,
                                free_mb=4000)),
    (0.02, ev.ServiceStopping(service_id="qwen", reason="switch")),
    (1.02, ev.ServiceStopped(service_id="qwen", exit_code=0)),
    (1.03, ev.VramReleaseAwaited(needed_mb=9512, free_mb=4500, timeout_s=30)),
    (31.03, ev.VramReleaseTimedOut(needed_mb=9512, free_mb=6000, waited_ms=30000,
                                   samples=[(0, 4500), (12000, 6000)])),
    (31.04, ev.ModeSwitchFailed(switch_id="s1", to_mode="rag", reason="VRAM was not released",
                                protection="release-wait", running=[])),
)


def test_a_switch_failed_on_the_release_wait_shows_each_step_with_duration_and_vram() -> None:
    result = report(steps_of(RELEASE_TIMEOUT), "c-1", total_mb=24576)

    steps = result["steps"]
    assert [s["duration_ms"] for s in steps] == [10, 10, 1000, 10, 30000, 10, None]
    assert [s["free_mb"] for s in steps] == [None, 4000, 4000, 4000, 4500, 6000, 6000]
    assert [s["used_mb"] for s in steps][1:3] == [20576, 20576]  # carried until the next reading
    assert result["duration_ms"] == 31040
    assert (result["outcome"], result["switch"]["to_mode"]) == ("failed", "rag")
    assert result["protection"] == {
        "name": "release wait", "type": "VramReleaseTimedOut", "position": 6,
        "reason": "9512 MB needed, 6000 MB free after waiting 30000 ms"}
    assert result["failure"] is None and result["oom"] == []


def test_the_report_of_a_switch_timeline_in_the_state_is_the_same() -> None:
    timeline = fold(RELEASE_TIMEOUT).switches["s1"]

    assert timeline_report(timeline, 24576)["steps"] == report(
        steps_of(RELEASE_TIMEOUT), "c-1", 24576)["steps"]


def test_a_start_that_ooms_shows_reserved_vram_the_oom_and_the_log_tail() -> None:
    events = timed(
        (0.0, ev.ServiceStarting(service_id="qwen", backend="direct", vram_needed_mb=19800)),
        (0.01, ev.ServiceProcessLaunched(service_id="qwen", backend="direct", pid=4242)),
        (2.5, ev.ServiceStartFailed(service_id="qwen", reason="process exited before becoming "
                                    "healthy", exit_code=1, log_tail=OOM_TAIL)),
        (2.51, ev.OomDetected(service_id="qwen", evidence="log", free_mb=3000, total_mb=24576,
                              needed_mb=19800, processes=[GpuProcess(pid=7, used_mb=21576)],
                              log_tail=OOM_TAIL)))

    result = report(steps_of(events), "c-1", command="StartService")

    assert result["outcome"] == "failed" and result["switch"] is None
    assert result["services"] == [{"service_id": "qwen", "reserved_mb": 19800,
                                   "measured_mb": None}]
    assert result["steps"][-1]["used_mb"] == 21576  # total known from the OOM event
    assert result["failure"] == {
        "service_id": "qwen", "type": "ServiceStartFailed", "position": 3,
        "reason": "process exited before becoming healthy", "exit_code": 1, "oom": True,
        "log_tail": OOM_TAIL}
    assert result["oom"][0]["processes"] == [{"pid": 7, "used_mb": 21576, "name": None}]
    assert result["protection"] is None


def test_a_start_refused_for_vram_names_the_driver_check_and_a_switch_the_preflight() -> None:
    start = recorded(ev.CommandRejected(command="StartService", arguments={},
                                        reason="cannot start 'qwen'", code="insufficient_vram"))
    switch = recorded(ev.CommandRejected(command="SwitchMode", arguments={},
                                         reason="cannot switch", code="insufficient_vram"))

    assert report(steps_of(start), "c-1")["protection"]["name"] == "driver VRAM check"
    assert report(steps_of(switch), "c-1")["protection"]["name"] == "pre-flight VRAM check"
    assert report(steps_of(switch), "c-1")["outcome"] == "refused"


def test_a_crash_with_oom_in_its_log_shows_the_tail_from_the_crash() -> None:
    events = timed(
        (0.0, ev.ServiceCrashed(service_id="qwen", exit_code=1, log_tail=OOM_TAIL)),
        (0.0, ev.OomDetected(service_id="qwen", evidence="log", free_mb=20000, total_mb=24576,
                             needed_mb=19800, log_tail=OOM_TAIL)), correlation_id="mon-1")

    result = report(steps_of(events), "mon-1")

    assert result["outcome"] == "crashed"
    assert result["failure"]["log_tail"] == OOM_TAIL and result["failure"]["oom"]
    assert result["services"] == [{"service_id": "qwen", "reserved_mb": 19800,
                                   "measured_mb": None}]


def test_healthy_services_show_reserved_against_measured_vram() -> None:
    events = recorded(ev.ServiceStarting(service_id="emb", backend="direct", vram_needed_mb=2500),
                      ev.ServiceBecameHealthy(service_id="emb", elapsed_ms=900),
                      ev.ServiceVramMeasured(service_id="emb", vram_mb=2300))

    result = report(steps_of(events), "c-1")

    assert result["services"] == [{"service_id": "emb", "reserved_mb": 2500, "measured_mb": 2300}]
    assert result["outcome"] == "ok"


def test_the_last_failure_is_the_newest_failed_operation_not_a_refusal_of_another_kind() -> None:
    events = recorded_in(
        (ev.ServiceStartFailed(service_id="a", reason="x"), "old"),
        (ev.ServiceCrashed(service_id="b"), "crash"),
        (ev.CommandRejected(command="StartService", arguments={}, reason="no such service",
                            code="unknown_service"), "typo"),
        (ev.ServiceBecameHealthy(service_id="c", elapsed_ms=1), "fine"))

    assert last_failure(events) == "crash"
    assert last_failure(events[3:]) is None
