"""Reading the end of a service's log file, whichever backend wrote it."""

from __future__ import annotations

import os
from pathlib import Path

TAIL_BLOCK = 64 * 1024


def tail_lines(path: Path, lines: int) -> list[str]:
    if lines <= 0:
        return []
    with open(path, "rb") as handle:
        position = handle.seek(0, os.SEEK_END)
        data = b""
        # One newline more than asked for guarantees the first kept line is whole.
        while position > 0 and data.count(b"\n") <= lines:
            step = min(TAIL_BLOCK, position)
            position -= step
            handle.seek(position)
            data = handle.read(step) + data
    text = data.decode(errors="replace").split("\n")
    if text and text[-1] == "":
        text.pop()
    return text[-lines:]

