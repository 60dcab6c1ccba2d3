"""Starting a stand-in as a real process from tests and benchmarks (stdlib only, bounded waits)."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class StandInProcess:
    kind: str
    service_id: str
    port: int
    proc: subprocess.Popen[bytes]
    log_path: Path

    @property
    def pid(self) -> int:
        return self.proc.pid

    def output(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def get(self, path: str, timeout: float = 2.0) -> tuple[int | None, Any]:
        """(status, JSON body or text); (None, reason) when nothing answers."""
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.port}{path}",
                                        timeout=timeout) as response:
                return response.status, _decode(response.read())
        except urllib.error.HTTPError as exc:
            return exc.code, _decode(exc.read())
        except OSError as exc:
            return None, str(exc)

    def state(self) -> dict[str, Any]:
        status, body = self.get("/standin/state")
        if status != 200 or not isinstance(body, dict):
            raise RuntimeError(f"stand-in state unavailable: {status} {body}")
        return body

    def wait_listening(self, timeout: float = 15.0) -> None:
        """Until the port answers any HTTP (not necessarily healthy)."""
        self._until(lambda: self.get("/standin/state", timeout=0.5)[0] is not None, timeout,
                    "listening")

    def wait_ready(self, timeout: float = 15.0) -> None:
        self._until(lambda: self.get("/standin/state", timeout=0.5)[0] == 200
                    and self.state()["ready"], timeout, "ready")

    def wait_exit(self, timeout: float = 15.0) -> int:
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            raise RuntimeError(f"stand-in did not exit in {timeout} s:\n{self.output()}") from None

    def stop(self, timeout: float = 10.0) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                return self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        return self.proc.wait(timeout)

    def _until(self, check: Any, timeout: float, what: str) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"stand-in exited ({self.proc.returncode}) before {what}:\n"
                                   f"{self.output()}")
            if check():
                return
            time.sleep(0.02)
        raise RuntimeError(f"stand-in not {what} after {timeout} s:\n{self.output()}")


def start_standin(kind: str, sim_gpu_file: Path, *, service_id: str = "svc", vram_mb: int = 1000,
                  port: int | None = None, behaviour: Mapping[str, Any] | None = None,
                  args: Sequence[str] = (), env: Mapping[str, str] | None = None,
                  total_mb: int | None = None, log_dir: Path | None = None) -> StandInProcess:
    port = port or free_port()
    argv = [sys.executable, "-m", "gpumod.adapters.standins", kind, "--port", str(port),
            "--service-id", service_id, "--vram-mb", str(vram_mb),
            "--sim-gpu-file", str(sim_gpu_file), *args]
    if total_mb is not None:
        argv += ["--sim-gpu-total-mb", str(total_mb)]
    if behaviour:
        argv += ["--behaviour", json.dumps(dict(behaviour))]
    return launch(kind, service_id, port, argv, env, log_dir or sim_gpu_file.parent)


def launch(kind: str, service_id: str, port: int, argv: Sequence[str],
           env: Mapping[str, str] | None, log_dir: Path) -> StandInProcess:
    log_path = log_dir / f"{service_id}-{port}.log"
    full_env = {k: val for k, val in os.environ.items() if k != "VLLM_SERVER_DEV_MODE"}
    full_env.update(env or {})
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(list(argv), stdout=log, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, env=full_env, start_new_session=True)
    return StandInProcess(kind, service_id, port, proc, log_path)


def _decode(raw: bytes) -> Any:
    try:
        return json.loads(raw) if raw else None
    except ValueError:
        return raw.decode(errors="replace")
