"""A direct-backend service under its supervisor (supervisor.sh): launch, records, exit status.

`<id>.pid` holds the service's pid and start time and the supervisor's; `<id>.exit` the status
the supervisor wrote: the exit code, or -N when signal N ended it (SIGTERM: -15).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from gpumod.adapters.process import groups
from gpumod.adapters.process.base import LaunchSpec, ProcessError

SUPERVISOR = Path(__file__).with_name("supervisor.sh")
# A supervisor writes the status and exits within milliseconds of its service; longer: it hangs.
SUPERVISOR_WAIT_S = 5.0


@dataclass(frozen=True)
class Record:
    """What the pid file holds. Start times tell our processes from later ones given their pids."""

    pid: int
    start_time: int
    supervisor_pid: int = 0  # 0: none recorded, so no exit status will come
    supervisor_start: int = 0


# Supervisors are children of this OS process, not of one backend object: whichever backend asks
# reaps them, so long-lived gpumod processes collect no zombies.
_supervisors: dict[Record, subprocess.Popen[bytes]] = {}
_supervisors_lock = threading.Lock()


def spawn(spec: LaunchSpec, exit_file: Path, log: IO[bytes]) -> Record:
    """Start the service under a new supervisor, its output appended to `log`."""
    _reap_exited()
    _check_executable(spec)
    try:
        # A POSIX shell starts in ~2 ms where a Python supervisor took ~35 ms of every start.
        supervisor = subprocess.Popen(
            ["/bin/sh", str(SUPERVISOR), str(exit_file), *spec.argv],
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=log, cwd=spec.cwd,
            env={**os.environ, **spec.env}, start_new_session=True)
    except OSError as error:
        raise ProcessError(f"cannot start {spec.service_id}: {spec.argv[0]}: "
                           f"{error.strerror}") from None
    assert supervisor.stdout is not None
    with supervisor.stdout:
        report = supervisor.stdout.readline().decode(errors="replace").strip().split(maxsplit=1)
    own = groups.stat(supervisor.pid)  # our unreaped child: its /proc entry exists until reaped
    service = groups.stat(int(report[0])) if len(report) == 1 and report[0].isdigit() else None
    if service is not None:  # the shell reaps it only in `wait`, after we read its start time
        report.append(str(service.start_time))
    if len(report) != 2 or not "".join(report).isdigit() or own is None:
        supervisor.wait()
        raise ProcessError(f"cannot start {spec.service_id}: its supervisor failed, "
                           f"is /proc mounted? (see {log.name})")
    record = Record(int(report[0]), int(report[1]), supervisor.pid, own.start_time)
    with _supervisors_lock:
        _supervisors[record] = supervisor
    return record


def exit_status(record: Record, exit_file: Path) -> int | None:
    """The status the supervisor recorded, once it has (None: no supervisor left to)."""
    deadline = time.monotonic() + SUPERVISOR_WAIT_S
    pause = 0.001
    while _supervisor_alive(record) and time.monotonic() < deadline:
        time.sleep(pause)
        pause = min(pause * 2, 0.05)
    try:
        pid, status = exit_file.read_text().split()
        return int(status) if int(pid) == record.pid else None  # None: an earlier run's
    except (OSError, ValueError):
        return None


def write_record(path: Path, record: Record) -> None:
    temporary = path.with_suffix(".pid.tmp")
    # First line alone is the pid, as pid-file readers (pkill -F) expect.
    temporary.write_text(f"{record.pid}\nstart_time={record.start_time}\n"
                         f"supervisor={record.supervisor_pid}:{record.supervisor_start}\n")
    temporary.replace(path)


def read_record(path: Path) -> Record | None:
    try:
        lines = path.read_text().split("\n")
        supervisor = lines[2].removeprefix("supervisor=").split(":") if lines[2] else []
        return Record(int(lines[0]), int(lines[1].removeprefix("start_time=")),
                      *(int(part) for part in supervisor))
    except (OSError, ValueError, IndexError, TypeError):
        return None  # absent or unreadable: nothing we could safely signal


def _supervisor_alive(record: Record) -> bool:
    _reap_exited()
    return record.supervisor_pid > 0 and groups.alive(record.supervisor_pid,
                                                      record.supervisor_start)


def _reap_exited() -> None:
    with _supervisors_lock:
        for record, supervisor in list(_supervisors.items()):
            if supervisor.poll() is not None:
                del _supervisors[record]


def _check_executable(spec: LaunchSpec) -> None:
    """A missing binary is refused here, with its name, rather than as an exit code later."""
    path = os.environ.get("PATH", "") if "PATH" not in spec.env else spec.env["PATH"]
    program = spec.argv[0]
    found = shutil.which(program, path=path) if "/" not in program else (
        program if os.access(spec.cwd / program if spec.cwd else program, os.X_OK) else None)
    if found is None:
        reason = "Permission denied" if os.path.exists(program) else "No such file or directory"
        raise ProcessError(f"cannot start {spec.service_id}: {program}: {reason}")
