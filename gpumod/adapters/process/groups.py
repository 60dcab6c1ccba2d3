"""Processes and process groups read from /proc and signalled, for the direct backend."""

from __future__ import annotations

import os
import select
import signal
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass

from gpumod.adapters.process.base import ProcessError
from gpumod.adapters.process.procfs import stat_fields

# After SIGKILL only an uninterruptible sleep (a driver call releasing GPU memory) delays exit.
KILL_WAIT_S = 30.0


@dataclass(frozen=True)
class Stat:
    state: str
    pgrp: int
    start_time: int


def stat(pid: int) -> Stat | None:
    fields = stat_fields(pid)
    if fields is None or len(fields) < 20:
        return None
    return Stat(state=fields[0].decode(), pgrp=int(fields[2]), start_time=int(fields[19]))


def alive(pid: int, start_time: int) -> bool:
    """Whether `pid` is still the process that started at `start_time`, and not a zombie."""
    found = stat(pid)
    return found is not None and found.start_time == start_time and found.state != "Z"


def group_is_ours(pid: int, start_time: int) -> bool:
    """Whether signalling group `pid` (led by our process) can only reach our processes.

    While any process of the group lives, the kernel gives its number to no new process; so
    either the leader is still ours (same start time) or it is gone and the group is what's left.
    """
    found = stat(pid)
    return found is None or found.start_time == start_time


def end_group(service_id: str, pgid: int, timeout_s: float) -> None:
    """SIGTERM to the group, SIGKILL after `timeout_s`; returns once all of it is gone."""
    _signal_group(pgid, signal.SIGTERM)
    if _wait_gone(pgid, timeout_s):
        return
    _signal_group(pgid, signal.SIGKILL)
    if not _wait_gone(pgid, KILL_WAIT_S):
        raise ProcessError(f"{service_id} (process group {pgid}) still runs "
                           f"{KILL_WAIT_S:.0f} s after SIGKILL")


def _signal_group(pgid: int, signum: int) -> None:
    with suppress(ProcessLookupError):  # already gone
        os.killpg(pgid, signum)


def _wait_gone(pgid: int, timeout_s: float) -> bool:
    deadline = time.monotonic() + timeout_s
    pause = 0.002
    with _exit_notice(pgid) as leader_exited:
        while _group_alive(pgid):
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            leader_exited(min(pause, left))
            pause = min(pause * 2, 0.05)
    return True


@contextmanager
def _exit_notice(pid: int) -> Iterator[Callable[[float], None]]:
    """A wait of at most N seconds that ends the moment `pid` exits.

    The group's leader (the supervisor, which outlives its service) is usually the last to go:
    a pidfd wakes us when it does, where polling alone noticed an exit up to 50 ms late.
    """
    try:
        fd = os.pidfd_open(pid)
    except (OSError, AttributeError):  # gone already, or a kernel without pidfds
        yield time.sleep
        return
    poller = select.poll()
    poller.register(fd, select.POLLIN)
    exited = False

    def wait(seconds: float) -> None:
        nonlocal exited
        if exited:  # readable for good: sleep while the rest of the group ends
            time.sleep(seconds)
        else:
            exited = bool(poller.poll(seconds * 1000))

    try:
        yield wait
    finally:
        os.close(fd)


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # Zombies count as gone: their parent (maybe an init that never reaps) owns them now.
    return any(found.pgrp == pgid and found.state != "Z" for found in _all_stats())


def _all_stats() -> Iterator[Stat]:
    for entry in os.scandir("/proc"):
        if entry.name.isdigit() and (found := stat(int(entry.name))) is not None:
            yield found
