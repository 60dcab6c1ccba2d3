"""gpumod's own overhead per mode switch (issue 4, "Figures"): switching back and forth between
two modes of two stand-in services each (a 4-service switch: stop two, start two) that become
ready at once (load_s 0), on a simulated GPU that frees a stopped process's memory at once
(sim:24GiB,release=0s: CUDA's release delay is the GPU's time, not gpumod's).

The switch runs as `gpumod mode switch` runs it (`operate` + `switch_mode`, the real machine:
direct backend, stand-ins, simulated GPU), and

    overhead = wall time of `operate` - the services' own time, where the services' own time is
      per started service: gpumod's launch call -> the moment the stand-in became ready (it
        reports that moment, ready_at_monotonic: interpreter start-up, binding its port);
      per stopped service: gpumod's stop call (SIGTERM follows within microseconds) -> its
        process exited (seen by a helper process blocked on a pidfd: exit_watch.py).
What is left is gpumod's: lock, recovery, plan, the log, VRAM readings, noticing health and
exits (polling), supervisor bookkeeping. All moments are CLOCK_MONOTONIC, shared by processes.

For comparison it also prints the events' view (ModeSwitchCompleted.duration_ms minus
ServiceBecameHealthy.elapsed_ms, ServiceStopping -> ServiceStopped and VramReleased.waited_ms),
which counts gpumod's polling as the services' time, and the same switch through the CLI (a
subprocess, interleaved with the in-process switches) to show the CLI's start-up cost. Usage:

    .venv/bin/python benchmarks/bench_switch.py [--quick] [--switches N] [--no-cli] [--timeline]
                                                [--strict]
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path

from exit_watch import ExitWatcher
from standin_rig import GPU, Rig, make_rig, quantile, standin_state, switch

import gpumod
from gpumod.adapters.process.base import LaunchSpec, ProcessBackend, ProcessInfo
from gpumod.commands.current_state import SNAPSHOT_EVERY, current_state, usable_snapshot
from gpumod.events.base import RecordedEvent
from gpumod.events.query import EventFilter
from gpumod.projections.service_state import LIVE

TARGET_MS = 100
MODES = {"left": ["l-one", "l-two"], "right": ["r-one", "r-two"]}
GPUMOD_CLI = Path(sys.executable).parent / "gpumod"
Span = tuple[str, float, float]  # "start" or "stop", the call, ready or exited


class TimedBackend:
    """The real backend, noting when gpumod asks it to launch or stop a service: from that
    moment the time is the service's own, until it reports ready or its process has exited."""

    def __init__(self, inner: ProcessBackend, watcher: ExitWatcher) -> None:
        self.inner, self.watcher, self.name = inner, watcher, inner.name
        self.pids: dict[str, int] = {}
        self.launched: list[tuple[str, float]] = []
        self.stopped: list[tuple[int, float]] = []

    def start(self, spec: LaunchSpec) -> ProcessInfo:
        at = time.monotonic()
        info = self.inner.start(spec)
        self.launched.append((spec.service_id, at))
        if info.pid is not None:
            self.adopt(spec.service_id, info.pid)
        return info

    def stop(self, service_id: str, timeout_s: float) -> ProcessInfo:
        self.stopped.append((self.pids.pop(service_id), time.monotonic()))
        return self.inner.stop(service_id, timeout_s)

    def info(self, service_id: str) -> ProcessInfo:
        return self.inner.info(service_id)

    def log_tail(self, service_id: str, lines: int = 40) -> list[str]:
        return self.inner.log_tail(service_id, lines)

    def adopt(self, service_id: str, pid: int) -> None:
        """Watch a service's process for its exit (also those a CLI run started)."""
        self.pids[service_id] = pid
        self.watcher.watch(pid)


@dataclass(frozen=True)
class Sample:
    wall_ms: float
    starts_ms: float  # launch call -> ready, summed over the started services
    stops_ms: float  # stop call -> exited, summed over the stopped services
    gaps_ms: dict[str, float]  # gpumod's time, by where it falls
    events_overhead_ms: float
    events: int  # appended by the switch (each append is a SQLite commit, synchronous=FULL)
    tail: int  # events after the state snapshot when the switch began: each state read folds them
    timeline: list[tuple[float, str]]  # ms since the call, what happened

    @property
    def overhead_ms(self) -> float:
        return self.wall_ms - self.starts_ms - self.stops_ms


def timed_switch(rig: Rig, backend: TimedBackend, mode: str) -> Sample:
    backend.launched.clear()
    backend.stopped.clear()
    tail = events_since_snapshot(rig)
    began = time.monotonic()
    rec, _ = switch(rig, mode)
    ended = time.monotonic()
    spans = [("start", at, float(standin_state(rig.ports[sid])["ready_at_monotonic"]))
             for sid, at in backend.launched]
    spans += [("stop", at, backend.watcher.exit_time(pid)) for pid, at in backend.stopped]
    events = list(rig.app.store.read(EventFilter(correlation_id=rec.correlation_id)))
    return Sample((ended - began) * 1000, _total(spans, "start"), _total(spans, "stop"),
                  gaps(began, ended, spans), events_overhead(events), len(events), tail,
                  timeline(began, ended, spans, events))


def events_since_snapshot(rig: Rig) -> int:
    snapshot = usable_snapshot(rig.app.store)
    return current_state(rig.app.store).position - (snapshot.position if snapshot else 0)


def _total(spans: list[Span], kind: str) -> float:
    return sum(end - begin for what, begin, end in spans if what == kind) * 1000


GAP_NAMES = {"": "before the first stop: lock, recovery, plan",
             "stop": "after each exit: notice it, reap, record, decide the next",
             "start": "after each ready: notice health, read VRAM, record, complete"}


def gaps(began: float, ended: float, spans: list[Span]) -> dict[str, float]:
    """gpumod's time between the services' own spans, named by the span it follows."""
    found = dict.fromkeys(GAP_NAMES, 0.0)
    after, since = "", began
    for what, begin, end in sorted(spans, key=lambda span: span[1]):
        found[after] += (begin - since) * 1000
        after, since = what, end
    found[after] += (ended - since) * 1000
    return found


def timeline(began: float, ended: float, spans: list[Span],
             events: list[RecordedEvent]) -> list[tuple[float, str]]:
    """The switch's events (wall clock, moved onto the monotonic one) and the services' spans."""
    offset = time.time() - time.monotonic()
    marks = [(datetime.fromisoformat(e.recorded_at).timestamp() - offset,
              f"{e.type} {e.data.get('service_id', '')}") for e in events]
    for what, begin, end in spans:
        marks += [(begin, f"  {what} call"), (end, "  ready" if what == "start" else "  exited")]
    marks.append((ended, "operate returned"))
    return [((at - began) * 1000, what) for at, what in sorted(marks, key=lambda m: m[0])]


def events_overhead(events: list[RecordedEvent]) -> float:
    """What the events alone say: the switch's duration less what they attribute to services."""
    own = sum(e.data["elapsed_ms"] for e in events if e.type == "ServiceBecameHealthy")
    own += sum(e.data["waited_ms"] for e in events if e.type == "VramReleased")
    stopping: dict[str, datetime] = {}
    for event in events:
        at = datetime.fromisoformat(event.recorded_at)
        if event.type == "ServiceStopping":
            stopping[event.data["service_id"]] = at
        elif event.type == "ServiceStopped":
            own += (at - stopping.pop(event.data["service_id"])).total_seconds() * 1000
    duration = next(e.data["duration_ms"] for e in events if e.type == "ModeSwitchCompleted")
    return float(duration - own)


def cli(rig: Rig, *args: str) -> float:
    """`gpumod ARGS` as a user types it, on the rig's log and machine; its wall time in ms."""
    began = time.monotonic()
    done = subprocess.run([str(GPUMOD_CLI), "--db", str(rig.db), "--gpu", GPU,
                           "--process-backend", "direct", "--stand-ins", *args],
                          capture_output=True, text=True, check=False,
                          env={**os.environ, "GPUMOD_STATE_DIR": str(rig.app.state_dir)})
    took = (time.monotonic() - began) * 1000
    if done.returncode != 0:
        raise SystemExit(f"gpumod {' '.join(args)} failed:\n{done.stdout}{done.stderr}")
    return took


def cli_switch(rig: Rig, backend: TimedBackend, mode: str) -> tuple[float, float]:
    """A CLI switch, and a read-only CLI command on the same log (start-up and a read)."""
    took = cli(rig, "mode", "switch", mode)
    backend.pids.clear()  # the CLI stopped and started processes: watch the ones now running
    for sid, view in current_state(rig.app.store).services.items():
        if view.state in LIVE and view.pid is not None:
            backend.adopt(sid, view.pid)
    return took, cli(rig, "mode", "list")


def run(switches: int, with_cli: bool) -> tuple[list[Sample], list[tuple[float, float]]]:
    """In-process switches, and (with `with_cli`) CLI ones interleaved with them."""
    rig = make_rig(MODES, "gpumod-bench-switch-")
    watcher = ExitWatcher()
    backend = TimedBackend(rig.machine.backend, watcher)
    rig.machine = replace(rig.machine, backend=backend)
    samples: list[Sample] = []
    cli_ms: list[tuple[float, float]] = []
    try:
        switch(rig, "left")  # the first switch only starts two: not a 4-service switch
        index = 0
        while len(samples) < switches:
            target = "right" if index % 2 == 0 else "left"
            if with_cli and index % 8 >= 6:  # a CLI pair after each three in-process pairs
                cli_ms.append(cli_switch(rig, backend, target))
            else:
                samples.append(timed_switch(rig, backend, target))
            index += 1
    finally:
        rig.close()
        watcher.close()
    return samples, cli_ms


def _line(what: str, values: list[float], spread: bool = False) -> None:
    extra = f"  p90 {quantile(values, 0.9):6.1f}  max {max(values):6.1f}" if spread else ""
    print(f"  {what:<62} median {statistics.median(values):6.1f} ms{extra}")


def report(samples: list[Sample], cli_ms: list[tuple[float, float]]) -> bool:
    walls = [s.wall_ms for s in samples]
    _line("wall time per switch (operate: lock, recovery, switch_mode)", walls, True)
    _line("services' own time: 2 starts, launch call -> stand-in ready",
          [s.starts_ms for s in samples])
    _line("services' own time: 2 stops, stop call -> process exited",
          [s.stops_ms for s in samples])
    overheads = [s.overhead_ms for s in samples]
    _line("gpumod overhead = wall - services' own time", overheads, True)
    for key, name in GAP_NAMES.items():
        _line(f"  {name}", [s.gaps_ms[key] for s in samples])
    _line("(events' view: duration_ms - elapsed_ms - stop spans - waited_ms)",
          [s.events_overhead_ms for s in samples])
    print(f"  events appended per switch: {samples[-1].events} (a commit each, in "
          "gpumod's time)")
    few = max(len(samples) // 4, 1)
    first, last = samples[:few], samples[-few:]
    print(f"  each state read folds the events since the last snapshot (one every "
          f"{SNAPSHOT_EVERY} events):\n    {first[0].tail} before the first switch, "
          f"{last[-1].tail} before the last; overhead median over the first {few} switches "
          f"{statistics.median(s.overhead_ms for s in first):.1f} ms, over the last {few} "
          f"{statistics.median(s.overhead_ms for s in last):.1f} ms")
    if cli_ms:
        switch_ms, list_ms = (statistics.median(c[i] for c in cli_ms) for i in (0, 1))
        print(f"  CLI, {len(cli_ms)} switches interleaved with those above (subprocesses):")
        print(f"    `gpumod mode switch`: median {switch_ms:.0f} ms, "
              f"{switch_ms - statistics.median(walls):.0f} ms more than in-process")
        print(f"    `gpumod mode list` on the same log (start-up, imports, one read, exit): "
              f"median {list_ms:.0f} ms")
    median = statistics.median(overheads)
    ok = median < TARGET_MS
    print(f"\ngpumod overhead per 4-service switch: median {median:.1f} ms "
          f"(target < {TARGET_MS} ms: {'PASS' if ok else 'MISS'})")
    return ok


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="fewer switches (CI)")
    parser.add_argument("--switches", type=int, help="in-process switches measured")
    parser.add_argument("--no-cli", action="store_true", help="skip the CLI switches")
    parser.add_argument("--timeline", action="store_true",
                        help="print where the last switch spent its time")
    parser.add_argument("--strict", action="store_true", help="exit 1 when the target is missed")
    args = parser.parse_args(argv)
    switches = args.switches or (6 if args.quick else 20)
    print(f"gpumod {gpumod.__version__}, Python {platform.python_version()}, {os.cpu_count()} "
          f"CPUs, load {os.getloadavg()[0]:.1f}")
    print(f"4-service switch (stop 2 stand-ins, start 2 that are ready at once), {switches} "
          f"in-process switches; GPU {GPU}: memory is free as soon as a process is gone, so "
          "CUDA's release delay is not counted")
    samples, cli_ms = run(switches, not args.no_cli)
    if args.timeline:
        print("  timeline of the last in-process switch (ms since the call):")
        for at, what in samples[-1].timeline:
            print(f"    {at:7.1f}  {what}")
    ok = report(samples, cli_ms)
    return 1 if args.strict and not ok else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
