"""How fast gpumod's event log is, each figure measured side by side with its raw baseline.

Issue 2, "Tests and figures". One run prints:

1. appends per second through `EventStore.append` (one event per transaction, and batches of
   100), next to a raw `sqlite3` insert of the very same rows into the same schema (created by
   gpumod's own `open_engine`) with the same durability (WAL, synchronous=FULL);
2. replay: events per second folded into projections from a 1,000,000-event log, the way
   `gpumod replay` does it (`refold`: the store's `fold_rows`, folded), next to only reading the
   rows with `sqlite3`;
3. `gpumod service list` (the real CLI, as a subprocess) on that log and on an empty log with the
   same services, in the steady state (after a first call has written the snapshot).

The machine may be small and noisy: the two sides of each figure are interleaved, and the
ratios are what to read. Usage:

    .venv/bin/python benchmarks/bench_log.py [--quick] [--events N] [--rebuild] [--strict]
                                             [--replay-only]

--quick is the CI size (fewer appends, a 100,000-event log); --strict exits 1 when a target is
missed (by default the run only reports). The big log is built once (batched raw inserts that
compute gpumod's own rows and hash chain, then checked with `gpumod audit verify`; about two
minutes for 1,000,000 events on a small machine) and cached in ~/.cache/gpumod-bench/, keyed by
the code that generates it and the projection version.
"""

from __future__ import annotations

import argparse
import hashlib
import inspect
import os
import platform
import random
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import gpumod
from gpumod.adapters.yaml_files import load_mode, load_service, yaml_files
from gpumod.bootstrap import bootstrap
from gpumod.commands.current_state import SNAPSHOT_NAME, refold
from gpumod.commands.messages import ImportConfiguration
from gpumod.commands.recorder import Origin
from gpumod.events import catalogue as ev
from gpumod.events import codec
from gpumod.events.base import Event, NewEvent
from gpumod.events.catalogue.incidents import GpuProcess
from gpumod.events.database import open_engine
from gpumod.events.fold_rows import fold_rows
from gpumod.events.rows import new_row as store_row  # the exact row EventStore.append writes
from gpumod.events.schema import SCHEMA_VERSION
from gpumod.events.snapshot_store import load_snapshot
from gpumod.events.store import EventStore
from gpumod.projections.snapshots import projection_version

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT.parent / "shared" / "examples" / "gpumod"
CACHE = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "gpumod-bench"
GPUMOD_CLI = Path(sys.executable).parent / "gpumod"

COLUMNS = ("position", "stream", "version", "event_id", "type", "schema_version", "data",
           "metadata", "recorded_at", "hash", "correlation_id", "actor")
INSERT = f"INSERT INTO events ({', '.join(COLUMNS)}) VALUES ({', '.join('?' * len(COLUMNS))})"
READ_ALL = ("SELECT position, stream, version, event_id, type, schema_version, data, metadata, "
            "recorded_at, hash FROM events ORDER BY position")
Row = tuple[Any, ...]


@dataclass(frozen=True)
class Size:
    """How much work one run does; --quick shrinks everything for CI."""

    single_appends: int
    batches: int
    batch_size: int
    append_rounds: int
    log_events: int
    replay_rounds: int
    cli_rounds: int


FULL = Size(single_appends=600, batches=120, batch_size=100, append_rounds=6,
            log_events=1_000_000, replay_rounds=3, cli_rounds=7)
QUICK = Size(single_appends=150, batches=30, batch_size=100, append_rounds=3,
             log_events=100_000, replay_rounds=1, cli_rounds=3)

TARGET_BATCHED_RATIO = 0.5
TARGET_REPLAY_RATE = 200_000
TARGET_LIST_RATIO = 1.2


# --- A plausible history ---------------------------------------------------------------------


@dataclass(frozen=True)
class Configuration:
    """Services and modes from the example presets, as `gpumod init` would import them."""

    command: ImportConfiguration
    services: dict[str, dict[str, Any]]
    modes: dict[str, dict[str, Any]]


def load_configuration(examples: Path) -> Configuration:
    services = tuple(load_service(p) for p in yaml_files(examples / "presets"))
    modes = tuple(load_mode(p) for p in yaml_files(examples / "modes"))
    return Configuration(
        ImportConfiguration(services, modes, initialize=True),
        {f.definition.id: f.definition.as_stored() for f in services},
        {f.definition.id: f.definition.as_stored() for f in modes},
    )


GPU_TOTAL_MB = 49_140
SWITCH_EVERY = 10_000  # events between two mode switches: about 100 in a 1M log


class Simulation:
    """A deterministic history of a GPU box: services started, slept, woken, stopped, crashed
    now and then; VRAM observed every few events; every SWITCH_EVERY events a whole mode switch
    (requested, planned, stops, VRAM wait, wakes, starts, completed) under one correlation id.

    Events are built from the catalogue's models with the metadata CommandBus gives them, so
    they are exactly what gpumod records (and the fold finds no anomaly in them).
    """

    def __init__(self, config: Configuration, start: datetime, seed: int = 2) -> None:
        self.rng = random.Random(seed)
        self.config = config
        self.states = dict.fromkeys(config.services, "STOPPED")
        self.active_mode: str | None = None
        self.moment = start
        self.emitted, self.next_switch = 0, SWITCH_EVERY

    def batches(self) -> Iterator[tuple[datetime, list[NewEvent]]]:
        """One append (its time and its events) after another, for ever."""
        yield from self._op("cli:bench", "DetectGpu", {}, [[ev.GpuDetected(
            name="NVIDIA RTX 6000 Ada", total_mb=GPU_TOTAL_MB, driver_version="550.120")]])
        while True:
            if self.emitted >= self.next_switch:
                self.next_switch += SWITCH_EVERY
                yield from self._switch()
            elif self.rng.random() < 0.3:
                yield from self._observe()
            else:
                yield from self._lifecycle(self.rng.choice(sorted(self.config.services)))

    def _op(
        self, actor: str, command: str, arguments: dict[str, Any], appends: list[list[Event]]
    ) -> Iterator[tuple[datetime, list[NewEvent]]]:
        """One user or monitor operation: its appends share a correlation id, as in the bus."""
        command_id = self._uuid()
        metadata = {"actor": actor, "correlation_id": command_id, "causation_id": command_id,
                    "command": {"name": command, "arguments": arguments},
                    "host": "gpu-box-01", "gpumod_version": gpumod.__version__}
        for events in appends:
            self.moment += timedelta(seconds=self.rng.uniform(0.5, 60))
            batch = [NewEvent(self._uuid(), e.stream(), e.type_name, e.schema_version,
                              e.model_dump(mode="json"), metadata) for e in events]
            self.emitted += len(batch)
            yield self.moment, batch

    def _lifecycle(self, sid: str) -> Iterator[tuple[datetime, list[NewEvent]]]:
        state, roll = self.states[sid], self.rng.random()
        arguments = {"service_id": sid}
        if state in ("STOPPED", "FAILED"):
            return self._op("cli:alice", "StartService", arguments, self._start(sid))
        if state == "SLEEPING" and roll < 0.8:
            actor = self.rng.choice(("proxy", "cli:alice"))
            return self._op(actor, "WakeService", arguments, self._wake(sid))
        level = self._sleep_level(sid)
        if state == "SLEEPING" or roll < 0.4 or (roll < 0.8 and not level):
            return self._op("cli:alice", "StopService", arguments, self._stop(sid))
        if roll < 0.8:
            self.states[sid] = "SLEEPING"
            return self._op("mcp:claude", "SleepService", {**arguments, "level": level},
                            [[ev.ServiceSlept(service_id=sid, level=level)]])
        if roll < 0.97:
            return self._op("monitor", "MonitorService", arguments, [
                [ev.ServiceBecameUnhealthy(service_id=sid, consecutive_failures=3,
                                           last_error="GET /health: timed out after 5s")],
                [ev.ServiceRecovered(service_id=sid, consecutive_successes=2)]])
        self.states[sid] = "FAILED"
        return self._op("monitor", "MonitorService", arguments, [[ev.ServiceCrashed(
            service_id=sid, exit_code=137, log_tail=["CUDA error: an illegal memory access",
                                                     "Aborted (core dumped)"])]])

    def _start(self, sid: str) -> list[list[Event]]:
        self.states[sid] = "RUNNING"
        definition = self.config.services[sid]
        need = int(definition["vram_mb"])
        healthy: list[Event] = [ev.ServiceBecameHealthy(
            service_id=sid, elapsed_ms=self.rng.randint(2_000, 90_000))]
        if self.rng.random() < 0.3:
            measured = int(need * self.rng.uniform(0.85, 1.05))
            healthy.append(ev.ServiceVramMeasured(service_id=sid, vram_mb=measured))
        # As the start saga records it: the decision, the launch with its pid, then health.
        return [[ev.ServiceStarting(service_id=sid, backend="direct", vram_needed_mb=need)],
                [ev.ServiceProcessLaunched(service_id=sid, backend="direct",
                                           pid=self.rng.randint(1_000, 400_000))],
                healthy]

    def _wake(self, sid: str) -> list[list[Event]]:
        self.states[sid] = "RUNNING"
        return [[ev.ServiceWoke(service_id=sid, elapsed_ms=self.rng.randint(200, 4_000))]]

    def _stop(self, sid: str) -> list[list[Event]]:
        self.states[sid] = "STOPPED"
        return [[ev.ServiceStopping(service_id=sid, reason="requested")],
                [ev.ServiceStopped(service_id=sid, exit_code=0)]]

    def _sleep_level(self, sid: str) -> Any:
        level = self.config.services[sid].get("sleep_mode", "none")
        return None if level == "none" else level

    def _observe(self) -> Iterator[tuple[datetime, list[NewEvent]]]:
        live = [s for s, state in self.states.items() if state in ("RUNNING", "SLEEPING")]
        processes = [GpuProcess(pid=self.rng.randint(1_000, 400_000), name=sid,
                                used_mb=int(self.config.services[sid]["vram_mb"]) // (
                                    4 if self.states[sid] == "SLEEPING" else 1))
                     for sid in live]
        used = min(GPU_TOTAL_MB, sum(p.used_mb for p in processes) + 412)
        return self._op("monitor", "MonitorGpu", {"gpu_index": 0}, [[ev.VramObserved(
            total_mb=GPU_TOTAL_MB, used_mb=used, free_mb=GPU_TOTAL_MB - used,
            processes=processes)]])

    def _switch(self) -> Iterator[tuple[datetime, list[NewEvent]]]:
        target = self.rng.choice(sorted(set(self.config.modes) - {self.active_mode or ""}))
        wanted = set(self.config.modes[target].get("services", []))
        plan = self._plan(wanted)
        sid = self._uuid()
        free = max(0, GPU_TOTAL_MB - self._reserved())
        appends: list[list[Event]] = [
            [ev.ModeSwitchRequested(switch_id=sid, from_mode=self.active_mode, to_mode=target)],
            [ev.ModeSwitchPlanned(switch_id=sid, **plan, needed_mb=self._needs(plan["start"]),
                                  free_mb=free)],
        ]
        for service in plan["stop"]:
            appends += self._stop(service)
        if plan["stop"]:
            need = self._needs(plan["start"])
            appends.append([ev.VramReleaseAwaited(needed_mb=need, free_mb=free, timeout_s=60.0)])
            appends.append([ev.VramReleased(needed_mb=need, free_mb=need + 1_000,
                                            waited_ms=1_850, samples=[(0, free), (1_850, need)])])
        for service in plan["wake"]:
            appends += self._wake(service)
        for service in plan["start"]:
            appends += self._start(service)
        appends.append([ev.ModeSwitchCompleted(switch_id=sid, to_mode=target,
                                               duration_ms=self.rng.randint(5_000, 120_000))])
        self.active_mode = target
        return self._op("cli:alice", "SwitchMode", {"mode_id": target}, appends)

    def _plan(self, wanted: set[str]) -> dict[str, list[str]]:
        states = self.states
        return {
            # A failed service is stopped first, even when the mode wants it (then started).
            "stop": sorted(s for s, st in states.items()
                           if (st != "STOPPED" and s not in wanted) or st == "FAILED"),
            "wake": sorted(s for s in wanted if states[s] == "SLEEPING"),
            "start": sorted(s for s in wanted if states[s] in ("STOPPED", "FAILED")),
        }

    def _needs(self, services: Sequence[str]) -> int:
        return sum(int(self.config.services[s]["vram_mb"]) for s in services)

    def _reserved(self) -> int:
        return self._needs([s for s, st in self.states.items() if st != "STOPPED"])

    def _uuid(self) -> str:
        return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))


def take_events(batches: Iterator[tuple[datetime, list[NewEvent]]], n: int) -> list[NewEvent]:
    events: list[NewEvent] = []
    while len(events) < n:
        events += next(batches)[1]
    return events[:n]


# --- Raw SQLite, the baseline ----------------------------------------------------------------


def raw_connect(path: Path, synchronous: str = "FULL") -> sqlite3.Connection:
    """A plain sqlite3 connection with gpumod's durability settings, managing BEGIN itself."""
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA busy_timeout=30000")
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute(f"PRAGMA synchronous={synchronous}")
    return conn


def raw_insert(conn: sqlite3.Connection, rows: Sequence[Row]) -> None:
    conn.execute("BEGIN IMMEDIATE")
    conn.executemany(INSERT, rows)
    conn.execute("COMMIT")


def new_schema(path: Path) -> None:
    """An empty log file, schema (indexes, append-only triggers) made by gpumod itself."""
    open_engine(path).dispose()


class Chain:
    """Computes the rows EventStore.append would write: positions, stream versions, hashes."""

    def __init__(self, position: int = 0, head: str = codec.GENESIS_HASH,
                 versions: dict[str, int] | None = None) -> None:
        self.position, self.head = position, head
        self.versions = versions if versions is not None else {}

    def rows(self, batch: Sequence[NewEvent], recorded_at: str) -> list[Row]:
        rows = []
        for event in batch:
            self.position += 1
            version = self.versions[event.stream] = self.versions.get(event.stream, 0) + 1
            row = store_row(event, self.position, version, recorded_at, self.head)
            self.head = row["hash"]
            rows.append(tuple(row[c] for c in COLUMNS))
        return rows


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


# --- 1. Appends --------------------------------------------------------------------------------


class Ticker:
    """A clock that moves one millisecond per reading (EventStore reads it once per append)."""

    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        self.now += timedelta(milliseconds=1)
        return self.now


@dataclass(frozen=True)
class AppendFigures:
    gpumod_rate: float
    raw_rate: float
    same_rows: bool

    @property
    def ratio(self) -> float:
        return self.gpumod_rate / self.raw_rate


def bench_appends(workdir: Path, events: list[NewEvent], batch_size: int,
                  rounds: int) -> AppendFigures:
    """gpumod and raw sqlite3 append the same transactions into two fresh files, in turns."""
    batches = [events[i:i + batch_size] for i in range(0, len(events), batch_size)]
    start = datetime(2026, 1, 1, tzinfo=UTC)
    chain, ticker = Chain(), Ticker(start)
    raw_txns = [chain.rows(batch, iso(ticker())) for batch in batches]
    expected = [_expected(rows) for rows in raw_txns]

    gpumod_path = workdir / f"append-gpumod-{batch_size}.db"
    raw_path = workdir / f"append-raw-{batch_size}.db"
    new_schema(gpumod_path)
    new_schema(raw_path)
    store = EventStore.open(gpumod_path, Ticker(start))
    conn = raw_connect(raw_path)
    spent = {"gpumod": 0.0, "raw": 0.0}
    per_round = -(-len(batches) // rounds)
    for r in range(rounds):
        part = range(r * per_round, min(len(batches), (r + 1) * per_round))
        # Alternate who goes first, so neither always meets a checkpoint or a busy moment.
        for side in ("gpumod", "raw") if r % 2 == 0 else ("raw", "gpumod"):
            began = time.perf_counter()
            for i in part:
                if side == "gpumod":
                    store.append(batches[i], expected[i])  # with version checks, as the bus
                else:
                    raw_insert(conn, raw_txns[i])
            spent[side] += time.perf_counter() - began
    conn.close()
    store.close()
    same = _dump(gpumod_path) == _dump(raw_path)
    return AppendFigures(len(events) / spent["gpumod"], len(events) / spent["raw"], same)


def _expected(rows: list[Row]) -> dict[str, int]:
    """The stream versions a writer saw before this batch (what CommandBus passes)."""
    expected: dict[str, int] = {}
    for row in rows:
        expected.setdefault(row[1], row[2] - 1)
    return expected


def _dump(path: Path) -> list[Row]:
    with sqlite3.connect(path) as conn:
        return conn.execute(f"SELECT {', '.join(COLUMNS)} FROM events ORDER BY position").fetchall()


def timed(fn: Callable[[], object]) -> float:
    began = time.perf_counter()
    fn()
    return time.perf_counter() - began


# --- 2. The big log, and replaying it ---------------------------------------------------------


def log_key(size: int, config: Configuration) -> str:
    """Changes whenever the log's content or what a fold makes of it would change."""
    digest = hashlib.sha256()
    for part in (Simulation, Chain, load_configuration, build_log, store_row):
        digest.update(inspect.getsource(part).encode())
    digest.update(Path(codec.__file__).read_bytes())
    digest.update(repr((size, SCHEMA_VERSION, projection_version(), gpumod.__version__,
                        sorted(config.services.items()), sorted(config.modes.items()))).encode())
    return digest.hexdigest()[:16]


def cached_log(size: int, config: Configuration, rebuild: bool) -> Path:
    """The path of a verified log of `size` events, built now if the cache has none."""
    CACHE.mkdir(parents=True, exist_ok=True)
    path = CACHE / f"log-{size}-{log_key(size, config)}.db"
    if path.exists() and not rebuild:
        print(f"  using cached log {path}")
        return path
    for stale in CACHE.glob(f"log-{size}-*.db*"):
        stale.unlink()
    partial = path.with_suffix(".building")
    for leftover in (partial, Path(f"{partial}-wal"), Path(f"{partial}-shm")):
        leftover.unlink(missing_ok=True)
    print(f"  building a {size:,}-event log (once; cached in {CACHE}) ...", flush=True)
    took = timed(lambda: build_log(partial, size, config))
    print(f"  built in {took:.1f} s; checking it with `gpumod audit verify` ...", flush=True)
    verify = cli(partial, "audit", "verify")
    if verify.returncode != 0:
        raise SystemExit(f"the generated log does not verify:\n{verify.stdout}{verify.stderr}")
    print(f"  {verify.stdout.strip()}")
    partial.rename(path)
    return path


def build_log(path: Path, size: int, config: Configuration) -> None:
    """`gpumod init` through the command bus, then the simulated history in big transactions."""
    start = datetime(2025, 1, 6, 8, 0, tzinfo=UTC)
    app = bootstrap(path, clock=lambda: start)
    app.bus.handle(config.command, Origin(actor="cli:alice", host="gpu-box-01"))
    position, head = app.store.head()
    app.store.close()

    conn = raw_connect(path, synchronous="OFF")  # a fixture, not a record: no fsync needed
    versions = dict(conn.execute("SELECT stream, MAX(version) FROM events GROUP BY stream"))
    chain = Chain(position, head, versions)
    batches = Simulation(config, start + timedelta(minutes=5)).batches()
    pending: list[Row] = []
    while chain.position < size:
        moment, batch = next(batches)
        pending += chain.rows(batch[:size - chain.position], iso(moment))
        if len(pending) >= 20_000 or chain.position >= size:
            raw_insert(conn, pending)
            pending = []
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # one self-contained file to cache
    conn.close()


@dataclass(frozen=True)
class ReplayFigures:
    """Seconds (best of the rounds) for each stage of reading the log, cumulatively."""

    events: int
    raw_read: float  # sqlite3 rows only
    raw_json: float  # ... and orjson.loads of data and metadata (no event objects)
    store_read: float  # gpumod's read for a fold: a FoldRow per row, data still JSON
    fold: float  # ... folded into projections: what `gpumod replay` does
    anomalies: int
    size_mb: float

    @property
    def fold_rate(self) -> float:
        return self.events / self.fold

    @property
    def raw_rate(self) -> float:
        return self.events / self.raw_read

    @property
    def ratio(self) -> float:
        return self.fold_rate / self.raw_rate


def bench_replay(path: Path, rounds: int) -> ReplayFigures:
    """Each stage timed in turn, `rounds` times; the best time of each stage counts."""
    store = EventStore.open(path, lambda: datetime.now(UTC))
    times: dict[str, list[float]] = {"raw": [], "json": [], "read": [], "fold": []}
    count = anomalies = 0
    for _ in range(rounds):
        count = _count_rows(path, decode_json=False, times=times["raw"])
        _count_rows(path, decode_json=True, times=times["json"])
        times["read"].append(timed(lambda: sum(1 for _ in fold_rows(store))))
        began = time.perf_counter()
        state = refold(store, None)  # what `gpumod replay` does
        times["fold"].append(time.perf_counter() - began)
        if state.position != count:
            raise SystemExit(f"fold reached position {state.position}, the log has {count}")
        anomalies = len(state.anomalies)
        del state
    store.close()
    return ReplayFigures(count, min(times["raw"]), min(times["json"]), min(times["read"]),
                         min(times["fold"]), anomalies, path.stat().st_size / 2**20)


def _count_rows(path: Path, decode_json: bool, times: list[float]) -> int:
    conn = sqlite3.connect(path)
    loads = codec.loads
    began = time.perf_counter()
    count = 0
    for row in conn.execute(READ_ALL):
        if decode_json:
            loads(row[6])
            loads(row[7])
        count += 1
    times.append(time.perf_counter() - began)
    conn.close()
    return count


# --- 3. `gpumod service list` on a big log and on an empty one --------------------------------


def cli(db: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(GPUMOD_CLI), "--db", str(db), *args], capture_output=True,
                          text=True, check=False)


def timed_cli(db: Path, *args: str) -> float:
    began = time.perf_counter()
    done = cli(db, *args)
    took = time.perf_counter() - began
    if done.returncode != 0:
        raise SystemExit(f"gpumod {' '.join(args)} failed on {db}:\n{done.stderr}")
    return took


@dataclass(frozen=True)
class ListFigures:
    first_big: float
    snapshot_position: int
    head: int
    big: list[float]
    empty: list[float]

    @property
    def ratio(self) -> float:
        return statistics.median(self.big) / statistics.median(self.empty)


def bench_service_list(big: Path, empty: Path, rounds: int) -> ListFigures:
    first = timed_cli(big, "service", "list")  # folds the whole log once, writes the snapshot
    store = EventStore.open(big, lambda: datetime.now(UTC))
    snapshot = load_snapshot(store, SNAPSHOT_NAME)
    store.close()
    timed_cli(empty, "service", "list")  # warm the page cache for both files alike
    timed_cli(big, "service", "list")
    big_times: list[float] = []
    empty_times: list[float] = []
    for r in range(rounds):
        order = [(big, big_times), (empty, empty_times)]
        for db, times in order if r % 2 == 0 else reversed(order):
            times.append(timed_cli(db, "service", "list"))
    with sqlite3.connect(big) as conn:
        head = conn.execute("SELECT MAX(position) FROM events").fetchone()[0]
    return ListFigures(first, snapshot.position if snapshot else 0, head, big_times, empty_times)


def init_empty(path: Path, examples: Path) -> None:
    """A log with only `gpumod init` in it: the same services and modes, no history."""
    done = cli(path, "init", "--preset-dir", str(examples / "presets"),
               "--mode-dir", str(examples / "modes"))
    if done.returncode != 0:
        raise SystemExit(f"gpumod init failed:\n{done.stderr}")


# --- Report ------------------------------------------------------------------------------------


def verdict(ok: bool | None) -> str:
    return "-" if ok is None else ("PASS" if ok else "FAIL")


def print_table(rows: list[tuple[str, str, str, bool | None]]) -> None:
    headers = ("figure", "value", "target", "result")
    widths = [max(len(str(r[i])) for r in [*rows, headers]) for i in range(3)]
    line = "  ".join("-" * w for w in widths) + "  ------"
    print("  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=False)) + "  result")
    print(line)
    for figure, value, target, ok in rows:
        print(f"{figure.ljust(widths[0])}  {value.ljust(widths[1])}  {target.ljust(widths[2])}"
              f"  {verdict(ok)}")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="a smaller run (CI)")
    parser.add_argument("--events", type=int, help="size of the replay log")
    parser.add_argument("--examples", type=Path, default=EXAMPLES,
                        help="folder with presets/ and modes/")
    parser.add_argument("--rebuild", action="store_true", help="rebuild the cached log")
    parser.add_argument("--strict", action="store_true", help="exit 1 when a target is missed")
    parser.add_argument("--replay-only", action="store_true",
                        help="only the replay figures (no appends, no CLI runs)")
    args = parser.parse_args(argv)
    size = QUICK if args.quick else FULL
    log_events = args.events or size.log_events
    config = load_configuration(args.examples)
    began = time.perf_counter()
    print(f"gpumod {gpumod.__version__}, Python {platform.python_version()}, SQLite "
          f"{sqlite3.sqlite_version}, {os.cpu_count()} CPUs, {'quick' if args.quick else 'full'}"
          f" run; {len(config.services)} services, {len(config.modes)} modes from {args.examples}")

    with tempfile.TemporaryDirectory(prefix="gpumod-bench-") as tmp:
        workdir = Path(tmp)
        rows = run_all(workdir, size, log_events, config, args)
    print()
    print_table(rows)
    print(f"\n(total {time.perf_counter() - began:.0f} s)")
    missed = any(ok is False for *_, ok in rows)
    return 1 if missed and args.strict else 0


def run_all(workdir: Path, size: Size, log_events: int, config: Configuration,
            args: argparse.Namespace) -> list[tuple[str, str, str, bool | None]]:
    rows = [] if args.replay_only else run_appends(workdir, size, config)
    print(f"\n2. replay of a {log_events:,}-event log")
    cached = cached_log(log_events, config, args.rebuild)
    big = workdir / "big.db"
    shutil.copyfile(cached, big)  # the benchmark writes a snapshot; the cache stays pristine
    replay = bench_replay(big, size.replay_rounds)
    print(f"  {replay.events:,} events, {replay.size_mb:,.0f} MiB; best of {size.replay_rounds}")
    stages = (("raw sqlite3 row read", replay.raw_read),
              ("  + orjson.loads(data, metadata)", replay.raw_json),
              ("fold_rows(store): a FoldRow per row", replay.store_read),
              ("refold(store): `gpumod replay`", replay.fold))
    for what, took in stages:
        print(f"  {what:<42} {replay.events / took:>10,.0f} events/s  {took:6.2f} s  "
              f"{took / replay.events * 1e6:5.2f} us/event")
    print(f"  anomalies flagged by the fold: {replay.anomalies}")
    n = f"{replay.events:,}"
    rows += [
        (f"replay, {n} events folded", f"{replay.fold_rate:,.0f} events/s",
         f">= {TARGET_REPLAY_RATE:,}/s", replay.fold_rate >= TARGET_REPLAY_RATE),
        ("replay vs raw sqlite3 row read", f"{replay.fold_rate:,.0f} / {replay.raw_rate:,.0f}"
         f" = {replay.ratio:.2f}", "(none)", None),
    ]
    if not args.replay_only:
        rows.append(run_service_list(workdir, big, replay.events, size, args))
    return rows


def run_appends(workdir: Path, size: Size,
                config: Configuration) -> list[tuple[str, str, str, bool | None]]:
    sim = Simulation(config, datetime(2026, 1, 1, tzinfo=UTC), seed=7).batches()
    print("\n1. appends per second (WAL, synchronous=FULL; gpumod's and raw inserts interleaved)")
    single = bench_appends(workdir, take_events(sim, size.single_appends), 1, size.append_rounds)
    _print_appends("one event per transaction", single, size.single_appends)
    batched = bench_appends(workdir, take_events(sim, size.batches * size.batch_size),
                            size.batch_size, size.append_rounds)
    _print_appends(f"batches of {size.batch_size}", batched, size.batches * size.batch_size)
    return [
        ("appends/s, 1 event/txn: gpumod / raw", _ratio_text(single), "(none)", None),
        (f"appends/s, {size.batch_size}/txn: gpumod / raw", _ratio_text(batched),
         f">= {TARGET_BATCHED_RATIO:.2f} x raw", batched.ratio >= TARGET_BATCHED_RATIO),
    ]


def run_service_list(workdir: Path, big: Path, events: int, size: Size,
                     args: argparse.Namespace) -> tuple[str, str, str, bool | None]:
    print("\n3. `gpumod service list` (real CLI, subprocess), big log vs empty log")
    empty = workdir / "empty.db"
    init_empty(empty, args.examples)
    listing = bench_service_list(big, empty, size.cli_rounds)
    print(f"  first call on the big log: {listing.first_big:.2f} s (folds all "
          f"{listing.head:,} events and writes the snapshot, at position "
          f"{listing.snapshot_position:,})")
    print(f"  steady state (snapshot at the head; {size.cli_rounds} interleaved runs each):")
    print(f"    big log   median {statistics.median(listing.big) * 1000:6.0f} ms  "
          f"({', '.join(f'{t * 1000:.0f}' for t in listing.big)})")
    print(f"    empty log median {statistics.median(listing.empty) * 1000:6.0f} ms  "
          f"({', '.join(f'{t * 1000:.0f}' for t in listing.empty)})")
    big_ms = statistics.median(listing.big) * 1000
    empty_ms = statistics.median(listing.empty) * 1000
    return (f"service list, {events:,}-event log / empty",
            f"{big_ms:.0f} / {empty_ms:.0f} ms = {listing.ratio:.2f}x",
            f"<= {TARGET_LIST_RATIO:.1f}x", listing.ratio <= TARGET_LIST_RATIO)


def _print_appends(what: str, figures: AppendFigures, count: int) -> None:
    print(f"  {what} ({count:,} events): gpumod {figures.gpumod_rate:,.0f}/s, raw sqlite3 "
          f"{figures.raw_rate:,.0f}/s, ratio {figures.ratio:.2f}; identical rows in both files: "
          f"{'yes' if figures.same_rows else 'NO'}")


def _ratio_text(figures: AppendFigures) -> str:
    return f"{figures.gpumod_rate:,.0f} / {figures.raw_rate:,.0f} = {figures.ratio:.2f}"


if __name__ == "__main__":
    sys.exit(main())
