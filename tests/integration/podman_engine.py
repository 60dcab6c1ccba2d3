"""A real Docker-compatible engine for tests: podman's Docker API on a private unix socket
(../shared/recipes/real-parts.md). Its own storage, run folder and containers.conf (runc, fixed
ulimits), nothing shared with an engine the machine may run; registries are unreachable, so the
test image is a busybox root filesystem imported from a tar file. Stopped, with every container
it runs, at the end."""

from __future__ import annotations

import os
import shutil
import subprocess
import tarfile
import time
from dataclasses import dataclass
from pathlib import Path

from tests.integration.helper_processes import end_with_parent, wait_or_kill

IMAGE = "localhost/gpumod-test-httpd:1"
BUSYBOX = Path("/bin/busybox")
APPLETS = ("sh", "httpd", "env", "echo", "cat", "sleep", "id")
GUARD_S = 60.0  # how long to wait before calling the engine hung; not a measurement
PT_INTERP = 3
CONTAINERS_CONF = """\
[containers]
default_ulimits = ["nofile=1024:1024", "nproc=1024:1024"]
[engine]
runtime = "runc"
"""


@dataclass
class PodmanEngine:
    base: Path
    process: subprocess.Popen[bytes]

    @property
    def socket(self) -> Path:
        return self.base / "podman.sock"

    @property
    def docker_host(self) -> str:
        return f"unix://{self.socket}"

    def podman(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(_podman(self.base, *args), capture_output=True, text=True,
                              env=_env(self.base), timeout=GUARD_S)

    def stop(self) -> None:
        """Remove every container (unmounting their storage), then end the API service."""
        self.podman("rm", "--all", "--force", "--time", "0")
        if self.process.poll() is None:
            self.process.terminate()
            wait_or_kill(self.process, GUARD_S)


def unavailable() -> str | None:
    """Why no engine can be started here, or None."""
    for tool in ("podman", "runc"):
        if shutil.which(tool) is None:
            return f"{tool} is missing (scripts/ci_prepare.sh installs it)"
    if not _static(BUSYBOX):
        return (f"{BUSYBOX} is missing or not static (scripts/ci_prepare.sh installs "
                "busybox-static)")
    return None


def _static(binary: Path) -> bool:
    """Whether an ELF binary needs no dynamic loader (no PT_INTERP program header): the image
    holds nothing but this one file."""
    try:
        header = binary.read_bytes()
    except OSError:
        return False
    if header[:5] != b"\x7fELF\x02":  # 64-bit ELF
        return False
    offset, size, count = (int.from_bytes(header[a:b], "little")
                           for a, b in ((0x20, 0x28), (0x36, 0x38), (0x38, 0x3A)))
    return all(int.from_bytes(header[offset + i * size:][:4], "little") != PT_INTERP
               for i in range(count))


def start_engine(base: Path) -> PodmanEngine:
    (base / "containers.conf").write_text(CONTAINERS_CONF)
    _import_image(base)
    with open(base / "service.log", "wb") as log:
        process = subprocess.Popen(
            _podman(base, "system", "service", "--time=0", f"unix://{base / 'podman.sock'}"),
            env=_env(base), stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
            preexec_fn=end_with_parent)
    engine = PodmanEngine(base, process)
    _wait_ready(engine)
    return engine


def _import_image(base: Path) -> None:
    """A busybox root filesystem: sh, httpd (serving /www, which has /www/health) and a few
    applets, imported as IMAGE."""
    root = base / "rootfs"
    (root / "bin").mkdir(parents=True)
    (root / "www").mkdir()
    (root / "tmp").mkdir()
    (root / "www" / "health").write_text("ok\n")
    shutil.copy(BUSYBOX, root / "bin" / "busybox")
    for applet in APPLETS:
        (root / "bin" / applet).symlink_to("busybox")
    with tarfile.open(base / "rootfs.tar", "w") as tar:
        tar.add(root, arcname=".")
    done = subprocess.run(_podman(base, "import", str(base / "rootfs.tar"), IMAGE),
                          capture_output=True, text=True, env=_env(base), timeout=GUARD_S)
    if done.returncode != 0:
        raise RuntimeError(f"podman import failed:\n{done.stderr}")


def _wait_ready(engine: PodmanEngine) -> None:
    import docker

    deadline = time.monotonic() + GUARD_S
    while True:
        if engine.socket.exists():
            try:
                docker.DockerClient(base_url=engine.docker_host, timeout=5).ping()
                return
            except docker.errors.DockerException:
                pass
        if engine.process.poll() is not None or time.monotonic() > deadline:
            engine.stop()
            log = (engine.base / "service.log").read_text()
            raise RuntimeError(f"podman system service did not come up:\n{log}")
        time.sleep(0.05)


def _podman(base: Path, *args: str) -> list[str]:
    return ["podman", "--root", str(base / "storage"), "--runroot", str(base / "run"), *args]


def _env(base: Path) -> dict[str, str]:
    return {**os.environ, "CONTAINERS_CONF": str(base / "containers.conf")}

