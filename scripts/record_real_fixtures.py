"""Record replay fixtures from real runs of the gpumod CLI (simulated GPU, stand-in servers).

Usage: .venv/bin/python scripts/record_real_fixtures.py [NAME...]    (default: every scenario)

Each scenario runs `gpumod` in a throwaway folder, exports its log to replay_fixtures/NAME.jsonl
and writes the state it replays to beside it (record_fixture.py). Every service is then stopped,
and the run fails if any process it started is left. Read the diff before committing: a fresh
recording has new ids, pids and times, so record only the fixtures you mean to change.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import orjson
from record_fixture import main as write_state  # beside this file (its folder is on sys.path)

from gpumod.adapters.gpu.sim import SimulatedGpu

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT.parent / "shared" / "examples" / "gpumod"
GPUMOD = Path(sys.executable).with_name("gpumod")
TOTAL_MB, RELEASE_S = 24576, 0.3
FAST = "load_s: 0.05"  # stand-ins healthy at once: the recording takes seconds, not minutes
STANDINS = ("vllm-embedding-code", "qwen3-coder", "vllm-embedding")
OK, REFUSED, KILLED = 0, 1, -signal.SIGKILL


class Run:
    """`gpumod` on a log of its own, with a pinned user, zone and home (no ~/.config touched)."""

    def __init__(self, folder: Path, release_s: float = RELEASE_S) -> None:
        self.folder, self.state_dir, self.release_s = folder, folder / "state", release_s
        self.db = folder / "gpumod.db"
        env = {k: v for k, v in os.environ.items() if not k.startswith("GPUMOD_")}
        self.env = env | {
            "GPUMOD_DB": str(self.db), "GPUMOD_GPU": f"sim:24GiB,release={release_s}s",
            "GPUMOD_STAND_INS": "1", "GPUMOD_PROCESS_BACKEND": "direct",
            "HOME": str(folder), "USER": "alice", "LOGNAME": "alice", "TZ": "UTC"}

    def gpumod(self, *args: str, expect: int = OK, fault: str | None = None) -> str:
        env = self.env | ({"GPUMOD_FAULT_KILL_AFTER": fault} if fault else {})
        done = subprocess.run([str(GPUMOD), *args], env=env, capture_output=True, text=True,
                              timeout=120, check=False)
        if done.returncode != expect:  # the scenario did not go as written: record nothing
            raise RuntimeError(f"gpumod {' '.join(args)}: exit {done.returncode}, expected "
                               f"{expect}\n{done.stdout}{done.stderr}")
        return done.stdout

    def behave(self, extra: dict[str, str] | None = None) -> None:
        """The stand-ins' behaviours (standins.yaml, read by each start): FAST plus `extra`."""
        extra = extra or {}
        lines = [f"{sid}: {{{', '.join(filter(None, (FAST, extra.get(sid))))}}}"
                 for sid in STANDINS]
        self.state_dir.mkdir(exist_ok=True)
        (self.state_dir / "standins.yaml").write_text("\n".join(lines) + "\n", encoding="utf-8")

    def gpu(self) -> SimulatedGpu:
        return SimulatedGpu(self.state_dir / "sim-gpu.json", TOTAL_MB, self.release_s)

    def stop_everything(self) -> None:
        status = orjson.loads(self.gpumod("status", "--json"))
        for service in status["services"]:
            if service["state"] != "STOPPED":
                self.gpumod("service", "stop", service["id"])

    def leftovers(self) -> list[int]:
        """Processes this run started that are still there (stand-ins, their supervisors)."""
        mark = f"GPUMOD_DB={self.db}".encode()
        found = []
        for environ in Path("/proc").glob("[0-9]*/environ"):
            try:
                if mark in environ.read_bytes().split(b"\0"):
                    found.append(int(environ.parent.name))
            except OSError:  # gone meanwhile, or not ours to read
                continue
        return found


@contextmanager
def run_in_a_throwaway_folder(release_s: float = RELEASE_S) -> Iterator[Run]:
    with tempfile.TemporaryDirectory(prefix="gpumod-fixture-") as folder:
        run = Run(Path(folder), release_s)
        run.gpumod("init", "--preset-dir", str(EXAMPLES / "presets"),
                   "--mode-dir", str(EXAMPLES / "modes"))
        run.behave()
        try:
            yield run
        finally:
            run.stop_everything()
            _no_leftovers(run)


def _no_leftovers(run: Run) -> None:
    deadline = time.monotonic() + 10  # stopped processes' supervisors exit just after them
    while (pids := run.leftovers()) and time.monotonic() < deadline:
        time.sleep(0.1)
    if pids:
        raise RuntimeError(f"processes left running after the recording: {pids}")


def switch_history(run: Run) -> None:
    """code -> rag -> code (the qwen3-coder router slept, then woken), code -> blank, a switch
    refused by the pre-flight check (another program holds 8000 MB), and a --rollback switch
    where vllm-embedding runs out of memory loading (blank restored)."""
    for mode in ("code", "rag", "code", "blank"):
        run.gpumod("mode", "switch", mode)
    gpu = run.gpu()
    gpu.allocate(os.getpid(), 8000, "someone-else")  # a program gpumod knows nothing of
    run.gpumod("mode", "switch", "code", expect=REFUSED)
    gpu.free(os.getpid())
    run.behave({"vllm-embedding": "oom: true"})
    run.gpumod("mode", "switch", "rag", "--rollback", expect=REFUSED)


def crash_recovery(run: Run) -> None:
    """rag, then a switch to code SIGKILLed right after qwen3-coder's process was launched, then
    `gpumod recover` reconciles the log with what runs and drives the switch to an end."""
    run.gpumod("mode", "switch", "rag")
    run.gpumod("mode", "switch", "code", expect=KILLED, fault="ServiceProcessLaunched")
    run.gpumod("recover")


def oom_incident(run: Run) -> None:
    """A lone start of vllm-embedding that runs out of memory (OomDetected), then
    vllm-embedding-code started alone and dying of a CUDA error (no OOM) that the monitor finds
    (ServiceCrashed). Two services, because a service's log file holds all its runs and the
    crash's log tail would show the earlier run's OOM lines too."""
    run.behave({"vllm-embedding": "oom: true", "vllm-embedding-code": "crash_after_s: 0.5"})
    run.gpumod("service", "start", "vllm-embedding", expect=REFUSED)
    run.gpumod("service", "start", "vllm-embedding-code")
    time.sleep(1.5)  # past crash_after_s, and past the simulated GPU's release delay
    run.gpumod("monitor", "--once")


def release_timeout(run: Run) -> None:
    """On a GPU that frees a process's memory only 5 s after it exits (SLOW_RELEASE_S): code,
    rag, then back to code with --release-timeout 1: vllm-embedding is stopped, its memory is
    still held when the wait gives up (VramReleaseTimedOut), the switch fails with nothing
    started ("release-wait"); once the memory is free the same switch completes."""
    for mode in ("code", "rag"):
        run.gpumod("mode", "switch", mode)
    run.gpumod("mode", "switch", "code", "--release-timeout", "1", expect=REFUSED)
    time.sleep(SLOW_RELEASE_S)
    run.gpumod("mode", "switch", "code")


SLOW_RELEASE_S = 5.0
SCENARIOS: dict[str, tuple[Callable[[Run], None], float]] = {
    "switch-history": (switch_history, RELEASE_S), "crash-recovery": (crash_recovery, RELEASE_S),
    "oom-incident": (oom_incident, RELEASE_S), "release-timeout": (release_timeout, SLOW_RELEASE_S)}


def record(name: str) -> None:
    out = ROOT / "replay_fixtures" / f"{name}.jsonl"
    scenario, release_s = SCENARIOS[name]
    with run_in_a_throwaway_folder(release_s) as run:
        scenario(run)
        run.gpumod("audit", "verify")
        # Exported before the clean-up stops, so the log ends on what the scenario left.
        run.gpumod("events", "export", "--output", str(out))
    write_state(out)


def main(names: list[str]) -> None:
    unknown = set(names) - set(SCENARIOS)
    if unknown:
        sys.exit(f"unknown scenario(s) {sorted(unknown)}; known: {', '.join(SCENARIOS)}")
    for name in names or list(SCENARIOS):
        record(name)


if __name__ == "__main__":
    main(sys.argv[1:])
