"""A real `systemd --user` manager for tests, as root and without systemd as PID 1
(../shared/recipes/real-parts.md): its own XDG_RUNTIME_DIR and XDG_CONFIG_HOME, nothing shared
with a manager the machine may run, and stopped (with every unit it runs) at the end."""

from __future__ import annotations

import os
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from tests.integration.helper_processes import end_with_parent, wait_or_kill

SYSTEMD = Path("/lib/systemd/systemd")
# Read once, at manager start-up: without it the manager thinks it is not under systemd. Removed
# at once after, as package scripts and systemctl read it too.
BOOTED_MARKER = Path("/run/systemd/system")
GUARD_S = 30.0  # how long to wait before calling the manager hung; not a measurement


@dataclass
class UserManager:
    runtime_dir: Path
    config_dir: Path
    process: subprocess.Popen[bytes]
    output: Path

    @property
    def env(self) -> dict[str, str]:
        """This process's environment, pointed at this manager (for systemctl, gpumod, ...)."""
        return {**os.environ, "XDG_RUNTIME_DIR": str(self.runtime_dir),
                "XDG_CONFIG_HOME": str(self.config_dir)}

    @property
    def unit_dir(self) -> Path:
        return self.config_dir / "systemd" / "user"

    def systemctl(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(["systemctl", "--user", *args], capture_output=True, text=True,
                              env=self.env, timeout=GUARD_S)

    def stop(self) -> None:
        """`systemctl --user exit` stops every unit, then the manager; SIGKILL if it hangs."""
        if self.process.poll() is None:
            self.systemctl("exit")
            wait_or_kill(self.process, GUARD_S)


def unavailable() -> str | None:
    """Why no manager can be started here, or None."""
    if not SYSTEMD.is_file():
        return f"{SYSTEMD} is missing (install the systemd package: scripts/ci_prepare.sh)"
    if os.geteuid() != 0 and not BOOTED_MARKER.is_dir():
        return f"creating {BOOTED_MARKER} needs root"
    return None


def start_user_manager(base: Path) -> UserManager:
    runtime, config = base / "runtime", base / "config"
    runtime.mkdir(mode=0o700, parents=True)
    (config / "systemd" / "user").mkdir(parents=True)
    output = base / "manager.log"
    env = {**os.environ, "XDG_RUNTIME_DIR": str(runtime), "XDG_CONFIG_HOME": str(config)}
    made_marker = not BOOTED_MARKER.exists()
    BOOTED_MARKER.mkdir(parents=True, exist_ok=True)
    try:
        with open(output, "wb") as log:
            process = subprocess.Popen([str(SYSTEMD), "--user"], env=env, stdin=subprocess.DEVNULL,
                                       stdout=log, stderr=subprocess.STDOUT,
                                       preexec_fn=end_with_parent)
        manager = UserManager(runtime, config, process, output)
        _wait_ready(manager)
    finally:
        if made_marker:
            BOOTED_MARKER.rmdir()
    return manager


def _wait_ready(manager: UserManager) -> None:
    deadline = time.monotonic() + GUARD_S
    while not (manager.runtime_dir / "systemd" / "private").exists() \
            or manager.systemctl("show-environment").returncode != 0:
        if manager.process.poll() is not None or time.monotonic() > deadline:
            manager.stop()
            raise RuntimeError(f"systemd --user did not come up:\n{manager.output.read_text()}")
        time.sleep(0.02)

