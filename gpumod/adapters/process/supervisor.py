"""Runs one service and writes its exit status to a file, for the direct backend.

Only a process's parent learns its exit status, and the gpumod command that started a service has
usually exited by the time another one stops it. So this small parent stays: it starts the
service in a session (and process group) of its own, reports `<pid> <start time>` (or
`error <reason>`) on stdout, waits, and writes the status atomically to EXIT_FILE.

Status convention, as Python's `Popen.returncode`: the exit code, or -N when signal N ended it
(SIGTERM: -15, SIGKILL: -9). The supervisor stays outside the service's group, so signalling
the group reaches the service, never its recorder. Stdlib only: run with `python -I -S`.

Usage: python -I -S supervisor.py EXIT_FILE ARGV...   (service output: this process's stderr)
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


def start_time(pid: int) -> int:
    # After the last ')': the command name may hold spaces; field 22 of stat is the start time.
    return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[-1].split()[19])


def main(argv: list[str]) -> int:
    exit_file, command = Path(argv[0]), argv[1:]
    try:
        child = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=sys.stderr.fileno(),
                                 stderr=subprocess.STDOUT, start_new_session=True)
    except OSError as error:
        print(f"error {error.strerror or error}", flush=True)
        return 1
    # Read before waiting: until this process reaps it, the child's /proc entry exists.
    print(f"{child.pid} {start_time(child.pid)}", flush=True)
    # Whoever started us may be gone: nothing more goes to that pipe.
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    status = child.wait()
    temporary = exit_file.with_name(exit_file.name + ".tmp")
    temporary.write_text(f"{child.pid} {status}\n")
    temporary.replace(exit_file)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
