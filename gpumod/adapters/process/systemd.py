"""Services as systemd user units (`gpumod-<id>.service`), driven with `systemctl --user`.

The unit is rendered from the LaunchSpec at each start (so stand-ins run under systemd too) and
written, with a daemon-reload, only when it changed. Output goes to `<state_dir>/logs/<id>.log`
(a user manager may have no journald), framed by run markers the unit itself writes: once a unit
stops cleanly systemd forgets it, and the marker is where its exit status remains.

The service gets the user manager's environment, not this shell's, plus the LaunchSpec's and
gpumod's simulated-GPU settings (`GPUMOD_SIM_GPU_*`), which stand-ins must share with gpumod.
"""

from __future__ import annotations

import dataclasses
import fcntl
import os
import re
import shutil
import signal
import subprocess
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from gpumod.adapters.process.base import LaunchSpec, ProcessError, ProcessInfo
from gpumod.adapters.process.logs import tail_lines
from gpumod.adapters.process.units import (
    STOP_TIMEOUT_S,
    UnitMeta,
    installed_meta,
    render_unit,
    unit_name,
    user_unit_dir,
)
from gpumod.definitions import ID_PATTERN

PROBE_TIMEOUT_S = 2.0  # `systemctl --user` answers in milliseconds when a manager runs
CALL_TIMEOUT_S = 60.0  # start waits for ExecStartPre and the exec; reload re-reads every unit
KILL_WAIT_S = 30.0  # after SIGKILL only an uninterruptible sleep (a GPU driver call) delays exit
PASS_THROUGH_PREFIX = "GPUMOD_SIM_GPU_"
RUNNING_STATES = ("active", "activating", "deactivating", "reloading", "refreshing")
PROPERTIES = ("ActiveState", "MainPID", "ExecMainPID", "ExecMainCode",
              "ExecMainStatus", "InvocationID", "NeedDaemonReload")
# si_code of the main process's end, as systemd reports it in ExecMainCode.
CLD_EXITED, CLD_KILLED, CLD_DUMPED = 1, 2, 3
_EXITED = re.compile(r"--- gpumod: (?P<id>\S+) exited \(invocation (?P<invocation>\w*)\) "
                     r"result=\S* code=(?P<code>\w*) status=(?P<status>\w*) ---$")


@dataclass(frozen=True)
class UnitState:
    """What `systemctl --user show` says of a unit (all defaults for one it does not know)."""

    active_state: str
    main_pid: int | None
    exec_main_pid: int | None
    exit_code: int | None  # of the last main process, while systemd still holds the unit
    invocation: str | None
    stale: bool = False  # the manager holds an older version of the unit file

    @property
    def running(self) -> bool:
        return self.active_state in RUNNING_STATES


class SystemdBackend:
    name = "systemd"

    def __init__(self, state_dir: Path, unit_dir: Path | None = None, *,
                 environ: Mapping[str, str] | None = None,
                 timeout_stop_s: float = STOP_TIMEOUT_S) -> None:
        """`environ` is what `systemctl` runs with (it finds the manager through
        XDG_RUNTIME_DIR); default: this process's environment at each call."""
        self.run_dir, self.log_dir = state_dir / "run", state_dir / "logs"
        self.environ = environ
        self.unit_dir = unit_dir or user_unit_dir(environ)
        self.timeout_stop_s = timeout_stop_s

    def start(self, spec: LaunchSpec) -> ProcessInfo:
        with self._lock(spec.service_id):
            current = self._show(spec.service_id)
            if current.running:
                raise ProcessError(f"{spec.service_id} is already running as "
                                   f"{_unit(spec.service_id)} (pid {current.main_pid}); "
                                   f"stop it first")
            text = render_unit(self._with_gpumod_env(spec), self._meta(spec.service_id),
                               self.log_file(spec.service_id), timeout_stop_s=self.timeout_stop_s)
            # Stale too when an earlier gpumod wrote the file but did not get to reload.
            if self.install(spec.service_id, text) or current.stale:
                self.daemon_reload()
            self._start_unit(spec.service_id)
            return self._info(spec.service_id, self._show(spec.service_id))

    def stop(self, service_id: str, timeout_s: float) -> ProcessInfo:
        """`systemctl --user stop` (SIGTERM to the unit's cgroup); if that takes longer than
        `timeout_s`, SIGKILL to all of it. The unit's TimeoutStopSec is the backstop for stops
        gpumod does not drive."""
        with self._lock(service_id):
            before = self._show(service_id)
            if before.running:
                self._stop_unit(service_id, timeout_s)
            after = self._info(service_id, self._show(service_id), before.invocation)
            return dataclasses.replace(after, pid=before.main_pid or after.pid)

    def info(self, service_id: str) -> ProcessInfo:
        return self._info(service_id, self._show(service_id))

    def log_tail(self, service_id: str, lines: int = 40) -> list[str]:
        try:
            tail = tail_lines(self.log_file(service_id), lines)
        except FileNotFoundError:
            tail = []
        return tail or self._journal_tail(service_id, lines)

    def log_file(self, service_id: str) -> Path:
        return self.log_dir / f"{_checked(service_id)}.log"

    def unit_file(self, service_id: str) -> Path:
        return self.unit_dir / _unit(service_id)

    def install(self, service_id: str, text: str) -> bool:
        """Write the unit file if its text differs; True when it was written."""
        self.log_dir.mkdir(parents=True, exist_ok=True)  # systemd opens the log, never its folder
        path = self.unit_file(service_id)
        try:
            if path.read_text(encoding="utf-8") == text:
                return False
        except FileNotFoundError:
            pass
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_name(f".{path.name}.tmp")
        temporary.write_text(text, encoding="utf-8")
        temporary.replace(path)  # the manager never reads half a unit
        return True

    def daemon_reload(self) -> None:
        self._systemctl("daemon-reload")

    def _start_unit(self, service_id: str) -> None:
        unit = _unit(service_id)
        done = self._run("start", unit)
        if done.returncode == 0:
            return
        reason = done.stderr.strip() or f"exit status {done.returncode}"
        if "not found" in reason:
            reason += (f" (gpumod wrote it to {self.unit_dir}; does the user manager read units "
                       f"from there? It uses its own $XDG_CONFIG_HOME/systemd/user)")
        tail = self.log_tail(service_id, 5)
        raise ProcessError(f"cannot start {service_id}: {reason}"
                           + "".join(f"\n  {line}" for line in tail))

    def _stop_unit(self, service_id: str, timeout_s: float) -> None:
        unit = _unit(service_id)
        try:
            done = self._run("stop", unit, timeout=max(timeout_s, 0.001))
        except subprocess.TimeoutExpired:
            # The stop job goes on inside systemd; SIGKILL to the whole cgroup lets it finish.
            self._systemctl("kill", "--kill-whom=all", "--signal=SIGKILL", unit)
            try:
                done = self._run("stop", unit, timeout=KILL_WAIT_S)
            except subprocess.TimeoutExpired:
                raise ProcessError(f"{service_id} ({unit}) still runs {KILL_WAIT_S:.0f} s after "
                                   f"SIGKILL") from None
        if done.returncode != 0:
            raise ProcessError(f"cannot stop {service_id}: {_failure(done)}")

    def _info(self, service_id: str, state: UnitState,
              invocation: str | None = None) -> ProcessInfo:
        if state.running:
            return ProcessInfo(service_id, state.main_pid, running=True)
        exit_code = state.exit_code
        if exit_code is None:
            exit_code = self._logged_exit(service_id, invocation or state.invocation)
        return ProcessInfo(service_id, state.exec_main_pid, running=False, exit_code=exit_code)

    def _logged_exit(self, service_id: str, invocation: str | None) -> int | None:
        """The exit status the unit's ExecStopPost wrote. It is the file's last line: nothing of
        the service runs after it (KillMode=control-group), so no output can pose as it."""
        try:
            last = tail_lines(self.log_file(service_id), 1)
        except FileNotFoundError:
            return None
        found = _EXITED.search(last[0]) if last else None
        if found is None or found["id"] != service_id:
            return None
        if invocation and found["invocation"] != invocation:
            return None
        return _exit_status(found["code"], found["status"])

    def _show(self, service_id: str) -> UnitState:
        out = self._systemctl("show", f"--property={','.join(PROPERTIES)}", _unit(service_id))
        props = dict(line.split("=", 1) for line in out.splitlines() if "=" in line)
        code = _int(props.get("ExecMainCode"))
        status = _int(props.get("ExecMainStatus"))
        exit_code = None
        if code == CLD_EXITED:
            exit_code = status
        elif code in (CLD_KILLED, CLD_DUMPED) and status is not None:
            exit_code = -status
        return UnitState(active_state=props.get("ActiveState", ""),
                         main_pid=_int(props.get("MainPID")) or None,
                         exec_main_pid=_int(props.get("ExecMainPID")) or None,
                         exit_code=exit_code, invocation=props.get("InvocationID") or None,
                         stale=props.get("NeedDaemonReload") == "yes")

    def _journal_tail(self, service_id: str, lines: int) -> list[str]:
        """A unit logging to journald (one a user edited): `journalctl --user -u`, if it works."""
        if lines <= 0 or shutil.which("journalctl") is None:
            return []
        try:
            done = subprocess.run(
                ["journalctl", "--user", "-u", _unit(service_id), "-n", str(lines),
                 "--no-pager", "-q", "-o", "cat"], capture_output=True, text=True,
                stdin=subprocess.DEVNULL, timeout=PROBE_TIMEOUT_S, env=self._env())
        except subprocess.TimeoutExpired:
            return []
        return done.stdout.splitlines()[-lines:] if done.returncode == 0 else []

    def _meta(self, service_id: str) -> UnitMeta:
        # A LaunchSpec names no driver or preset name: keep what an installed unit says.
        try:
            meta = installed_meta(self.unit_file(service_id).read_text(encoding="utf-8"))
        except (FileNotFoundError, UnicodeDecodeError):
            meta = None
        return meta or UnitMeta(description=f"gpumod service {service_id}")

    def _with_gpumod_env(self, spec: LaunchSpec) -> LaunchSpec:
        ours = {k: v for k, v in self._env().items() if k.startswith(PASS_THROUGH_PREFIX)}
        return dataclasses.replace(spec, env={**ours, **spec.env})

    def _systemctl(self, *args: str) -> str:
        try:
            done = self._run(*args)
        except subprocess.TimeoutExpired:
            raise ProcessError(f"systemctl --user {args[0]} did not answer within "
                               f"{CALL_TIMEOUT_S:.0f} s") from None
        if done.returncode != 0:
            raise ProcessError(f"systemctl --user {' '.join(args)} failed: {_failure(done)}")
        return done.stdout

    def _run(self, *args: str, timeout: float = CALL_TIMEOUT_S) -> subprocess.CompletedProcess[str]:
        try:
            return subprocess.run(["systemctl", "--user", *args], capture_output=True, text=True,
                                  stdin=subprocess.DEVNULL, timeout=timeout, env=self._env())
        except FileNotFoundError:
            raise ProcessError("systemctl is not installed; use --process-backend direct") from None

    def _env(self) -> dict[str, str]:
        return dict(os.environ if self.environ is None else self.environ)

    @contextmanager
    def _lock(self, service_id: str) -> Iterator[None]:
        # Two gpumod commands must not both write the unit, or both start it.
        self.run_dir.mkdir(parents=True, exist_ok=True)
        with open(self.run_dir / f"{_checked(service_id)}.lock", "wb") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            yield


def systemd_problem(environ: Mapping[str, str] | None = None) -> str | None:
    """Why `systemctl --user` cannot be used here, or None when a user manager answers."""
    if shutil.which("systemctl") is None:
        return "systemctl is not installed"
    try:
        done = subprocess.run(["systemctl", "--user", "show-environment"], capture_output=True,
                              text=True, stdin=subprocess.DEVNULL, timeout=PROBE_TIMEOUT_S,
                              env=None if environ is None else dict(environ))
    except subprocess.TimeoutExpired:
        return f"systemctl --user did not answer within {PROBE_TIMEOUT_S:g} s"
    if done.returncode != 0:
        return (done.stderr.strip() or f"exit status {done.returncode}").splitlines()[0]
    return None


def systemd_usable(environ: Mapping[str, str] | None = None) -> bool:
    return systemd_problem(environ) is None


def _unit(service_id: str) -> str:
    return unit_name(_checked(service_id))


def _checked(service_id: str) -> str:
    # The id names files and units: nothing may reach outside them.
    if not ID_PATTERN.fullmatch(service_id):
        raise ProcessError(f"invalid service id {service_id!r}")
    return service_id


def _exit_status(code: str, status: str) -> int | None:
    """systemd's $EXIT_CODE/$EXIT_STATUS as a ProcessInfo exit code (negative: a signal)."""
    if code == "exited" and status.isdigit():
        return int(status)
    if code in ("killed", "dumped"):
        try:
            return -signal.Signals[f"SIG{status}"].value
        except KeyError:
            return None
    return None


def _int(value: str | None) -> int | None:
    try:
        return int(value) if value else None
    except ValueError:
        return None


def _failure(done: subprocess.CompletedProcess[str]) -> str:
    """What systemctl said when it failed, else its exit status."""
    return done.stderr.strip() or f"exit status {done.returncode}"
