"""Is a process within another's tree? Read from /proc (a server's GPU memory may be a child's).

Asked for the few processes a GPU reading lists, walking up their parents: a handful of reads,
where listing every process's children meant reading all of /proc (~5 ms) per question.
"""

from __future__ import annotations

from pathlib import Path

MAX_DEPTH = 64  # deeper than any real process tree; stops a loop on a reused pid


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
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return int(fields[1])
