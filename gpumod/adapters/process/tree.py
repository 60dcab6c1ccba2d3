"""Is a process within another's tree? Read from /proc (a server's GPU memory may be a child's).

Asked for the few processes a GPU reading lists, walking up their parents: a handful of reads,
where listing every process's children meant reading all of /proc (~5 ms) per question.
One reading asks once per live service and GPU process, and those walks share their upper
part (the supervisors', gpumod's, the session's): parents read in the last FRESH_S are reused,
so a reading costs about one read per process on its chains, whatever the number of services.
"""

from __future__ import annotations

import time

from gpumod.adapters.process.procfs import stat_fields

MAX_DEPTH = 64  # deeper than any real process tree; stops a loop on a reused pid
# Longer than one reading's questions take, far shorter than a process lives: a link kept this
# long can only be wrong if its process was reparented or its pid reused in the meantime.
FRESH_S = 0.03

_parents: dict[int, int] = {}
_fresh_since = 0.0


def descends_from(pid: int, root: int) -> bool:
    """True when `pid` is `root` or one of its descendants (now)."""
    for _ in range(MAX_DEPTH):
        if pid == root:
            return True
        parent = _parent(pid)
        if parent is None or parent <= 1:
            return False
        pid = parent
    return False


def _parent(pid: int) -> int | None:
    global _fresh_since
    now = time.monotonic()
    if now - _fresh_since > FRESH_S:
        _parents.clear()
        _fresh_since = now
    parent = _parents.get(pid)
    if parent is None:
        parent = _read_parent(pid)
        if parent is not None:  # a process not there (yet) is asked again next time
            _parents[pid] = parent
    return parent


def _read_parent(pid: int) -> int | None:
    fields = stat_fields(pid)
    return int(fields[1]) if fields and len(fields) > 1 else None
