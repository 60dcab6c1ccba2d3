"""Services as detached process groups, for machines without a user systemd (containers, CI).

Each service leads its own session, so the gpumod command that started it may exit while it runs.
Its parent is a small supervisor that records how it ended, so whichever gpumod command stops it,
or asks later, learns its exit status (-N: ended by signal N), not only the one that started it.
`<state_dir>/run/<id>.pid` and `<id>.exit` hold what supervised.py describes,
`<state_dir>/logs/<id>.log` its output.
"""

from __future__ import annotations

import fcntl
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from gpumod.adapters.process import groups, supervised
from gpumod.adapters.process.base import LaunchSpec, ProcessError, ProcessInfo
from gpumod.adapters.process.logs import tail_lines
from gpumod.definitions import ID_PATTERN

RUN_MARKER = "--- gpumod: "


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
            self._exit_file(spec.service_id).unlink(missing_ok=True)
            record = self._spawn(spec)
            supervised.write_record(self._pid_file(spec.service_id), record)
        return ProcessInfo(spec.service_id, record.pid, running=True)

    def stop(self, service_id: str, timeout_s: float) -> ProcessInfo:
        """SIGTERM to the whole group, SIGKILL after `timeout_s`; returns once all are gone."""
        with self._lock(service_id):
            record = supervised.read_record(self._pid_file(service_id))
            if record is None:
                return ProcessInfo(service_id, None, running=False)
            if groups.group_is_ours(record.pid, record.start_time):
                groups.end_group(service_id, record.pid, timeout_s)
            exit_code = supervised.exit_status(record, self._exit_file(service_id))
            self._pid_file(service_id).unlink(missing_ok=True)
            self._exit_file(service_id).unlink(missing_ok=True)
        return ProcessInfo(service_id, record.pid, running=False, exit_code=exit_code)

    def info(self, service_id: str) -> ProcessInfo:
        _check_id(service_id)
        record = supervised.read_record(self._pid_file(service_id))
        if record is None:
            return ProcessInfo(service_id, None, running=False)
        if groups.alive(record.pid, record.start_time):
            return ProcessInfo(service_id, record.pid, running=True)
        exit_code = supervised.exit_status(record, self._exit_file(service_id))
        return ProcessInfo(service_id, record.pid, running=False, exit_code=exit_code)

    def log_tail(self, service_id: str, lines: int = 40) -> list[str]:
        _check_id(service_id)
        try:
            tail = tail_lines(self.log_file(service_id), lines)
        except FileNotFoundError:
            return []
        # One log file holds every run: an earlier run's lines (an old OOM) are not this one's.
        starts = [i for i, line in enumerate(tail) if line.startswith(RUN_MARKER)]
        return tail[starts[-1]:] if starts else tail

    def log_file(self, service_id: str) -> Path:
        return self.log_dir / f"{service_id}.log"

    def _pid_file(self, service_id: str) -> Path:
        return self.run_dir / f"{service_id}.pid"

    def _exit_file(self, service_id: str) -> Path:
        return self.run_dir / f"{service_id}.exit"

    def _spawn(self, spec: LaunchSpec) -> supervised.Record:
        self.log_dir.mkdir(parents=True, exist_ok=True)
        with open(self.log_file(spec.service_id), "ab") as log:
            # Runs share one appended log; the marker shows where this one begins.
            log.write(f"{RUN_MARKER}{spec.service_id} starting at "
                      f"{datetime.now(UTC).isoformat(timespec='seconds')} ---\n".encode())
            log.flush()
            return supervised.spawn(spec, self._exit_file(spec.service_id), log)

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
