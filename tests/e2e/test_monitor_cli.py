"""`gpumod monitor` against real stand-in servers on the simulated GPU, as a user would run it."""

from __future__ import annotations

import os
import select
import signal
import subprocess
import time
from collections.abc import Iterator

import pytest

from tests.e2e.conftest import COMMAND_TIMEOUT_S, Gpumod

MACHINE = ("--gpu", "sim:24GiB", "--stand-ins", "--process-backend", "direct")
SERVICE = "bge-large"  # the fastapi preset: a small stand-in that starts in about a second


@pytest.fixture
def started(initialized: Gpumod) -> Iterator[Gpumod]:
    yield initialized
    initialized.run(*MACHINE, "service", "stop", SERVICE)  # whatever the test left running


def behave(gpumod: Gpumod, behaviour: str) -> None:
    state_dir = gpumod.db.parent / "state"
    state_dir.mkdir(exist_ok=True)
    (state_dir / "standins.yaml").write_text(f"{SERVICE}: {behaviour}\n", encoding="utf-8")


def launched_pid(gpumod: Gpumod) -> int:
    launched = gpumod.history("--type", "ServiceProcessLaunched")
    return int(launched[-1]["data"]["pid"])


def wait_gone(pid: int) -> None:
    deadline = time.monotonic() + COMMAND_TIMEOUT_S  # a guard against a hang, not a measure
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.05)
    pytest.fail(f"process {pid} did not exit")


def test_once_records_a_killed_server_as_crashed(started: Gpumod) -> None:
    started.ok(*MACHINE, "service", "start", SERVICE)
    first = started.ok(*MACHINE, "monitor", "--once")
    assert "simulated GPU" in first.stdout and "VramObserved" in first.stdout
    assert "ServiceCrashed" not in first.stdout

    pid = launched_pid(started)
    os.kill(pid, signal.SIGKILL)
    wait_gone(pid)
    after = started.ok(*MACHINE, "monitor", "--once")

    assert "ServiceCrashed" in after.stdout
    crashed = started.history("--type", "ServiceCrashed")
    assert [(e["metadata"]["actor"], e["data"]["service_id"]) for e in crashed] == [
        ("monitor", SERVICE)]


def test_running_monitor_marks_a_failing_server_unhealthy_and_stops_on_sigterm(
    started: Gpumod,
) -> None:
    behave(started, "{health_fail: 1}")  # healthy for a second after loading, then 500s
    started.ok(*MACHINE, "service", "start", SERVICE)
    monitor = subprocess.Popen(started.argv(*MACHINE, "monitor", "--interval", "0.2"),
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               env=started.env)
    try:
        lines = read_until(monitor, "ServiceBecameUnhealthy")
    finally:
        monitor.send_signal(signal.SIGTERM)
        code = monitor.wait(COMMAND_TIMEOUT_S)

    assert code == 0, monitor.stderr.read() if monitor.stderr else ""
    assert any("consecutive_failures=3" in line for line in lines)
    unhealthy = started.history("--type", "ServiceBecameUnhealthy")
    assert len(unhealthy) == 1 and unhealthy[0]["metadata"]["actor"] == "monitor"


def read_until(process: subprocess.Popen[str], marker: str) -> list[str]:
    assert process.stdout is not None
    lines: list[str] = []
    deadline = time.monotonic() + COMMAND_TIMEOUT_S  # a guard against a hang, not a measure
    while time.monotonic() < deadline:
        ready, _, _ = select.select([process.stdout], [], [], 0.5)
        if not ready:
            continue
        line = process.stdout.readline()
        if not line:
            pytest.fail(f"monitor exited before {marker}: {lines}")
        lines.append(line)
        if marker in line:
            return lines
    pytest.fail(f"no {marker} from the monitor: {lines}")


def test_bad_thresholds_are_refused_with_a_message(initialized: Gpumod) -> None:
    refused = initialized.fails(*MACHINE, "monitor", "--once", "--failures", "0")

    assert "at least 1 probe" in refused.stderr


