"""The systemd backend against a real `systemd --user` manager: units, signals, exit statuses,
logs, hostile arguments, stand-ins, and `gpumod template install` through the CLI."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from gpumod.adapters.process.base import LaunchSpec, ProcessError
from gpumod.adapters.process.direct import DirectBackend
from gpumod.adapters.process.select import choose_backend
from gpumod.adapters.process.systemd import SystemdBackend, systemd_problem, systemd_usable
from gpumod.adapters.process.units import UnitMeta, installed_meta, render_unit, unit_name
from tests.conftest import EXAMPLES
from tests.integration.systemd_manager import UserManager, start_user_manager, unavailable

GUARD_S = 30.0  # how long to wait for a process before calling it hung; not a measurement
GPUMOD = Path(sys.executable).with_name("gpumod")

HTTP = """
import http.server, sys
class Health(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200); self.end_headers(); self.wfile.write(b"ok")
    def log_message(self, *args):
        pass
server = http.server.HTTPServer(("127.0.0.1", 0), Health)
open(sys.argv[1], "w").write(str(server.server_address[1]))
print("serving on", server.server_address[1], flush=True)
server.serve_forever()
"""

STUBBORN = """
import signal, sys, time
signal.signal(signal.SIGTERM, signal.SIG_IGN)
open(sys.argv[1], "w").write("ready")
while True:
    time.sleep(60)
"""

# Starts a grandchild in a session of its own (out of reach of a process-group kill).
ESCAPER = """
import subprocess, sys, time
child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"],
                         start_new_session=True)
open(sys.argv[1], "w").write(str(child.pid))
while True:
    time.sleep(60)
"""

# Records what it was given, as JSON, then waits to be stopped.
RECORDER = """
import json, os, sys, time
json.dump({"argv": sys.argv[2:], "env": dict(os.environ), "cwd": os.getcwd()},
          open(sys.argv[1] + ".tmp", "w"))
os.replace(sys.argv[1] + ".tmp", sys.argv[1])
while True:
    time.sleep(60)
"""

HOSTILE = ["a b", "$HOME", "${HOME}", "$$", "%h", "%%", "%n", ";", "&&", "|", "`id`", "$(id)",
           '"', "'", "\\", "\\x41", "\\n", "ü", "--flag=a;b", " lead", "trail ", '\\"', "a\\",
           "--x=\"$(rm -rf /)\"", "ExecStartPre=/bin/sh -c evil"]


@pytest.fixture(scope="session")
def manager(tmp_path_factory: pytest.TempPathFactory) -> Iterator[UserManager]:
    reason = unavailable()
    if reason is not None:
        pytest.skip(f"no real systemd --user manager: {reason}")
    started = start_user_manager(tmp_path_factory.mktemp("systemd-user"))
    try:
        yield started
    finally:
        started.stop()


@pytest.fixture
def backend(manager: UserManager, tmp_path: Path) -> Iterator[SystemdBackend]:
    backend = SystemdBackend(tmp_path / "state", manager.unit_dir, environ=manager.env)
    yield backend
    for unit in manager.unit_dir.glob("gpumod-*.service"):
        backend.stop(unit.name.removeprefix("gpumod-").removesuffix(".service"), timeout_s=1.0)
        manager.systemctl("reset-failed", unit.name)
        unit.unlink()
    manager.systemctl("daemon-reload")


Python = Callable[..., LaunchSpec]


@pytest.fixture
def python(tmp_path: Path) -> Python:
    """A LaunchSpec running `script` from a file: a unit's command line holds no line breaks."""
    count = iter(range(1000))

    def spec(script: str, *args: str, service_id: str = "svc", env: dict[str, str] | None = None,
             cwd: Path | None = None) -> LaunchSpec:
        path = tmp_path / f"script-{next(count)}.py"
        path.write_text(script)
        return LaunchSpec(service_id, (sys.executable, str(path), *args), env=env or {}, cwd=cwd)

    return spec


def eventually(check: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + GUARD_S
    while not check():
        if time.monotonic() > deadline:
            pytest.fail(f"not within {GUARD_S:.0f} s: {what}")
        time.sleep(0.02)


def read_when_written(path: Path) -> str:
    eventually(lambda: path.exists() and path.read_text() != "", f"{path} written")
    return path.read_text()


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[-1].split()[0]
    except OSError:
        return False
    return state != "Z"


def test_a_service_runs_as_a_user_unit_serves_and_stops(
        python: Python, backend: SystemdBackend, manager: UserManager, tmp_path: Path) -> None:
    port_file = tmp_path / "port"
    started = backend.start(python(HTTP, str(port_file)))
    assert started.running and started.pid is not None
    port = int(read_when_written(port_file))
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=GUARD_S) as reply:
        assert reply.status == 200
    info = backend.info("svc")
    assert info.running and info.pid == started.pid
    assert str(port_file).encode() in Path(f"/proc/{info.pid}/cmdline").read_bytes().split(b"\0")
    assert manager.systemctl("is-active", unit_name("svc")).stdout.strip() == "active"

    stopped = backend.stop("svc", timeout_s=GUARD_S)

    assert (stopped.running, stopped.pid, stopped.exit_code) == (False, started.pid,
                                                                 -signal.SIGTERM)
    assert not alive(started.pid)
    after = backend.info("svc")
    assert (after.running, after.exit_code) == (False, -signal.SIGTERM)
    assert manager.systemctl("is-active", unit_name("svc")).stdout.strip() == "inactive"
    tail = backend.log_tail("svc")
    assert tail[0].startswith("--- gpumod: svc starting (invocation ")
    assert tail[1] == f"serving on {port}"
    assert "code=killed status=TERM" in tail[-1]


def test_environment_working_directory_and_output_reach_the_log(
        python: Python, backend: SystemdBackend, tmp_path: Path) -> None:
    workdir = tmp_path / "work dir %h"
    workdir.mkdir()
    script = "import os; print(os.environ['GREETING'], os.getcwd(), flush=True); import sys; " \
             "print('to stderr', file=sys.stderr, flush=True); import time; time.sleep(600)"
    backend.start(python(script, env={"GREETING": "hello $HOME %h"}, cwd=workdir))
    eventually(lambda: "to stderr" in backend.log_tail("svc"), "output in the log")
    assert backend.log_tail("svc")[1:3] == [f"hello $HOME %h {workdir}", "to stderr"]
    assert backend.log_tail("svc", 1) == ["to stderr"]
    assert backend.log_tail("svc", 0) == []


def test_a_crashed_service_reports_its_exit_code(python: Python, backend: SystemdBackend) -> None:
    backend.start(python("import sys; print('failing', flush=True); sys.exit(3)"))
    eventually(lambda: not backend.info("svc").running, "the service exits")
    info = backend.info("svc")
    assert (info.running, info.exit_code) == (False, 3)
    assert "failing" in backend.log_tail("svc")
    stopped = backend.stop("svc", timeout_s=GUARD_S)  # nothing to stop: the same facts
    assert (stopped.running, stopped.exit_code) == (False, 3)


def test_a_service_ignoring_sigterm_is_killed_after_timeout_stop_sec(
        python: Python, manager: UserManager, tmp_path: Path) -> None:
    # gpumod would wait far longer: here systemd's own TimeoutStopSec=1 sends the SIGKILL.
    backend = SystemdBackend(tmp_path / "state", manager.unit_dir, environ=manager.env,
                             timeout_stop_s=1)
    ready = tmp_path / "ready"
    try:
        started = backend.start(python(STUBBORN, str(ready)))
        read_when_written(ready)
        assert "TimeoutStopSec=1s" in backend.unit_file("svc").read_text()

        stopped = backend.stop("svc", timeout_s=GUARD_S * 4)

        assert (stopped.running, stopped.exit_code) == (False, -signal.SIGKILL)
        assert not alive(started.pid or 0)
        assert "result=timeout code=killed status=KILL" in backend.log_tail("svc", 1)[0]
    finally:
        manager.systemctl("stop", unit_name("svc"))
        manager.systemctl("reset-failed", unit_name("svc"))


def test_gpumod_sends_sigkill_once_its_own_timeout_passes(
        python: Python, backend: SystemdBackend, tmp_path: Path) -> None:
    ready = tmp_path / "ready"
    started = backend.start(python(STUBBORN, str(ready)))  # TimeoutStopSec=30s in the unit
    read_when_written(ready)

    stopped = backend.stop("svc", timeout_s=0.2)

    assert (stopped.running, stopped.exit_code) == (False, -signal.SIGKILL)
    assert not alive(started.pid or 0)


def test_stop_ends_processes_that_left_the_process_group(
        python: Python, backend: SystemdBackend, tmp_path: Path) -> None:
    pid_file = tmp_path / "grandchild"
    backend.start(python(ESCAPER, str(pid_file)))
    grandchild = int(read_when_written(pid_file))
    assert alive(grandchild)

    backend.stop("svc", timeout_s=GUARD_S)

    assert not alive(grandchild)  # KillMode=control-group: the whole cgroup, not one group


def test_a_running_service_is_not_started_twice(
        python: Python, backend: SystemdBackend, tmp_path: Path) -> None:
    ready = tmp_path / "ready"
    first = backend.start(python(STUBBORN, str(ready)))
    read_when_written(ready)
    with pytest.raises(ProcessError, match=r"svc is already running as gpumod-svc\.service"):
        backend.start(python("print('second')"))
    assert backend.info("svc").pid == first.pid


def test_the_unit_is_rewritten_only_when_the_launch_changes(
        python: Python, backend: SystemdBackend, manager: UserManager, tmp_path: Path) -> None:
    script = "import time; time.sleep(600)"
    backend.start(python(script))
    unit = backend.unit_file("svc")
    first = unit.read_text()
    assert unit.parent == manager.unit_dir
    backend.stop("svc", timeout_s=GUARD_S)
    assert not backend.install("svc", first)  # same text: not written again

    backend.start(python(script, env={"NEW": "1"}))

    assert unit.read_text() != first and 'Environment="NEW=1"' in unit.read_text()
    shown = manager.systemctl("show", "-p", "NeedDaemonReload,FragmentPath", unit.name).stdout
    assert f"FragmentPath={unit}" in shown and "NeedDaemonReload=no" in shown


def test_a_unit_file_the_manager_has_not_reloaded_yet_is_reloaded_before_the_start(
        python: Python, backend: SystemdBackend, tmp_path: Path) -> None:
    # A failed unit stays loaded; its file was rewritten by a gpumod that stopped before the
    # daemon-reload. The start must not run the old version the manager still holds.
    backend.start(python("import sys; sys.exit(3)"))
    eventually(lambda: not backend.info("svc").running, "the first version exits")
    record = tmp_path / "got.json"
    fixed = python(RECORDER, str(record))
    unit = backend.unit_file("svc")
    unit.write_text(render_unit(fixed, installed_meta(unit.read_text()) or UnitMeta("x"),
                                backend.log_file("svc")))

    backend.start(fixed)

    assert json.loads(read_when_written(record))["argv"] == []


def test_a_program_that_cannot_run_fails_the_start_with_systemds_reason(
        backend: SystemdBackend, tmp_path: Path) -> None:
    not_executable = tmp_path / "server"
    not_executable.write_text("#!/bin/sh\n")
    with pytest.raises(ValueError, match=r"svc: program .*server.* is not an executable file"):
        backend.start(LaunchSpec("svc", (str(not_executable),)))
    with pytest.raises(ValueError, match=r"svc: program 'no-such-server-here' not found on PATH"):
        backend.start(LaunchSpec("svc", ("no-such-server-here", "--port", "1")))
    with pytest.raises(ProcessError, match="invalid service id"):
        backend.start(LaunchSpec("../evil", (sys.executable,)))


def test_hostile_arguments_and_environment_arrive_exactly_as_given(
        python: Python, backend: SystemdBackend, tmp_path: Path) -> None:
    record = tmp_path / "got.json"
    workdir = tmp_path / "a dir; with $HOME and %h"
    workdir.mkdir()
    env = {"HOSTILE": "$HOME %h \\ \" ' ; && `id`", "SPACED": " a b "}
    backend.start(python(RECORDER, str(record), *HOSTILE, env=env, cwd=workdir))
    got = json.loads(read_when_written(record))
    assert got["argv"] == HOSTILE
    assert {key: got["env"].get(key) for key in env} == env
    assert got["cwd"] == str(workdir)
    assert not (tmp_path / "evil").exists()


def test_a_stand_in_runs_under_systemd_sharing_the_simulated_gpu(
        manager: UserManager, tmp_path: Path) -> None:
    from gpumod.adapters.drivers.fastapi import FastApiDriver
    from gpumod.adapters.gpu.sim import SimulatedGpu
    from gpumod.adapters.net import port_in_use
    from gpumod.adapters.standins.launch import standin_spec
    from gpumod.adapters.yaml_files import load_service

    sim_file = tmp_path / "sim-gpu.json"
    definition = load_service(EXAMPLES / "presets/embedding/bge-large.yaml").definition.as_stored()
    definition["port"] = free_port()
    backend = SystemdBackend(tmp_path / "state", manager.unit_dir,
                             environ={**manager.env, "GPUMOD_SIM_GPU_FILE": str(sim_file)})
    try:
        # The user manager's environment lacks GPUMOD_SIM_GPU_FILE: the unit must carry it.
        backend.start(standin_spec(definition))
        driver = FastApiDriver()
        eventually(lambda: driver.health(definition).ready, "the stand-in is healthy")
        assert f'Environment="GPUMOD_SIM_GPU_FILE={sim_file}"' in \
            backend.unit_file("bge-large").read_text()
        held = {p.pid: p.used_mb for p in SimulatedGpu(sim_file, 24 * 1024).snapshot().processes}
        assert held.get(backend.info("bge-large").pid or 0) == definition["vram_mb"]
    finally:
        backend.stop("bge-large", timeout_s=GUARD_S)
        backend.unit_file("bge-large").unlink(missing_ok=True)
    assert not port_in_use(definition["port"])


def test_usable_only_where_a_user_manager_answers(
        manager: UserManager, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert systemd_usable(manager.env)
    elsewhere = tmp_path / "no-manager"
    elsewhere.mkdir(mode=0o700)
    nobody = {**manager.env, "XDG_RUNTIME_DIR": str(elsewhere)}
    assert not systemd_usable(nobody)
    assert systemd_problem(nobody)

    monkeypatch.setenv("XDG_RUNTIME_DIR", str(manager.runtime_dir))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(manager.config_dir))
    chosen = choose_backend(None, tmp_path)
    assert isinstance(chosen, SystemdBackend) and chosen.unit_dir == manager.unit_dir
    assert isinstance(choose_backend("systemd", tmp_path), SystemdBackend)
    assert isinstance(choose_backend("direct", tmp_path), DirectBackend)

    monkeypatch.setenv("XDG_RUNTIME_DIR", str(elsewhere))
    assert isinstance(choose_backend(None, tmp_path), DirectBackend)
    with pytest.raises(ProcessError, match=r"`systemctl --user` fails here \(.+\); "
                                           r"use --process-backend direct"):
        choose_backend("systemd", tmp_path)


def test_logs_of_a_service_that_never_ran_are_empty(backend: SystemdBackend) -> None:
    # No log file, and journalctl has no journal to read in this manager: nothing, no error.
    assert backend.log_tail("never-ran") == []
    assert backend.info("never-ran") == backend.stop("never-ran", timeout_s=1)
    assert not backend.info("never-ran").running


def test_template_install_through_the_cli(manager: UserManager, tmp_path: Path) -> None:
    # A real example preset, its binary a stub on PATH that records the arguments it gets.
    bin_dir, home = tmp_path / "bin", tmp_path / "home"
    bin_dir.mkdir()
    home.mkdir()
    record = tmp_path / "argv.json"
    stub = bin_dir / "llama-server"
    stub.write_text(f"#!{sys.executable}\n" + RECORDER.replace("sys.argv[1]", repr(str(record)))
                    .replace("sys.argv[2:]", "sys.argv[1:]"))
    stub.chmod(0o755)
    env = {**manager.env, "GPUMOD_DB": str(tmp_path / "gpumod.db"), "HOME": str(home),
           "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}"}
    preset = EXAMPLES / "presets/llm/qwen3-coder-multi.yaml"
    cli(env, "service", "add", str(preset))
    unit = manager.unit_dir / "gpumod-qwen3-coder-multi.service"

    refused = cli(env, "template", "install", "qwen3-coder-multi", check=False)
    assert refused.returncode == 1
    assert f"would write {unit}" in refused.stderr and "--yes" in refused.stderr
    assert not unit.exists()

    generated = cli(env, "template", "generate", "qwen3-coder-multi").stdout
    installed = cli(env, "template", "install", "qwen3-coder-multi", "--yes")
    try:
        assert unit.read_text() == generated
        assert f"wrote {unit}" in installed.stdout
        assert "Description=Qwen3-Coder-30B-A3B Multi-Agent" in generated
        shown = manager.systemctl("show", "-p", "LoadState,FragmentPath,NeedDaemonReload",
                                  unit.name).stdout
        assert f"FragmentPath={unit}" in shown and "LoadState=loaded" in shown
        assert "NeedDaemonReload=no" in shown
        assert "unchanged:" in cli(env, "template", "install", "qwen3-coder-multi",
                                   "--yes").stdout

        assert manager.systemctl("start", unit.name).returncode == 0
        argv = json.loads(read_when_written(record))["argv"]
        assert argv == ["-m", f"{home}/bin/Qwen3-Coder-30B-A3B-Instruct-Q4_K_M.gguf",
                        "--port", "7070", "--host", "127.0.0.1", "-c", "40960", "-ngl", "-1",
                        "--jinja", "--parallel", "5", "--cont-batching", "--threads", "16"]
    finally:
        manager.systemctl("stop", unit.name)
        unit.unlink(missing_ok=True)
        manager.systemctl("daemon-reload")


def test_template_commands_name_what_is_missing(manager: UserManager, tmp_path: Path) -> None:
    env = {**manager.env, "GPUMOD_DB": str(tmp_path / "gpumod.db"), "PATH": "/nonexistent"}
    cli(env, "service", "add", str(EXAMPLES / "presets/llm/vllm-chat.yaml"))
    missing = cli(env, "template", "generate", "nope", check=False)
    assert missing.returncode == 1 and "no service 'nope' is registered" in missing.stderr
    no_binary = cli(env, "template", "generate", "vllm-chat", check=False)
    assert no_binary.returncode == 1
    assert "vllm-chat: program 'vllm' not found on PATH" in no_binary.stderr


def cli(env: dict[str, str], *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    done = subprocess.run([str(GPUMOD), *args], capture_output=True, text=True, env=env,
                          timeout=GUARD_S)
    if check and done.returncode != 0:
        pytest.fail(f"gpumod {' '.join(args)} failed ({done.returncode}): {done.stderr}")
    return done


def free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])

