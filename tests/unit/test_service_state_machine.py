"""The service state machine: allowed transitions lead to the right state, others are refused.

The expected rules are written out here by hand from the architecture seed's drawing (and the
FAILED state issue 2 adds), never read back from the code's TRANSITIONS table:

    STOPPED --start()--> STARTING --health OK--> RUNNING
    RUNNING --sleep()--> SLEEPING --wake()--> RUNNING
    RUNNING --health fail--> UNHEALTHY --recover--> RUNNING
    RUNNING/SLEEPING/UNHEALTHY/STARTING --stop()--> STOPPING --> STOPPED
    a failed start, a failed stop or a crash ends in FAILED; FAILED is left by starting again
    or by being stopped. A failed sleep or wake leaves the service where it was.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from gpumod.events import catalogue as ev
from gpumod.events.base import Event
from gpumod.projections.fold import fold
from gpumod.projections.service_state import TRANSITIONS, TransitionRefused, check_transition
from gpumod.projections.state import State
from tests.helpers import recorded

SID = "qwen"
NEEDED_MB = 20000
STATES = ("STOPPED", "STARTING", "RUNNING", "SLEEPING", "STOPPING", "UNHEALTHY", "FAILED")
LIVE = ("STARTING", "RUNNING", "SLEEPING", "UNHEALTHY")

EXPECTED: dict[tuple[str, str], str] = {
    ("STOPPED", "ServiceStarting"): "STARTING",
    ("FAILED", "ServiceStarting"): "STARTING",
    ("STARTING", "ServiceBecameHealthy"): "RUNNING",
    ("STARTING", "ServiceStartFailed"): "FAILED",
    ("RUNNING", "ServiceSlept"): "SLEEPING",
    ("RUNNING", "ServiceSleepFailed"): "RUNNING",
    ("SLEEPING", "ServiceWoke"): "RUNNING",
    ("SLEEPING", "ServiceWakeFailed"): "SLEEPING",
    ("RUNNING", "ServiceBecameUnhealthy"): "UNHEALTHY",
    ("UNHEALTHY", "ServiceRecovered"): "RUNNING",
    ("STOPPING", "ServiceStopped"): "STOPPED",
    ("STOPPING", "ServiceStopFailed"): "FAILED",
    **{(state, "ServiceStopping"): "STOPPING" for state in (*LIVE, "FAILED")},
    **{(state, "ServiceCrashed"): "FAILED" for state in (*LIVE, "STOPPING")},
}

EVENTS: dict[str, Callable[[], Event]] = {
    "ServiceStarting": lambda: ev.ServiceStarting(service_id=SID, backend="process", pid=4242,
                                                  vram_needed_mb=NEEDED_MB),
    "ServiceBecameHealthy": lambda: ev.ServiceBecameHealthy(service_id=SID, elapsed_ms=900),
    "ServiceStartFailed": lambda: ev.ServiceStartFailed(service_id=SID, reason="exit 1"),
    "ServiceStopping": lambda: ev.ServiceStopping(service_id=SID),
    "ServiceStopped": lambda: ev.ServiceStopped(service_id=SID, exit_code=0),
    "ServiceStopFailed": lambda: ev.ServiceStopFailed(service_id=SID, reason="still alive"),
    "ServiceSlept": lambda: ev.ServiceSlept(service_id=SID, level="l1"),
    "ServiceSleepFailed": lambda: ev.ServiceSleepFailed(service_id=SID, level="l1",
                                                        reason="404", http_status=404),
    "ServiceWoke": lambda: ev.ServiceWoke(service_id=SID, elapsed_ms=300),
    "ServiceWakeFailed": lambda: ev.ServiceWakeFailed(service_id=SID, reason="timeout"),
    "ServiceBecameUnhealthy": lambda: ev.ServiceBecameUnhealthy(
        service_id=SID, consecutive_failures=3, last_error="connection refused"),
    "ServiceRecovered": lambda: ev.ServiceRecovered(service_id=SID, consecutive_successes=2),
    "ServiceCrashed": lambda: ev.ServiceCrashed(service_id=SID, exit_code=137),
}

# How a service gets into each state, one allowed step at a time.
PATHS: dict[str, tuple[str, ...]] = {
    "STOPPED": (),
    "STARTING": ("ServiceStarting",),
    "RUNNING": ("ServiceStarting", "ServiceBecameHealthy"),
    "SLEEPING": ("ServiceStarting", "ServiceBecameHealthy", "ServiceSlept"),
    "UNHEALTHY": ("ServiceStarting", "ServiceBecameHealthy", "ServiceBecameUnhealthy"),
    "STOPPING": ("ServiceStarting", "ServiceBecameHealthy", "ServiceStopping"),
    "FAILED": ("ServiceStarting", "ServiceStartFailed"),
}

REGISTERED = ev.ServiceRegistered(service_id=SID, definition={
    "id": SID, "name": "Qwen", "driver": "llamacpp", "vram_mb": NEEDED_MB})

ALL_PAIRS = [(state, event) for state in STATES for event in EVENTS]
ALLOWED = [pair for pair in ALL_PAIRS if pair in EXPECTED]
REFUSED = [pair for pair in ALL_PAIRS if pair not in EXPECTED]


def history_to(state: str) -> list[Event]:
    return [REGISTERED, *(EVENTS[name]() for name in PATHS[state])]


def in_state(state: str) -> State:
    folded = fold(recorded(*history_to(state)))
    assert folded.services[SID].state == state, "the path to the precondition is wrong"
    assert folded.anomalies == []
    return folded


def test_the_machine_knows_exactly_the_lifecycle_events_of_the_catalogue() -> None:
    assert set(TRANSITIONS) == set(EVENTS)


@pytest.mark.parametrize(("current", "event_type"), ALLOWED)
def test_an_allowed_transition_is_accepted_at_command_time(current: str, event_type: str) -> None:
    assert check_transition(current, event_type) == EXPECTED[(current, event_type)]


@pytest.mark.parametrize(("current", "event_type"), ALLOWED)
def test_an_allowed_transition_in_the_log_leads_to_the_expected_state(
    current: str, event_type: str
) -> None:
    state = fold(recorded(*history_to(current), EVENTS[event_type]()))

    assert state.services[SID].state == EXPECTED[(current, event_type)]
    assert state.anomalies == []


@pytest.mark.parametrize(("current", "event_type"), REFUSED)
def test_a_disallowed_transition_is_refused_naming_the_allowed_states(
    current: str, event_type: str
) -> None:
    allowed = sorted(state for state in STATES if (state, event_type) in EXPECTED)

    with pytest.raises(TransitionRefused) as refused:
        check_transition(current, event_type)

    message = str(refused.value)
    assert current in message
    assert event_type in message
    assert f"allowed from: {', '.join(allowed)}" in message


@pytest.mark.parametrize(("current", "event_type"), REFUSED)
def test_a_disallowed_transition_found_in_the_log_is_flagged_and_changes_nothing(
    current: str, event_type: str
) -> None:
    before = in_state(current)
    history = recorded(*history_to(current), EVENTS[event_type]())

    after = fold(history)

    [anomaly] = after.anomalies
    assert anomaly.position == history[-1].position
    assert anomaly.type == event_type
    assert anomaly.stream == f"service-{SID}"
    assert current in anomaly.message
    assert after.services[SID] == before.services[SID]
    assert after.vram.reservations == before.vram.reservations


def test_the_log_goes_on_folding_after_an_anomaly() -> None:
    state = fold(recorded(REGISTERED, EVENTS["ServiceBecameHealthy"](),
                          EVENTS["ServiceStarting"](), EVENTS["ServiceBecameHealthy"]()))

    assert len(state.anomalies) == 1
    assert state.anomalies[0].position == 2
    assert state.services[SID].state == "RUNNING"


def test_a_lifecycle_event_for_an_unknown_service_is_flagged() -> None:
    history = recorded(EVENTS["ServiceStarting"]())

    state = fold(history)

    [anomaly] = state.anomalies
    assert anomaly.position == 1
    assert SID in anomaly.message
    assert state.services == {}
    assert state.vram.reservations == {}


def test_a_change_of_state_moves_since_and_a_failed_sleep_does_not() -> None:
    history = recorded(*history_to("RUNNING"), EVENTS["ServiceSleepFailed"]())

    state = fold(history)

    assert state.services[SID].since == history[-2].recorded_at  # became RUNNING there


def test_reconciliation_sets_the_observed_state_from_any_state() -> None:
    for current in STATES:
        state = fold(recorded(*history_to(current), ev.ServiceStateReconciled(
            service_id=SID, state="STOPPED", observed="no process")))

        assert state.services[SID].state == "STOPPED", current
        assert state.vram.reservations == {}, current
        assert state.anomalies == [], current


# --- details the views carry --------------------------------------------------------------------


def test_starting_records_the_pid_and_stopping_clears_it() -> None:
    running = fold(recorded(*history_to("RUNNING")))
    stopped = fold(recorded(*history_to("STOPPING"), EVENTS["ServiceStopped"]()))

    assert running.services[SID].pid == 4242
    assert stopped.services[SID].pid is None


def test_sleeping_records_the_level_and_waking_clears_it() -> None:
    sleeping = fold(recorded(*history_to("SLEEPING")))
    woke = fold(recorded(*history_to("SLEEPING"), EVENTS["ServiceWoke"]()))

    assert sleeping.services[SID].sleep_level == "l1"
    assert woke.services[SID].sleep_level is None


def test_a_failure_records_its_reason_and_a_new_start_clears_it() -> None:
    failed = fold(recorded(*history_to("FAILED")))
    restarted = fold(recorded(*history_to("FAILED"), EVENTS["ServiceStarting"]()))

    assert failed.services[SID].last_error == "exit 1"
    assert restarted.services[SID].last_error is None


def test_unhealthy_records_the_last_error() -> None:
    state = fold(recorded(*history_to("UNHEALTHY")))

    assert state.services[SID].last_error == "connection refused"


# --- the VRAM ledger's reservations ------------------------------------------------------------


def test_starting_reserves_the_vram_it_needs() -> None:
    state = fold(recorded(*history_to("STARTING")))

    assert state.vram.reservations == {SID: NEEDED_MB}


@pytest.mark.parametrize("live", ["RUNNING", "SLEEPING", "UNHEALTHY", "STOPPING"])
def test_the_reservation_is_held_while_the_service_is_up(live: str) -> None:
    state = fold(recorded(*history_to(live)))

    assert state.vram.reservations == {SID: NEEDED_MB}


@pytest.mark.parametrize(("current", "ending"), [
    ("STOPPING", "ServiceStopped"),
    ("STARTING", "ServiceStartFailed"),
    ("RUNNING", "ServiceCrashed"),
    ("SLEEPING", "ServiceCrashed"),
])
def test_the_reservation_is_released_when_the_service_is_stopped_or_failed(
    current: str, ending: str
) -> None:
    state = fold(recorded(*history_to(current), EVENTS[ending]()))

    assert state.services[SID].state in ("STOPPED", "FAILED")
    assert state.vram.reservations == {}


def test_a_failed_stop_keeps_the_reservation_since_the_process_may_still_hold_it() -> None:
    state = fold(recorded(*history_to("STOPPING"), EVENTS["ServiceStopFailed"]()))

    assert state.services[SID].state == "FAILED"
    assert state.vram.reservations == {SID: NEEDED_MB}


def test_reservations_of_several_services_are_kept_apart() -> None:
    other = ev.ServiceRegistered(service_id="embed", definition={
        "id": "embed", "name": "E", "driver": "vllm", "vram_mb": 2500})
    state = fold(recorded(
        *history_to("RUNNING"), other,
        ev.ServiceStarting(service_id="embed", backend="process", vram_needed_mb=2500),
        EVENTS["ServiceCrashed"](),
    ))

    assert state.vram.reservations == {"embed": 2500}


def test_removing_a_service_drops_its_reservation() -> None:
    state = fold(recorded(*history_to("FAILED"), EVENTS["ServiceStarting"](),
                          ev.ServiceRemoved(service_id=SID)))

    assert state.vram.reservations == {}
