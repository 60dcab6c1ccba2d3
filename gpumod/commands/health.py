"""Debouncing health probes and spacing them out: pure logic, no I/O and no clock.

One failed probe is a blip, not an outage: a service is declared UNHEALTHY only after
`failures_to_unhealthy` failures in a row, and RUNNING again only after `successes_to_recover`
successes in a row, so a flapping server cannot flood the log. While probes fail, the next one
waits twice as long each time (up to `max_interval_s`) to spare a struggling server; every delay
is jittered so that services started together are not probed in lockstep.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

Transition = Literal["unhealthy", "recovered"]
Random = Callable[[], float]  # uniform in [0, 1), like random.random


@dataclass(frozen=True)
class HealthPolicy:
    failures_to_unhealthy: int = 3
    successes_to_recover: int = 2
    interval_s: float = 2.0
    max_interval_s: float = 30.0
    jitter: float = 0.2  # each delay is scaled by a factor in [1 - jitter, 1 + jitter]

    def __post_init__(self) -> None:
        if self.failures_to_unhealthy < 1 or self.successes_to_recover < 1:
            raise ValueError("health thresholds must be at least 1 probe")
        if not 0 < self.interval_s <= self.max_interval_s:
            raise ValueError(f"poll interval must be positive and at most {self.max_interval_s} s")
        if not 0 <= self.jitter < 1:
            raise ValueError("jitter must be a fraction in [0, 1)")


@dataclass
class HealthTracker:
    """What the probes of one service said lately, and what that means for its state."""

    policy: HealthPolicy
    failures: int = 0  # consecutive
    successes: int = 0  # consecutive

    def observe(self, state: str, healthy: bool) -> Transition | None:
        """Count one probe of a service in `state`; the transition it now warrants, if any."""
        if healthy:
            self.successes, self.failures = self.successes + 1, 0
        else:
            self.failures, self.successes = self.failures + 1, 0
        # ">=" rather than "==": if recording a transition lost a race, the next probe retries.
        if state == "RUNNING" and self.failures >= self.policy.failures_to_unhealthy:
            return "unhealthy"
        if state == "UNHEALTHY" and self.successes >= self.policy.successes_to_recover:
            return "recovered"
        return None

    def next_delay(self, random: Random) -> float:
        return poll_delay(self.policy, self.failures, random)


def poll_delay(policy: HealthPolicy, failures: int, random: Random) -> float:
    """Seconds until the next probe after `failures` consecutive failures (0: healthy)."""
    # min() before the power as well as after it: 2**failures must not overflow a float.
    doublings = min(failures, 64)
    base = min(policy.interval_s * 2.0**doublings, policy.max_interval_s)
    factor = 1.0 + policy.jitter * (2.0 * random() - 1.0)
    return min(base * factor, policy.max_interval_s)
