"""When did a process exit, measured from outside gpumod: a helper process blocked on pidfds.

gpumod notices an exit by polling; the benchmark needs the moment itself. A pidfd becomes
readable when its process exits, and a separate process (no GIL shared with the gpumod under
test) takes time.monotonic() the moment it wakes; CLOCK_MONOTONIC is the same in all processes.
Protocol: pids in on stdin, one a line; "PID MONOTONIC" out when each exits ("PID gone" when it
had exited before it was watched).
"""

from __future__ import annotations

import os
import selectors
import subprocess
import sys
import threading
import time


class ExitWatcher:
    def __init__(self) -> None:
        self.proc = subprocess.Popen([sys.executable, __file__], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, text=True)
        self.exits: dict[int, float | None] = {}
        self.changed = threading.Condition()
        threading.Thread(target=self._read, name="exit-watch", daemon=True).start()

    def watch(self, pid: int) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(f"{pid}\n")
        self.proc.stdin.flush()

    def exit_time(self, pid: int, timeout_s: float = 5.0) -> float:
        """When `pid` exited (waits a little: the report may still be on its way)."""
        with self.changed:
            self.changed.wait_for(lambda: pid in self.exits, timeout_s)
            at = self.exits.get(pid)
        if at is None:
            raise SystemExit(f"no exit time for process {pid} (was it watched before it ended?)")
        return at

    def close(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        self.proc.wait(5)

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            pid, at = line.split()
            with self.changed:
                self.exits[int(pid)] = None if at == "gone" else float(at)
                self.changed.notify_all()


def _watch() -> None:
    selector = selectors.DefaultSelector()
    selector.register(0, selectors.EVENT_READ, None)
    pending = b""
    while True:
        ready = selector.select()
        at = time.monotonic()  # first: this is the measurement
        for key, _ in ready:
            if key.data is not None:
                print(f"{key.data} {at!r}", flush=True)
                selector.unregister(key.fd)
                os.close(key.fd)
                continue
            chunk = os.read(0, 4096)
            if not chunk:
                return
            *lines, pending = (pending + chunk).split(b"\n")
            for pid in map(int, lines):
                _register(selector, pid)


def _register(selector: selectors.BaseSelector, pid: int) -> None:
    try:
        selector.register(os.pidfd_open(pid), selectors.EVENT_READ, pid)
    except ProcessLookupError:
        print(f"{pid} gone", flush=True)


if __name__ == "__main__":
    _watch()
