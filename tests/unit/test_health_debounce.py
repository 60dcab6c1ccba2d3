"""Debouncing probes into transitions, and spacing probes out: pure logic, no clock."""

from __future__ import annotations

from typing import Any

import pytest

from gpumod.commands.health import HealthPolicy, HealthTracker, Transition, poll_delay

MIDDLE, LOWEST, HIGHEST = (lambda: 0.5), (lambda: 0.0), (lambda: 0.999999)


def feed(tracker: HealthTracker, state: str, probes: str) -> list[Transition | None]:
    """`probes` as a string: "x" a failed probe, "." a good one."""
    return [tracker.observe(state, probe == ".") for probe in probes]


def test_a_running_service_turns_unhealthy_only_on_the_third_failure_in_a_row() -> None:
    tracker = HealthTracker(HealthPolicy())

    assert feed(tracker, "RUNNING", "xx") == [None, None]
    assert feed(tracker, "RUNNING", "x") == ["unhealthy"]


def test_a_good_probe_resets_the_failure_count() -> None:
    tracker = HealthTracker(HealthPolicy())

    assert feed(tracker, "RUNNING", "xx.xx.xx") == [None] * 8
    assert tracker.failures == 2


def test_an_unhealthy_service_recovers_on_the_second_good_probe_in_a_row() -> None:
    tracker = HealthTracker(HealthPolicy())
    feed(tracker, "RUNNING", "xxx")

    assert feed(tracker, "UNHEALTHY", ".x.") == [None, None, None]
    assert feed(tracker, "UNHEALTHY", ".") == ["recovered"]


def test_no_transition_is_warranted_in_the_state_it_would_lead_to() -> None:
    tracker = HealthTracker(HealthPolicy())

    assert feed(tracker, "UNHEALTHY", "xxxxx") == [None] * 5
    assert feed(tracker, "RUNNING", "....") == [None] * 4


def test_thresholds_are_configurable() -> None:
    tracker = HealthTracker(HealthPolicy(failures_to_unhealthy=1, successes_to_recover=4))

    assert feed(tracker, "RUNNING", "x") == ["unhealthy"]
    assert feed(tracker, "UNHEALTHY", "....") == [None, None, None, "recovered"]


def test_a_transition_not_recorded_is_warranted_again_by_the_next_probe() -> None:
    tracker = HealthTracker(HealthPolicy())

    assert feed(tracker, "RUNNING", "xxxx") == [None, None, "unhealthy", "unhealthy"]


def test_a_healthy_service_is_probed_at_the_base_interval() -> None:
    assert poll_delay(HealthPolicy(), 0, MIDDLE) == 2.0
    assert poll_delay(HealthPolicy(interval_s=5.0), 0, MIDDLE) == 5.0


def test_each_failure_doubles_the_delay_up_to_the_cap() -> None:
    delays = [poll_delay(HealthPolicy(), failures, MIDDLE) for failures in range(7)]

    assert delays == [2.0, 4.0, 8.0, 16.0, 30.0, 30.0, 30.0]


def test_the_cap_holds_after_any_number_of_failures() -> None:
    assert poll_delay(HealthPolicy(), 10_000, HIGHEST) == 30.0


@pytest.mark.parametrize("failures", [0, 1, 2, 3])
def test_jitter_stays_within_twenty_percent(failures: int) -> None:
    base = poll_delay(HealthPolicy(), failures, MIDDLE)

    assert poll_delay(HealthPolicy(), failures, LOWEST) == pytest.approx(base * 0.8)
    assert base < poll_delay(HealthPolicy(), failures, HIGHEST) <= base * 1.2


def test_jitter_never_pushes_a_delay_past_the_cap() -> None:
    assert poll_delay(HealthPolicy(), 4, LOWEST) == pytest.approx(24.0)
    assert poll_delay(HealthPolicy(), 4, HIGHEST) == 30.0


def test_the_tracker_backs_off_while_failing_and_returns_to_the_interval_on_success() -> None:
    tracker = HealthTracker(HealthPolicy())
    feed(tracker, "RUNNING", "xx")
    assert tracker.next_delay(MIDDLE) == 8.0

    feed(tracker, "RUNNING", ".")
    assert tracker.next_delay(MIDDLE) == 2.0


@pytest.mark.parametrize("bad", [
    {"failures_to_unhealthy": 0}, {"successes_to_recover": 0}, {"interval_s": 0},
    {"interval_s": 60.0}, {"jitter": 1.0}, {"jitter": -0.1},
])
def test_nonsensical_policies_are_refused(bad: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        HealthPolicy(**bad)
