"""Long-lived helper processes of the test harnesses (a systemd user manager, podman's API):
ended with the test run whatever happens, and stopped with a bounded wait."""

from __future__ import annotations

import ctypes
import signal
import subprocess

PR_SET_PDEATHSIG = 1


def end_with_parent() -> None:
    """preexec_fn: should the test run be killed outright, the helper gets SIGTERM and ends."""
    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


def wait_or_kill(process: subprocess.Popen[str] | subprocess.Popen[bytes], guard_s: float) -> None:
    """After asking it to stop: wait up to `guard_s`, then SIGKILL (a hung helper)."""
    try:
        process.wait(guard_s)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
