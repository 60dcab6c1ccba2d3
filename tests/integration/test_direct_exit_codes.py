"""Exit codes of direct-backend services across gpumod commands: each command below is a
separate Python process, as `gpumod start` and a later `gpumod stop` are."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

from gpumod.adapters.process.direct import DirectBackend
from tests.integration.test_direct_backend import (
    EXIT_3,
    GUARD_S,
    SERVE,
    STUBBORN,
    eventually,
    gone,
    wait_ready,
)

# One gpumod command: `start` launches SCRIPT as service "svc"; `stop` stops it within TIMEOUT;
# `info` reports. Each prints what the backend returned, as JSON.
COMMAND = """
import json, sys
from pathlib import Path
from gpumod.adapters.process.base import LaunchSpec
from gpumod.adapters.process.direct import DirectBackend
backend = DirectBackend(Path(sys.argv[1]))
if sys.argv[2] == "start":
    info = backend.start(LaunchSpec("svc", (sys.executable, "-c", sys.argv[3]),
                                    env={"GREETING": "cli"}))
elif sys.argv[2] == "stop":
    info = backend.stop("svc", timeout_s=float(sys.argv[3]))
else:
    info = backend.info("svc")
print(json.dumps({"pid": info.pid, "running": info.running, "exit_code": info.exit_code}))
"""


def gpumod(state: Path, *args: str) -> dict[str, object]:
    done = subprocess.run([sys.executable, "-c", COMMAND, str(state), *args],
                          capture_output=True, text=True, timeout=GUARD_S * 2, check=True)
    result: dict[str, object] = json.loads(done.stdout)
    return result


def test_a_service_stopped_by_a_later_command_reports_its_sigterm_death(tmp_path: Path) -> None:
    # given a service started by one command that has since exited
    state = tmp_path / "state"
    started = gpumod(state, "start", SERVE)
    wait_ready(DirectBackend(state))
    # when another command stops it; then that command learns SIGTERM ended it (-15)
    stopped = gpumod(state, "stop", str(GUARD_S))
    assert stopped == {"pid": started["pid"], "running": False, "exit_code": -signal.SIGTERM}
    assert isinstance(started["pid"], int) and gone(started["pid"])
    # and the stop cleaned up: a third command sees nothing left to report
    assert gpumod(state, "info") == {"pid": None, "running": False, "exit_code": None}


def test_a_service_killed_after_ignoring_sigterm_reports_sigkill(tmp_path: Path) -> None:
    state = tmp_path / "state"
    gpumod(state, "start", STUBBORN)
    wait_ready(DirectBackend(state))
    assert gpumod(state, "stop", "0.2")["exit_code"] == -signal.SIGKILL


def test_a_service_that_failed_alone_reports_its_exit_code_to_a_later_command(
        tmp_path: Path) -> None:
    state = tmp_path / "state"
    gpumod(state, "start", EXIT_3)
    eventually(lambda: not DirectBackend(state).info("svc").running, "the service to exit")
    assert gpumod(state, "info")["exit_code"] == 3
    # when started again; then the earlier run's status is not taken for the new one's
    gpumod(state, "start", SERVE)
    assert gpumod(state, "info")["exit_code"] is None
    assert gpumod(state, "stop", str(GUARD_S))["exit_code"] == -signal.SIGTERM


def test_the_supervisor_is_the_parent_outside_the_services_group(tmp_path: Path) -> None:
    # A group signal must reach the service, not the supervisor that records how it ended.
    state = tmp_path / "state"
    pid = gpumod(state, "start", SERVE)["pid"]
    assert isinstance(pid, int)
    wait_ready(DirectBackend(state))
    supervisor = int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[-1].split()[1])
    assert os.getsid(pid) == os.getpgid(pid) == pid
    assert os.getpgid(supervisor) != pid
    gpumod(state, "stop", str(GUARD_S))
    eventually(lambda: gone(supervisor), "the supervisor to exit after its service")


def test_a_service_whose_supervisor_was_killed_stops_with_an_unknown_exit_code(
        tmp_path: Path) -> None:
    state = tmp_path / "state"
    pid = gpumod(state, "start", SERVE)["pid"]
    assert isinstance(pid, int)
    wait_ready(DirectBackend(state))
    supervisor = int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[-1].split()[1])
    os.kill(supervisor, signal.SIGKILL)
    eventually(lambda: gone(supervisor), "the supervisor to die")
    # then the service still runs, and still stops; nobody is left to record its status
    assert gpumod(state, "info")["running"] is True
    stopped = gpumod(state, "stop", str(GUARD_S))
    assert (stopped["running"], stopped["exit_code"]) == (False, None)
    assert gone(pid)
