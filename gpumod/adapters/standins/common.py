"""What every stand-in shares: behaviour, arguments, memory in the simulated GPU, the HTTP server,
start-up, crash and SIGTERM handling. The behaviour keys are documented in the package docstring.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socketserver
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, fields
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar
from urllib.parse import parse_qs, urlsplit

from gpumod.adapters.gpu.sim import SimulatedGpu

DEFAULT_TOTAL_MB = 24576
MIB = 1024 * 1024


@dataclass(frozen=True)
class Behaviour:
    load_s: float = 0.5
    real_vram_mb: int | None = None
    crash_after_s: float | None = None
    oom: bool = False
    health_fail: bool | float = False
    release_delay_s: float = 0.0
    sleep_404: bool = False
    model_load_s: float = 0.5
    action_s: float = 0.0
    sleep_l1_mb: int = 512
    sleep_l2_mb: int = 256

    @classmethod
    def parse(cls, raw: str | dict[str, Any] | None) -> Behaviour:
        data = json.loads(raw) if isinstance(raw, str) else (raw or {})
        if not isinstance(data, dict):
            raise ValueError("behaviour must be a JSON object")
        known = {f.name for f in fields(cls)}
        for key, value in data.items():
            if key not in known:
                raise ValueError(f"unknown behaviour key {key!r} "
                                 f"(accepted: {', '.join(sorted(known))})")
            _check(key, value)
        return cls(**data)

    def to_json(self) -> str:
        """Only what differs from the defaults, compactly (one argv element)."""
        defaults = asdict(Behaviour())
        return json.dumps({k: v for k, v in asdict(self).items() if defaults[k] != v},
                          separators=(",", ":"), sort_keys=True)


def _check(key: str, value: Any) -> None:
    flags = ("oom", "sleep_404")
    if key in flags:
        ok = isinstance(value, bool)
    elif key == "health_fail":
        ok = isinstance(value, bool) or (isinstance(value, int | float) and value >= 0)
    elif key in ("real_vram_mb", "sleep_l1_mb", "sleep_l2_mb"):
        ok = (value is None and key == "real_vram_mb") or (
            isinstance(value, int) and not isinstance(value, bool) and value >= 0)
    elif key == "crash_after_s":
        ok = value is None or (isinstance(value, int | float) and not isinstance(value, bool)
                               and value >= 0)
    else:
        ok = isinstance(value, int | float) and not isinstance(value, bool) and value >= 0
    if not ok:
        raise ValueError(f"behaviour {key}: bad value {value!r}")


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m gpumod.adapters.standins",
                                description="a stand-in inference server on the simulated GPU")
    p.add_argument("kind", choices=("vllm", "llamacpp", "mistralrs", "fastapi"))
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--service-id", required=True)
    p.add_argument("--vram-mb", type=int, required=True)
    p.add_argument("--sim-gpu-file", default=os.environ.get("GPUMOD_SIM_GPU_FILE"))
    p.add_argument("--sim-gpu-total-mb", type=int,
                   default=int(os.environ.get("GPUMOD_SIM_GPU_TOTAL_MB", DEFAULT_TOTAL_MB)))
    p.add_argument("--sim-gpu-release-s", type=float,
                   default=float(os.environ.get("GPUMOD_SIM_GPU_RELEASE_S", "1.0")))
    p.add_argument("--behaviour", default=None, help="JSON object, see the package docstring")
    p.add_argument("--model", default=None)
    p.add_argument("--enable-sleep-mode", action="store_true")
    p.add_argument("--models-dir", default=None)
    p.add_argument("--models-max", type=int, default=0)
    p.add_argument("--no-models-autoload", action="store_true")
    p.add_argument("--health-path", default="/health")
    p.add_argument("--sleep-path", default=None)
    p.add_argument("--wake-path", default=None)
    return p


@dataclass
class Reply:
    status: int
    body: Any = None  # dict/list -> JSON, str -> text, None -> empty
    reason: str | None = None


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    query: dict[str, list[str]]
    body: Any
    raw_query: str = ""

    def param(self, name: str) -> str | None:
        values = self.query.get(name)
        return values[0] if values else None


Route = Callable[[Request], Reply]


class StandIn:
    """One stand-in server. Subclasses set the kind, routes, and the lines the real one prints."""

    kind: ClassVar[str] = ""
    listens_while_loading: ClassVar[bool] = False
    exit_code_on_oom: ClassVar[int] = 1

    def __init__(self, args: argparse.Namespace, behaviour: Behaviour, gpu: SimulatedGpu) -> None:
        self.args, self.b, self.gpu = args, behaviour, gpu
        self.pid = os.getpid()
        self.port: int = args.port
        self.model: str = args.model or args.service_id
        self.size_mb: int = (behaviour.real_vram_mb if behaviour.real_vram_mb is not None
                             else args.vram_mb)
        self.started = time.monotonic()
        self.ready_at: float | None = None
        self.lock = threading.RLock()
        self.requests: list[str] = []
        self.held_mb = 0

    # ----- what subclasses provide
    def routes(self) -> dict[tuple[str, str], Route]:
        return {}

    def startup_lines(self) -> list[str]:
        return []

    def ready_lines(self) -> list[str]:
        return []

    def oom_lines(self, need_mb: int, free_mb: int) -> list[str]:
        return [f"CUDA out of memory: needed {need_mb} MiB, {free_mb} MiB free"]

    def crash_lines(self) -> list[str]:
        return ["CUDA error: an illegal memory access was encountered"]

    def shutdown_lines(self) -> list[str]:
        return []

    def not_found(self) -> Reply:
        return Reply(404, {"detail": "Not Found"})

    def state(self) -> dict[str, Any]:
        return {}

    def begin_load(self) -> None:
        """Called at start: the CUDA context appears before the weights."""
        self.hold(min(self.size_mb, self.b.sleep_l2_mb))

    def finish_load(self) -> bool:
        """Called after load_s: hold the full size, or print the OOM failure and return False."""
        return self.claim(self.size_mb)

    # ----- shared machinery
    def log(self, *lines: str) -> None:
        for line in lines:
            print(line, file=sys.stderr, flush=True)

    def hold(self, mb: int) -> None:
        with self.lock:
            self.held_mb = mb
            self.gpu.allocate(self.pid, mb, f"{self.kind}-standin:{self.args.service_id}")

    def available_mb(self) -> int:
        """What this process could hold in all: free memory plus what it holds already."""
        snapshot = self.gpu.snapshot()
        mine = sum(p.used_mb for p in snapshot.processes if p.pid == self.pid)
        return max(snapshot.total_mb - (snapshot.used_mb - mine), 0)

    def claim(self, need_mb: int) -> bool:
        """Hold `need_mb` in all if it fits (and no oom is forced); else print the OOM error."""
        with self.lock:
            available = self.available_mb()
            if not self.b.oom and need_mb <= available:
                self.hold(need_mb)
                return True
            self.hold(min(available, max(self.held_mb, need_mb // 2)))
            self.log(*self.oom_lines(need_mb, max(available - self.held_mb, 0)))
            return False

    def ready(self) -> bool:
        return self.ready_at is not None

    def health_failing(self) -> bool:
        fail = self.b.health_fail
        if fail is False or self.ready_at is None:
            return False
        if fail is True:
            return True
        return time.monotonic() - self.ready_at >= float(fail)

    def act(self) -> None:
        if self.b.action_s:
            time.sleep(self.b.action_s)

    def dispatch(self, request: Request) -> Reply:
        if request.method != "GET":
            with self.lock:
                self.requests.append(f"{request.method} {request.path}"
                                     + (f"?{request.raw_query}" if request.raw_query else ""))
        if request.method == "GET" and request.path == "/standin/state":
            with self.lock:
                return Reply(200, {"kind": self.kind, "service_id": self.args.service_id,
                                   "ready": self.ready(), "held_mb": self.held_mb,
                                   # CLOCK_MONOTONIC is system-wide: benchmarks compare it
                                   "ready_at_monotonic": self.ready_at,
                                   "requests": list(self.requests), **self.state()})
        route = self.routes().get((request.method, request.path))
        return route(request) if route else self.not_found()


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    standin: StandIn

    def server_bind(self) -> None:
        # HTTPServer.server_bind resolves the host name (getfqdn), which can stall without DNS.
        socketserver.TCPServer.server_bind(self)
        host, port = self.server_address[:2]
        self.server_name, self.server_port = str(host), int(port)


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.0"  # one request per connection: nothing answers after shutdown

    def _handle(self) -> None:
        standin = self.server.standin
        split = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            self._send(Reply(400, {"error": "body is not JSON"}))
            return
        request = Request(self.command, split.path, parse_qs(split.query), body, split.query)
        try:
            reply = standin.dispatch(request)
        except Exception as exc:  # a stand-in bug must show, not hang the client
            reply = Reply(500, {"error": f"{type(exc).__name__}: {exc}"})
        if self.command != "GET":
            standin.log(f'INFO:     127.0.0.1:{self.client_address[1]} - "{self.command} '
                        f'{self.path} HTTP/1.1" {reply.status}')
        self._send(reply)

    def _send(self, reply: Reply) -> None:
        if isinstance(reply.body, dict | list):
            payload, ctype = json.dumps(reply.body).encode(), "application/json"
        elif isinstance(reply.body, str):
            payload, ctype = reply.body.encode(), "text/plain; charset=utf-8"
        else:
            payload, ctype = b"", "text/plain"
        try:
            self.send_response(reply.status, reply.reason)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(payload)))
            self.send_header("Connection", "close")
            self.end_headers()
            self.wfile.write(payload)
        except (BrokenPipeError, ConnectionResetError):
            pass

    do_GET = do_POST = do_PUT = do_DELETE = _handle

    def log_message(self, format: str, *args: Any) -> None:
        pass


def run(cls: type[StandIn], argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        behaviour = Behaviour.parse(args.behaviour)
    except ValueError as exc:
        print(f"stand-in: {exc}", file=sys.stderr, flush=True)
        return 2
    if not args.sim_gpu_file:
        print("stand-in: no simulated GPU: give --sim-gpu-file or set GPUMOD_SIM_GPU_FILE",
              file=sys.stderr, flush=True)
        return 2
    gpu = SimulatedGpu(Path(args.sim_gpu_file), args.sim_gpu_total_mb,
                       release_delay_s=args.sim_gpu_release_s)
    standin = cls(args, behaviour, gpu)
    stop = threading.Event()

    def on_signal(signum: int, _frame: Any) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    standin.log(f"gpumod stand-in for {cls.kind}, service {args.service_id}, pid {standin.pid}, "
                f"port {args.port}, on the simulated GPU", *standin.startup_lines())
    if behaviour.crash_after_s is not None:
        _crash_timer(standin, behaviour.crash_after_s)

    server: _Server | None = None
    if cls.listens_while_loading:
        server = _serve(standin)
        if server is None:
            return 1
    standin.begin_load()
    if stop.wait(behaviour.load_s):
        return _shutdown(standin, server, stop)
    if not standin.finish_load():
        if server is not None:
            server.shutdown()
            server.server_close()
        return cls.exit_code_on_oom
    if server is None:
        server = _serve(standin)
        if server is None:
            return 1
    standin.ready_at = time.monotonic()
    standin.log(*standin.ready_lines())
    while not stop.wait(1.0):
        pass
    return _shutdown(standin, server, stop)


def _serve(standin: StandIn) -> _Server | None:
    try:
        server = _Server((standin.args.host, standin.port), _Handler)
    except OSError as exc:
        standin.log(f"ERROR:    [Errno {exc.errno}] error while attempting to bind on address "
                    f"('{standin.args.host}', {standin.port}): {exc.strerror}")
        return None
    server.standin = standin
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                     name="http", daemon=True).start()
    return server


def _shutdown(standin: StandIn, server: _Server | None, stop: threading.Event) -> int:
    standin.log(*standin.shutdown_lines())
    if server is not None:
        server.shutdown()
        server.server_close()
    if standin.b.release_delay_s:
        standin.log(f"(stand-in) tearing down: holding {standin.held_mb} MiB for "
                    f"{standin.b.release_delay_s:g} s more")
        time.sleep(standin.b.release_delay_s)
    return 0


def _crash_timer(standin: StandIn, after_s: float) -> None:
    def crash() -> None:
        standin.log(*standin.crash_lines())
        os._exit(1)

    timer = threading.Timer(max(after_s - (time.monotonic() - standin.started), 0), crash)
    timer.daemon = True
    timer.start()


def gib(mb: float) -> str:
    return f"{mb / 1024:.2f} GiB"
