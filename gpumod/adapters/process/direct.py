"""Services as detached process groups, for machines without a user systemd (containers, CI).

Each service leads its own session, so the gpumod command that started it may exit while it runs.
`<state_dir>/run/<id>.pid` holds its pid and start time, `<state_dir>/logs/<id>.log` its output.
"""

from __future__ import annotations

import fcntl
import os
import signal
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from gpumod.adapters.process.base import LaunchSpec, ProcessError, ProcessInfo
from gpumod.adapters.process.logs import tail_lines
from gpumod.definitions import ID_PATTERN

# After SIGKILL only an uninterruptible sleep (a driver call releasing GPU memory) delays exit.
KILL_WAIT_S = 30.0


@dataclass(frozen=True)
class Record:
    """What the pid file holds. The start time tells our process from a later one given its pid."""

    pid: int
    start_time: int


@dataclass(frozen=True)
class Stat:
    state: str
    pgrp: int
    start_time: int


# Children belong to this OS process, not to one backend object: any DirectBackend here reaps
# them (no zombies in long-lived gpumod processes) and reads their exit codes.
_children: dict[Record, subprocess.Popen[bytes]] = {}
_children_lock = threading.Lock()


class DirectBackend:
    name = "direct"

    def __init__(self, state_dir: Path) -> None:
        self.run_dir, self.log_dir = state_dir / "run", state_dir / "logs"

    def start(self, spec: LaunchSpec) -> ProcessInfo:
        if not spec.argv:
            raise ProcessError(f"{spec.service_id}: nothing to run (empty command line)")
        with self._lock(spec.service_id):
            current = self.info(spec.service_id)
            if current.running:
                raise ProcessError(f"{spec.service_id} is already running (pid {current.pid}); "
                                   f"stop it first")
            record = self._spawn(spec)
            self._write_record(spec.service_id, record)
        return ProcessInfo(spec.service_id, record.pid, running=True)

    def stop(self, service_id: str, timeout_s: float) -> ProcessInfo:
        """SIGTERM to the whole group, SIGKILL after `timeout_s`; returns once all are gone."""
        with self._lock(service_id):
            record = self._read_record(service_id)
            if record is None:
                return ProcessInfo(service_id, None, running=False)
            if _group_is_ours(record):
                _end_group(service_id, record, timeout_s)
            exit_code = _exit_code(record)
            self._pid_file(service_id).unlink(missing_ok=True)
        with _children_lock:
            _children.pop(record, None)
        return ProcessInfo(service_id, record.pid, running=False, exit_code=exit_code)

    def info(self, service_id: str) -> ProcessInfo:
        """Exit codes are known for processes this OS process started (negative: a signal)."""
        record = self._read_record(service_id)
        if record is None:
            return ProcessInfo(service_id, None, running=False)
        exit_code = _exit_code(record)
        stat = _stat(record.pid)
        running = (exit_code is None and stat is not None
                   and stat.start_time == record.start_time and stat.state != "Z")
        return ProcessInfo(service_id, record.pid, running, exit_code)

    def log_tail(self, service_id: str, lines: int = 40) -> list[str]:
        _check_id(service_id)
        try:
            return tail_lines(self.log_file(service_id), lines)
        except FileNotFoundError:
            return []

    def log_file(self, service_id: str) -> Path:
        return self.log_dir / f"{service_id}.log"

    def _pid_file(self, service_id: str) -> Path:
        return self.run_dir / f"{service_id}.pid"

    def _spawn(self, spec: LaunchSpec) -> Record:
        self.log_dir.mkdir(parents=True, exist_ok=True)
        _reap_exited()
        with open(self.log_file(spec.service_id), "ab") as log:
            # Runs share one appended log; the marker shows where this one begins.
            log.write(f"--- gpumod: {spec.service_id} starting at "
                      f"{datetime.now(UTC).isoformat(timespec='seconds')} ---\n".encode())
            log.flush()
            try:
                # stdin from /dev/null and output to the file: nothing ties it to this process.
                child = subprocess.Popen(
                    list(spec.argv), stdin=subprocess.DEVNULL, stdout=log,
                    stderr=subprocess.STDOUT, cwd=spec.cwd, env={**os.environ, **spec.env},
                    start_new_session=True)
            except OSError as error:
                raise ProcessError(f"cannot start {spec.service_id}: {spec.argv[0]}: "
                                   f"{error.strerror}") from None
        stat = _stat(child.pid)  # our unreaped child: its /proc entry exists even if it exited
        if stat is None:
            raise ProcessError(f"{spec.service_id} started as pid {child.pid}, but "
                               f"/proc/{child.pid}/stat is unreadable: is /proc mounted?")
        record = Record(child.pid, stat.start_time)
        with _children_lock:
            _children[record] = child
        return record

    def _write_record(self, service_id: str, record: Record) -> None:
        path = self._pid_file(service_id)
        temporary = path.with_suffix(".pid.tmp")
        # First line alone is the pid, as pid-file readers (pkill -F) expect.
        temporary.write_text(f"{record.pid}\nstart_time={record.start_time}\n")
        temporary.replace(path)

    def _read_record(self, service_id: str) -> Record | None:
        _check_id(service_id)
        try:
            pid_line, start_line = self._pid_file(service_id).read_text().split("\n")[:2]
            return Record(int(pid_line), int(start_line.removeprefix("start_time=")))
        except (OSError, ValueError):
            return None  # absent or unreadable: nothing we could safely signal

    @contextmanager
    def _lock(self, service_id: str) -> Iterator[None]:
        # Two gpumod commands starting one service at once must not both launch it, and a stop
        # must not remove the pid file of a start that ran meanwhile.
        _check_id(service_id)
        self.run_dir.mkdir(parents=True, exist_ok=True)
        with open(self.run_dir / f"{service_id}.lock", "wb") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            yield


def _check_id(service_id: str) -> None:
    # The id names files under the state dir: nothing may reach outside it.
    if not ID_PATTERN.match(service_id):
        raise ProcessError(f"invalid service id {service_id!r}")


def _stat(pid: int) -> Stat | None:
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # The command name in parentheses may hold spaces or ')': split after the last ')'.
    fields = raw.rsplit(")", 1)[-1].split()
    return Stat(state=fields[0], pgrp=int(fields[2]), start_time=int(fields[19]))


def _exit_code(record: Record) -> int | None:
    with _children_lock:
        child = _children.get(record)
        return None if child is None else child.poll()


def _reap_exited() -> None:
    with _children_lock:
        for child in _children.values():
            child.poll()


def _group_is_ours(record: Record) -> bool:
    """Whether signalling group `record.pid` can only reach our service's processes.

    While any process of the group lives, the kernel gives its number to no new process; so
    either the leader is still ours (same start time) or it is gone and the group is what's left.
    """
    stat = _stat(record.pid)
    return stat is None or stat.start_time == record.start_time


def _signal_group(pgid: int, signum: int) -> None:
    with suppress(ProcessLookupError):  # already gone
        os.killpg(pgid, signum)


def _end_group(service_id: str, record: Record, timeout_s: float) -> None:
    _signal_group(record.pid, signal.SIGTERM)
    if _wait_gone(record, timeout_s):
        return
    _signal_group(record.pid, signal.SIGKILL)
    if not _wait_gone(record, KILL_WAIT_S):
        raise ProcessError(f"{service_id} (process group {record.pid}) still runs "
                           f"{KILL_WAIT_S:.0f} s after SIGKILL")


def _wait_gone(record: Record, timeout_s: float) -> bool:
    deadline = time.monotonic() + timeout_s
    pause = 0.002
    while _group_alive(record):
        if time.monotonic() >= deadline:
            return False
        time.sleep(pause)
        pause = min(pause * 2, 0.05)
    return True


def _group_alive(record: Record) -> bool:
    _exit_code(record)  # reaps our leader, so it does not linger as a zombie
    try:
        os.killpg(record.pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # Zombies count as gone: their parent (maybe an init that never reaps) owns them now.
    return any(stat.pgrp == record.pid and stat.state != "Z" for stat in _all_stats())


def _all_stats() -> Iterator[Stat]:
    for entry in os.scandir("/proc"):
        if entry.name.isdigit() and (stat := _stat(int(entry.name))) is not None:
            yield stat
