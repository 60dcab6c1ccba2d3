"""The direct process backend, with real processes: detached groups, pid files, logs, signals."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from gpumod.adapters.process.base import LaunchSpec, ProcessError
from gpumod.adapters.process.direct import DirectBackend
from gpumod.adapters.process.select import choose_backend

GUARD_S = 30.0  # how long to wait for a process before calling it hung; not a measurement
NEVER_A_PID = 5_000_000  # above the kernel's largest possible pid (2**22)

SERVE = """
import os, sys, time
print("hello from", os.environ["GREETING"], "in", os.getcwd())
print("stdin gave", repr(sys.stdin.read()))
print("ready", flush=True)
while True:
    time.sleep(60)
"""

STUBBORN = """
import signal, time
signal.signal(signal.SIGTERM, signal.SIG_IGN)
print("ready", flush=True)
while True:
    time.sleep(60)
"""

# Leaves a grandchild in the service's process group, writing its pid to argv[1].
WITH_CHILD = """
import subprocess, sys, time
child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
open(sys.argv[1], "w").write(str(child.pid))
print("ready", flush=True)
if sys.argv[2] == "stay":
    while True:
        time.sleep(60)
"""

EXIT_3 = "import sys; print('failing', flush=True); sys.exit(3)"

# A short-lived gpumod command: starts a service, prints its pid and exits.
CLI = """
import sys
from pathlib import Path
from gpumod.adapters.process.base import LaunchSpec
from gpumod.adapters.process.direct import DirectBackend
info = DirectBackend(Path(sys.argv[1])).start(
    LaunchSpec("svc", (sys.executable, "-c", sys.argv[2]), env={"GREETING": "cli"}))
print(info.pid)
"""


@pytest.fixture
def backend(tmp_path: Path) -> Iterator[DirectBackend]:
    backend = DirectBackend(tmp_path / "state")
    yield backend
    for pid_file in (tmp_path / "state" / "run").glob("*.pid"):
        backend.stop(pid_file.stem, timeout_s=1.0)


def python(script: str, *args: str, service_id: str = "svc",
           env: dict[str, str] | None = None, cwd: Path | None = None) -> LaunchSpec:
    return LaunchSpec(service_id, (sys.executable, "-c", script, *args), env=env or {}, cwd=cwd)


def eventually(check: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + GUARD_S
    while not check():
        if time.monotonic() > deadline:
            pytest.fail(f"gave up waiting {GUARD_S:.0f} s for: {what}")
        time.sleep(0.01)


def wait_ready(backend: DirectBackend, service_id: str = "svc") -> None:
    eventually(lambda: "ready" in backend.log_tail(service_id), f"{service_id} to print ready")


def _stat_fields(pid: int) -> list[str] | None:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[-1].split()
    except OSError:
        return None


def _state(pid: int) -> str | None:
    fields = _stat_fields(pid)
    return None if fields is None else fields[0]


def _start_time(pid: int) -> int:
    fields = _stat_fields(pid)
    assert fields is not None
    return int(fields[19])


def gone(pid: int) -> bool:
    """No such process, or only a zombie that its new parent has yet to reap."""
    return _state(pid) in (None, "Z")


def test_a_started_service_runs_detached_logs_and_stops_on_sigterm(
        backend: DirectBackend, tmp_path: Path) -> None:
    # given a service started with its own environment and working directory
    started = backend.start(python(SERVE, env={"GREETING": "gpumod"}, cwd=tmp_path))
    wait_ready(backend)
    # then it runs, in a session of its own, with its output in the log and nothing on stdin
    assert backend.info("svc").running and backend.info("svc").pid == started.pid
    assert started.pid is not None and os.getsid(started.pid) == started.pid
    assert backend.log_tail("svc", 3) == [
        f"hello from gpumod in {tmp_path}", "stdin gave ''", "ready"]
    # when it is stopped
    stopped = backend.stop("svc", timeout_s=GUARD_S)
    # then it is gone, its SIGTERM death reported, its pid file removed
    assert (stopped.running, stopped.pid, stopped.exit_code) == (False, started.pid,
                                                                 -signal.SIGTERM)
    assert gone(started.pid)
    assert not backend.info("svc").running
    assert not (tmp_path / "state" / "run" / "svc.pid").exists()


def test_a_process_ignoring_sigterm_is_killed_after_the_timeout(backend: DirectBackend) -> None:
    # given a service that ignores SIGTERM
    started = backend.start(python(STUBBORN))
    wait_ready(backend)
    # when stopped with a short timeout; then SIGKILL ended it
    stopped = backend.stop("svc", timeout_s=0.2)
    assert stopped.exit_code == -signal.SIGKILL
    assert started.pid is not None and gone(started.pid)


def test_stopping_a_service_stops_the_processes_it_started(
        backend: DirectBackend, tmp_path: Path) -> None:
    # given a service that started a child process of its own
    child_pid_file = tmp_path / "child.pid"
    backend.start(python(WITH_CHILD, str(child_pid_file), "stay"))
    wait_ready(backend)
    child = int(child_pid_file.read_text())
    assert not gone(child)
    # when the service is stopped; then its child is gone too
    backend.stop("svc", timeout_s=GUARD_S)
    assert gone(child)


def test_the_remains_of_a_service_whose_main_process_exited_are_still_stopped(
        backend: DirectBackend, tmp_path: Path) -> None:
    # given a service whose main process exited, leaving a child running
    child_pid_file = tmp_path / "child.pid"
    backend.start(python(WITH_CHILD, str(child_pid_file), "leave"))
    eventually(lambda: not backend.info("svc").running, "the main process to exit")
    child = int(child_pid_file.read_text())
    assert not gone(child)
    # when the service is stopped; then the child left behind is stopped too
    assert backend.stop("svc", timeout_s=GUARD_S).exit_code == 0
    assert gone(child)


def test_a_pid_file_naming_someone_elses_process_is_not_ours(
        backend: DirectBackend, tmp_path: Path) -> None:
    # given a pid file whose pid now belongs to an unrelated process (pid reused)
    stranger = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"],
                                start_new_session=True)
    try:
        run = tmp_path / "state" / "run"
        run.mkdir(parents=True)
        (run / "svc.pid").write_text(f"{stranger.pid}\nstart_time=1\n")
        # when gpumod asks about and stops the service
        info = backend.info("svc")
        stopped = backend.stop("svc", timeout_s=1.0)
        # then it is not running, and the stranger was left alone
        assert not info.running and not stopped.running
        assert stranger.poll() is None
    finally:
        stranger.kill()
        stranger.wait()


def test_a_zombie_is_not_running(backend: DirectBackend, tmp_path: Path) -> None:
    # given a pid file naming a process that exited but was never reaped by its parent (this test)
    zombie = subprocess.Popen([sys.executable, "-c", "pass"])
    eventually(lambda: _state(zombie.pid) == "Z", "the child to become a zombie")
    run = tmp_path / "state" / "run"
    run.mkdir(parents=True)
    (run / "svc.pid").write_text(f"{zombie.pid}\nstart_time={_start_time(zombie.pid)}\n")
    try:
        # then the service is not running, and stopping it returns at once
        assert not backend.info("svc").running
        assert not backend.stop("svc", timeout_s=GUARD_S).running
    finally:
        zombie.wait()


def test_a_stale_pid_file_does_not_block_a_start(
        backend: DirectBackend, tmp_path: Path) -> None:
    # given a pid file left by a process long gone
    run = tmp_path / "state" / "run"
    run.mkdir(parents=True)
    (run / "svc.pid").write_text(f"{NEVER_A_PID}\nstart_time=1\n")
    assert not backend.info("svc").running
    # when the service starts; then it runs under its new pid
    started = backend.start(python(SERVE, env={"GREETING": "again"}))
    assert backend.info("svc").running and started.pid != NEVER_A_PID


def test_starting_a_running_service_again_is_refused(backend: DirectBackend) -> None:
    # given a running service
    first = backend.start(python(SERVE, env={"GREETING": "first"}))
    # when started again; then refused, and the first keeps running
    with pytest.raises(ProcessError, match=r"svc is already running \(pid \d+\)"):
        backend.start(python(SERVE, env={"GREETING": "second"}))
    assert backend.info("svc").running and backend.info("svc").pid == first.pid


def test_a_service_that_exits_by_itself_shows_not_running_with_its_exit_code(
        backend: DirectBackend, tmp_path: Path) -> None:
    # given a service that fails at once
    backend.start(python(EXIT_3))
    # when it has exited; then info says so with its exit code, to any backend in this process
    eventually(lambda: not backend.info("svc").running, "the service to exit")
    assert backend.info("svc").exit_code == 3
    assert DirectBackend(tmp_path / "state").info("svc").exit_code == 3
    assert backend.log_tail("svc", 1) == ["failing"]


def test_a_service_outlives_the_short_lived_command_that_started_it(
        backend: DirectBackend, tmp_path: Path) -> None:
    # given a gpumod command that starts a service and exits; its output captured through pipes
    # (a service holding those pipes would keep communicate() waiting for end-of-file)
    done = subprocess.run([sys.executable, "-c", CLI, str(tmp_path / "state"), SERVE],
                          capture_output=True, text=True, timeout=GUARD_S, check=True)
    pid = int(done.stdout)
    # then the service still runs, and this process, which is not its parent, sees it
    wait_ready(backend)
    info = backend.info("svc")
    assert (info.running, info.pid) == (True, pid)
    # when stopped from here; then it is gone, and its supervisor recorded how it ended
    stopped = backend.stop("svc", timeout_s=GUARD_S)
    assert (stopped.running, stopped.exit_code) == (False, -signal.SIGTERM)
    assert gone(pid)


def test_a_service_started_elsewhere_that_died_is_not_running(
        backend: DirectBackend, tmp_path: Path) -> None:
    # given a service started by another gpumod command, which then failed
    subprocess.run([sys.executable, "-c", CLI, str(tmp_path / "state"), EXIT_3],
                   capture_output=True, timeout=GUARD_S, check=True)
    # then it shows as not running, with the exit code its supervisor recorded
    eventually(lambda: not backend.info("svc").running, "the service to exit")
    assert backend.info("svc").exit_code == 3


def test_log_tail_returns_the_last_lines_of_a_long_log(
        backend: DirectBackend, tmp_path: Path) -> None:
    # given a log far longer than one read block, whose last line has no newline yet
    log = backend.log_file("svc")
    log.parent.mkdir(parents=True)
    log.write_text("".join(f"line {i}\n" for i in range(100_000)) + "partial")
    # when its tail is read; then exactly the last lines come back, whole
    assert backend.log_tail("svc", 3) == ["line 99998", "line 99999", "partial"]
    assert backend.log_tail("svc", 0) == []
    assert backend.log_tail("other") == []


def test_each_start_appends_to_the_log_after_a_marker(backend: DirectBackend) -> None:
    # given a service run twice
    for _ in range(2):
        backend.start(python(EXIT_3))
        eventually(lambda: not backend.info("svc").running, "the service to exit")
    # then both runs are in its log file, each after its own marker; the tail is the last run's
    lines = backend.log_file("svc").read_text().splitlines()
    assert [line.startswith("--- gpumod: svc starting at ") for line in lines] == [
        True, False, True, False]
    assert backend.log_tail("svc", 10) == lines[2:]


def test_a_missing_executable_is_a_process_error_and_leaves_nothing_behind(
        backend: DirectBackend, tmp_path: Path) -> None:
    spec = LaunchSpec("svc", (str(tmp_path / "no-such-server"), "--port", "8000"))
    with pytest.raises(ProcessError, match=r"cannot start svc: .*no-such-server: No such file"):
        backend.start(spec)
    assert not backend.info("svc").running
    assert not (tmp_path / "state" / "run" / "svc.pid").exists()


@pytest.mark.parametrize("service_id", ["../escape", "a/b", "", ".hidden", "UPPER"])
def test_a_service_id_that_could_name_a_path_elsewhere_is_refused(
        backend: DirectBackend, service_id: str) -> None:
    with pytest.raises(ProcessError, match="invalid service id"):
        backend.start(LaunchSpec(service_id, ("true",)))


def test_stopping_a_service_that_never_ran_is_a_no_op(backend: DirectBackend) -> None:
    stopped = backend.stop("svc", timeout_s=1.0)
    assert (stopped.running, stopped.pid, stopped.exit_code) == (False, None, None)


@pytest.mark.parametrize("name", [None, "direct"])
def test_the_direct_backend_is_chosen_by_name_or_by_default(
        name: str | None, tmp_path: Path) -> None:
    assert isinstance(choose_backend(name, tmp_path), DirectBackend)


def test_the_systemd_backend_is_refused_with_the_way_forward(tmp_path: Path) -> None:
    with pytest.raises(ProcessError, match="use --process-backend direct"):
        choose_backend("systemd", tmp_path)


def test_an_unknown_backend_name_lists_the_known_ones(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"--process-backend 'docker': expected one of direct, "
                                         r"systemd"):
        choose_backend("docker", tmp_path)


def test_the_log_tail_holds_only_the_latest_run(tmp_path: Path) -> None:
    """An earlier run's lines (say an out-of-memory error) must not be read as this run's."""
    backend = DirectBackend(tmp_path)
    for words in ("CUDA out of memory", "all fine"):
        backend.start(LaunchSpec("svc", ("sh", "-c", f"echo '{words}'; sleep 30")))
        deadline = time.monotonic() + 10
        while words not in "".join(backend.log_tail("svc")) and time.monotonic() < deadline:
            time.sleep(0.02)
        backend.stop("svc", timeout_s=5)

    tail = backend.log_tail("svc")

    assert "all fine" in tail and not any("out of memory" in line for line in tail)
    assert tail[0].startswith("--- gpumod: svc starting at")
