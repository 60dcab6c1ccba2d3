"""The health monitor: watches live services and the GPU, and records what changed.

Each poll re-reads the log (other gpumod processes start, stop and sleep services meanwhile),
then for each live service that is due: a dead process is recorded as ServiceCrashed (with
OomDetected when its log shows an out-of-memory failure); RUNNING and UNHEALTHY services are
probed, and the debounced verdict of gpumod.commands.health is recorded as
ServiceBecameUnhealthy or ServiceRecovered. GPU memory is recorded as VramObserved on the first
poll and then only when it moved by `vram_change_mb`, so an idle machine adds nothing to the log.

The monitor only records: what to do about a failure is not its decision. It is a plain loop
over a threading.Event, so long-lived gpumod processes can run it in a thread.
"""

from __future__ import annotations

import logging
import random as stdlib_random
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from gpumod.adapters.drivers.base import DriverError, Health
from gpumod.adapters.gpu.base import GpuSnapshot
from gpumod.adapters.process.base import ProcessInfo
from gpumod.commands import lifecycle
from gpumod.commands.current_state import current_state
from gpumod.commands.health import HealthPolicy, HealthTracker, Random, Transition
from gpumod.commands.machine import Machine
from gpumod.commands.oom import oom_event, oom_in
from gpumod.commands.recorder import Origin, Recorder
from gpumod.events import catalogue as ev
from gpumod.events.base import Event, RecordedEvent
from gpumod.events.catalogue.incidents import GpuProcess
from gpumod.events.query import EventFilter
from gpumod.events.store import EventStore
from gpumod.projections.state import ServiceView, State

ACTOR = "monitor"
PROBED = frozenset({"RUNNING", "UNHEALTHY"})  # asked over HTTP whether they can serve
ALIVE = PROBED | {"SLEEPING"}  # their process must still be there

ErrorHandler = Callable[[str | None, Exception], None]  # (service id or None, what went wrong)
_log = logging.getLogger(__name__)


@dataclass(frozen=True)
class MonitorSettings:
    health: HealthPolicy = field(default_factory=HealthPolicy)
    vram_change_mb: int = 256


def log_error(sid: str | None, exc: Exception) -> None:
    _log.warning("monitor: %s: %s", sid or "poll", exc)


class Monitor:
    def __init__(self, store: EventStore, new_id: Callable[[], str], machine: Machine,
                 settings: MonitorSettings | None = None, random: Random = stdlib_random.random,
                 on_record: Callable[[RecordedEvent], None] | None = None,
                 on_error: ErrorHandler = log_error) -> None:
        self.store, self.new_id, self.machine = store, new_id, machine
        self.settings = settings or MonitorSettings()
        self.random, self.on_record, self.on_error = random, on_record, on_error
        # Keyed by (service, pid): a service restarted between two polls starts afresh.
        self._trackers: dict[tuple[str, int | None], HealthTracker] = {}
        self._started_by: dict[tuple[str, int | None], str | None] = {}
        self._due: dict[str, float] = {}
        self._last_used_mb: int | None = None

    def poll_once(self, now: float) -> list[RecordedEvent]:
        """Check the GPU, and every live service whose next poll is due at `now` (monotonic s)."""
        state = current_state(self.store)
        snapshot = self.machine.gpu.snapshot()
        live = _live(state)
        self._forget_all_but(live)
        recorded: list[RecordedEvent] = []
        for view in live:
            if self._due.get(view.id, now) <= now:
                recorded += self._poll_service(view, snapshot, now)
        recorded += self._observe_vram(snapshot)
        if self.on_record is not None:
            for event in recorded:
                self.on_record(event)
        return recorded

    def run(self, stop: threading.Event) -> None:
        """Poll until `stop` is set; a poll that fails is reported and retried at the next."""
        while not stop.is_set():
            try:
                self.poll_once(self.machine.monotonic())
                wait = self.seconds_to_next_poll(self.machine.monotonic())
            except Exception as exc:  # a busy log or GPU must not end the monitor
                self.on_error(None, exc)
                wait = self.settings.health.interval_s  # not at once: it may still be busy
            stop.wait(wait)

    def seconds_to_next_poll(self, now: float) -> float:
        # Wake at least every interval: services started meanwhile must be picked up.
        interval = self.settings.health.interval_s
        soonest = min(self._due.values(), default=now + interval)
        return max(0.0, min(soonest - now, interval))

    # -- one service ---------------------------------------------------------------------------

    def _poll_service(self, view: ServiceView, snapshot: GpuSnapshot,
                      now: float) -> list[RecordedEvent]:
        tracker = self._tracker(view)
        try:
            return self._check(view, tracker, snapshot)
        except Exception as exc:  # one service's trouble must not stop the others
            self.on_error(view.id, exc)
            return []
        finally:
            self._due[view.id] = now + tracker.next_delay(self.random)

    def _check(self, view: ServiceView, tracker: HealthTracker,
               snapshot: GpuSnapshot) -> list[RecordedEvent]:
        if self._owns_process(view):
            info = self.machine.backend.info(view.id)
            if not info.running:
                return self._record(view, self._crash_events(view, info, snapshot))
        if view.state not in PROBED:
            return []
        health = self._probe(view.definition)
        transition = tracker.observe(view.state, health.ready)
        if transition is None:
            return []
        return self._record(view, [_transition_event(view.id, transition, tracker, health)])

    def _probe(self, definition: dict[str, Any]) -> Health:
        driver = self.machine.driver_for(str(definition["driver"]))
        try:
            return driver.health(definition)
        except (DriverError, OSError) as exc:
            return Health(False, None, str(exc))

    def _crash_events(self, view: ServiceView, info: ProcessInfo,
                      snapshot: GpuSnapshot) -> list[Event]:
        tail = self.machine.backend.log_tail(view.id)
        events: list[Event] = [ev.ServiceCrashed(service_id=view.id, exit_code=info.exit_code,
                                                 log_tail=tail)]
        if oom_in(tail):
            events.append(oom_event(view.id, "log", snapshot, lifecycle.vram_need(view), tail))
        return events

    def _record(self, seen: ServiceView, events: list[Event]) -> list[RecordedEvent]:
        """Record `events` only if the service is still as it was seen when probed: a service
        stopped (or restarted) meanwhile did not crash, and a second monitor that already
        recorded the same transition must not be echoed."""
        before = (seen.state, seen.since, seen.pid)

        def decide(state: State) -> list[Event]:
            view = state.services.get(seen.id)
            unchanged = view is not None and (view.state, view.since, view.pid) == before
            return events if unchanged else []

        return self._recorder("MonitorService", {"service_id": seen.id}).decide(decide)

    def _owns_process(self, view: ServiceView) -> bool:
        """Whether this monitor's process backend is the one that started the service: another
        backend knows nothing of it and would report a running service as dead."""
        key = (view.id, view.pid)
        if key not in self._started_by:
            starts = list(self.store.read(EventFilter(
                service=view.id, types=("ServiceStarting",), newest_first=True, limit=1)))
            self._started_by[key] = starts[0].data.get("backend") if starts else None
        started_by = self._started_by[key]
        return started_by is None or started_by == self.machine.backend.name

    def _tracker(self, view: ServiceView) -> HealthTracker:
        return self._trackers.setdefault((view.id, view.pid),
                                         HealthTracker(self.settings.health))

    def _forget_all_but(self, live: list[ServiceView]) -> None:
        # A sleeping service's probes start afresh when it wakes, as do a restarted one's.
        probed = {(v.id, v.pid) for v in live if v.state in PROBED}
        self._trackers = {k: t for k, t in self._trackers.items() if k in probed}
        keys = {(v.id, v.pid) for v in live}
        self._started_by = {k: b for k, b in self._started_by.items() if k in keys}
        ids = {v.id for v in live}
        self._due = {sid: at for sid, at in self._due.items() if sid in ids}

    # -- the GPU -------------------------------------------------------------------------------

    def _observe_vram(self, snapshot: GpuSnapshot) -> list[RecordedEvent]:
        last = self._last_used_mb
        if last is not None and abs(snapshot.used_mb - last) < self.settings.vram_change_mb:
            return []
        self._last_used_mb = snapshot.used_mb
        observed = ev.VramObserved(
            gpu_index=snapshot.index, total_mb=snapshot.total_mb, used_mb=snapshot.used_mb,
            free_mb=snapshot.free_mb,
            processes=[GpuProcess(pid=p.pid, used_mb=p.used_mb, name=p.name)
                       for p in snapshot.processes])
        return self._recorder("MonitorGpu", {"gpu_index": snapshot.index}).fact(observed)

    def _recorder(self, name: str, arguments: dict[str, Any]) -> Recorder:
        # A recorder per transition: each gets its own correlation id.
        return Recorder(self.store, self.new_id, name, arguments, Origin(actor=ACTOR))


def _live(state: State) -> list[ServiceView]:
    return [view for view in state.services.values() if view.state in ALIVE]


def _transition_event(sid: str, transition: Transition, tracker: HealthTracker,
                      health: Health) -> Event:
    if transition == "unhealthy":
        return ev.ServiceBecameUnhealthy(service_id=sid, consecutive_failures=tracker.failures,
                                         last_error=_describe(health))
    return ev.ServiceRecovered(service_id=sid, consecutive_successes=tracker.successes)


def _describe(health: Health) -> str:
    if health.status is None:
        return health.detail or "no answer"
    return f"HTTP {health.status}" + (f": {health.detail}" if health.detail else "")


def run_in_thread(monitor: Monitor, name: str = "gpumod-monitor") -> Callable[[], None]:
    """Run `monitor` beside a long-lived process's own work; returns the call that stops it
    and waits for the poll under way to finish (so nothing is half-recorded at exit)."""
    stop = threading.Event()
    thread = threading.Thread(target=monitor.run, args=(stop,), name=name, daemon=True)
    thread.start()

    def halt() -> None:
        stop.set()
        thread.join()

    return halt
