"""Whether a GPU process belongs to a service: real processes, their children and strangers."""

from __future__ import annotations

import os
import subprocess
import sys
import time

from gpumod.adapters.process.tree import descends_from


def test_a_grandchild_descends_from_its_grandparent_and_a_stranger_does_not() -> None:
    parent = subprocess.Popen([sys.executable, "-c", (
        "import subprocess, sys, time\n"
        "child = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(30)'])\n"
        "print(child.pid, flush=True); time.sleep(30)")], stdout=subprocess.PIPE, text=True)
    try:
        assert parent.stdout is not None
        grandchild = int(parent.stdout.readline())
        time.sleep(0.05)

        assert descends_from(grandchild, parent.pid)
        assert descends_from(parent.pid, parent.pid)
        assert descends_from(grandchild, os.getpid())
        assert not descends_from(os.getpid(), parent.pid)
        assert not descends_from(2**22 + 7, parent.pid)  # no such process
    finally:
        subprocess.run(["pkill", "-P", str(parent.pid)], check=False)
        parent.kill()
        parent.wait()
