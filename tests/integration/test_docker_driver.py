"""The docker driver against a real Docker-compatible engine (podman's Docker API): presets as
the original gpumod documented them, refusals, containers started, probed, logged, crashed,
stopped, and a service started and stopped through the `gpumod` command."""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import docker
import pytest
import yaml

from gpumod.adapters.drivers.docker import DockerDriver
from gpumod.adapters.drivers.registry import driver_for
from gpumod.adapters.process.base import LaunchSpec, ProcessError
from gpumod.adapters.process.direct import DirectBackend
from gpumod.adapters.process.docker import DockerBackend
from gpumod.adapters.process.docker_engine import LABEL
from gpumod.adapters.process.routing import RoutingBackend
from gpumod.adapters.yaml_files import DefinitionError, load_service
from tests.e2e.conftest import Gpumod
from tests.integration.podman_engine import IMAGE, PodmanEngine, start_engine, unavailable

DOCUMENTED = Path(__file__).with_name("docker_presets") / "ollama.yaml"
REQUIRE = "GPUMOD_REQUIRE_DOCKER_ENGINE"  # set (as CI should): no engine fails, not skips
GUARD_S = 30.0  # how long to wait for a container before calling it hung; not a measurement
# Serves /www (which has /health) until SIGTERM, then says so and exits 0.
SERVE = ("trap 'echo stopping; exit 0' TERM; echo serving; httpd -f -p 8080 -h /www & wait")


@pytest.fixture(scope="session")
def engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PodmanEngine]:
    reason = unavailable()
    if reason is not None and os.environ.get(REQUIRE, "") not in ("", "0"):
        pytest.fail(f"{REQUIRE} is set but there is no Docker-compatible engine: {reason}")
    if reason is not None:
        pytest.skip(f"no Docker-compatible engine: {reason}")
    started = start_engine(tmp_path_factory.mktemp("podman"))
    try:
        yield started
    finally:
        started.stop()


@pytest.fixture
def docker_host(engine: PodmanEngine, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("DOCKER_HOST", engine.docker_host)
    return engine.docker_host


@pytest.fixture
def client(docker_host: str) -> docker.DockerClient:
    return docker.DockerClient(base_url=docker_host, timeout=int(GUARD_S))


@pytest.fixture
def backend(docker_host: str, tmp_path: Path) -> Iterator[DockerBackend]:
    backend = DockerBackend(tmp_path / "state")
    yield backend
    for record in (tmp_path / "state" / "run").glob("*.container"):
        backend.stop(record.stem, timeout_s=1)


Preset = Callable[..., dict[str, Any]]


@pytest.fixture
def preset(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Preset:
    """A docker preset of the test image on a free port, written as YAML and loaded by the
    normal preset loader; `extra` is merged into its extra_config."""
    monkeypatch.setenv("HOME", str(tmp_path))

    def make(sid: str = "web", command: str = SERVE, **extra: Any) -> dict[str, Any]:
        port = free_port()
        raw = {"id": sid, "name": sid.title(), "driver": "docker", "port": port, "vram_mb": 0,
               "startup_timeout": 20, "extra_config": {
                   "image": IMAGE, "command": ["/bin/sh", "-c", command],
                   "ports": [f"{port}:8080"], **extra}}
        path = tmp_path / f"{sid}.yaml"
        path.write_text(yaml.safe_dump(raw))
        return load_service(path).definition.as_stored()

    return make


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def eventually(check: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + GUARD_S
    while not check():
        if time.monotonic() > deadline:
            pytest.fail(f"not within {GUARD_S:.0f} s: {what}")
        time.sleep(0.05)


def start(backend: DockerBackend, definition: dict[str, Any]) -> None:
    backend.start(DockerDriver().launch_spec(definition))


# -- presets: the documented format loads, refusals name the field ---------------------------

def test_the_original_documented_docker_preset_loads_through_service_add(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "home" / "ollama-models").mkdir(parents=True)
    gpumod = Gpumod(tmp_path / "gpumod.db", tmp_path / "home")
    gpumod.ok("service", "add", str(DOCUMENTED))

    [row] = gpumod.ok("service", "list", "--json").json()
    assert (row["id"], row["driver"], row["port"]) == ("ollama", "docker", 11434)
    [registered] = gpumod.history("--type", "ServiceRegistered")
    stored = registered["data"]["definition"]
    assert stored == yaml.safe_load(DOCUMENTED.read_text())  # every field kept as written

    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    spec = driver_for("docker").launch_spec(stored)
    config = spec.container  # type: ignore[attr-defined]
    assert (config.image, config.ports, config.runtime) == (
        "ollama/ollama:latest", {"11434/tcp": 11434}, "nvidia")
    assert [(m.source, m.target) for m in config.mounts] == [
        (str(tmp_path / "home" / "ollama-models"), "/root/.ollama")]
    assert spec.env == {"OLLAMA_MODELS": "/root/.ollama", "OLLAMA_NUM_PARALLEL": "2"}
    assert spec.argv == ()  # the image's own command


@pytest.mark.parametrize(("extra", "message"), [
    ({"privileged": True}, r"extra_config\.privileged: True is refused: privileged containers"),
    ({"network_mode": "host"}, r"extra_config\.network_mode: 'host' is refused: only 'bridge' is "
     r"accepted \(host networking"),
    ({"pid_mode": "host"}, r"extra_config\.pid_mode: 'host' is refused"),
    ({"cap_add": ["SYS_ADMIN"]}, r"extra_config\.cap_add: \['SYS_ADMIN'\] is refused"),
    ({"devices": ["/dev/sda"]}, r"extra_config\.devices: .* is refused"),
    ({"volumes": {"/etc": "/host-etc"}}, r"extra_config\.volumes: host path /etc .*outside the "
     r"allowed roots .*GPUMOD_DOCKER_MOUNT_ROOTS"),
    ({"volumes": ["/var/run/docker.sock:/var/run/docker.sock"]}, r"outside the allowed roots"),
    ({"volumes": {"./data": "/data"}}, r"host path './data' must be absolute"),
    ({"volumes": {"~/data": "data"}}, r"container path 'data' must be absolute"),
    ({"ports": ["0.0.0.0:8080:8080"]}, r"extra_config\.ports: .* on 127\.0\.0\.1 only"),
    ({"ports": ["9999:8080"]}, r"extra_config\.ports publishes no container port on the "
     r"preset's port"),
    ({"environment": {"BAD NAME": "x"}}, r"extra_config\.environment: 'BAD NAME' is not a valid"),
    ({"gpus": "some"}, r"extra_config\.gpus must be 'all', a count"),
    ({"runtime": "kata"}, r"extra_config\.runtime must be one of runc, crun, nvidia"),
    ({"image": "bad image"}, r"extra_config\.image must name an image"),
    ({"restart": "always"}, r"extra_config: unknown key 'restart' \(accepted keys: image, "),
])
def test_a_refused_or_malformed_docker_preset_is_an_error_naming_file_and_field(
        tmp_path: Path, extra: dict[str, Any], message: str) -> None:
    raw = {"id": "web", "name": "Web", "driver": "docker", "port": 9000, "vram_mb": 0,
           "extra_config": {"image": "localhost/web:1", "ports": ["9000:8080"], **extra}}
    path = tmp_path / "web.yaml"
    path.write_text(yaml.safe_dump(raw))
    with pytest.raises(DefinitionError, match=message) as refused:
        load_service(path)
    assert str(refused.value).startswith(f"{path}: field 'extra_config': ")


def test_a_symbolic_link_out_of_the_allowed_roots_is_refused(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    (tmp_path / "models").symlink_to("/etc")
    definition = {"id": "web", "driver": "docker", "port": 9000,
                  "extra_config": {"image": "localhost/web:1", "volumes": {"~/models": "/m"}}}
    with pytest.raises(ValueError, match=r"host path .*/models \(resolved: /etc\) is outside"):
        DockerDriver().launch_spec(definition)
    monkeypatch.setenv("GPUMOD_DOCKER_MOUNT_ROOTS", "/etc")  # the allow-list is the user's
    assert DockerDriver().launch_spec(definition).container.mounts[0].source == "/etc"


def test_extra_config_elsewhere_unit_vars_on_docker_and_no_image_are_refused(
        tmp_path: Path) -> None:
    path = tmp_path / "p.yaml"
    path.write_text(yaml.safe_dump({"id": "v", "name": "V", "driver": "vllm", "vram_mb": 1,
                                    "extra_config": {"image": "x"}}))
    with pytest.raises(DefinitionError, match=r"only driver 'docker' reads extra_config"):
        load_service(path)
    path.write_text(yaml.safe_dump({"id": "d", "name": "D", "driver": "docker", "vram_mb": 1,
                                    "port": 9000, "unit_vars": {"image": "x"},
                                    "extra_config": {"image": "x"}}))
    with pytest.raises(DefinitionError, match=r"unknown unit_vars key 'image' for driver"):
        load_service(path)
    path.write_text(yaml.safe_dump({"id": "d", "name": "D", "driver": "docker", "vram_mb": 1,
                                    "port": 9000}))
    bare = load_service(path).definition.as_stored()  # a docker preset with no container yet
    with pytest.raises(ValueError, match=r"docker preset 'd' needs extra_config with at least "
                       r"an image"):
        DockerDriver().launch_spec(bare)


def test_a_missing_host_folder_is_refused_at_launch(preset: Preset, tmp_path: Path) -> None:
    definition = preset(volumes={"~/absent": "/data"})  # loads: the folder may come later
    with pytest.raises(ValueError, match=r"host path .*/absent does not exist; create it"):
        DockerDriver().launch_spec(definition)


# -- containers on the engine ----------------------------------------------------------------

def test_a_container_starts_answers_health_logs_and_stops_cleanly(
        preset: Preset, backend: DockerBackend, client: docker.DockerClient) -> None:
    definition = preset()
    driver = DockerDriver()
    started = backend.start(driver.launch_spec(definition))
    assert started.running and started.pid is not None
    assert os.path.exists(f"/proc/{started.pid}")  # a host pid: GPU memory is measured by pid
    eventually(lambda: driver.health(definition).ready, "health answers 2xx")
    assert driver.health(definition).status == 200
    assert backend.info("web").running
    eventually(lambda: "serving" in backend.log_tail("web"), "the log shows the start")

    [container] = client.containers.list(filters={"label": f"{LABEL}=web"})
    host = container.attrs["HostConfig"]
    assert host["Privileged"] is False
    assert host["PortBindings"]["8080/tcp"] == [
        {"HostIp": "127.0.0.1", "HostPort": str(definition["port"])}]

    stopped = backend.stop("web", timeout_s=10)
    assert (stopped.running, stopped.exit_code) == (False, 0)
    assert backend.info("web") == stopped
    assert backend.log_tail("web")[-1] == "stopping"  # kept after the stop, for post-mortems
    assert not driver.health(definition).ready
    assert backend.stop("web", timeout_s=1).running is False  # stopping twice is harmless


def test_command_environment_and_volumes_reach_the_container(
        preset: Preset, backend: DockerBackend, tmp_path: Path) -> None:
    (tmp_path / "shared").mkdir()
    definition = preset(
        command="env > /data/env; echo done > /data/done; " + SERVE,
        environment={"GREETING": "hello world", "PARALLEL": 2, "EMPTY": ""},
        volumes={"~/shared": "/data"})
    start(backend, definition)
    eventually(lambda: (tmp_path / "shared" / "done").exists(), "the container wrote its env")
    env = (tmp_path / "shared" / "env").read_text().splitlines()
    assert {"GREETING=hello world", "PARALLEL=2", "EMPTY="} <= set(env)


def test_a_read_only_volume_cannot_be_written(preset: Preset, backend: DockerBackend,
                                              tmp_path: Path) -> None:
    (tmp_path / "models").mkdir()
    definition = preset(command="echo x > /models/f 2>&1; echo wrote=$?; exit 0",
                        volumes=["~/models:/models:ro"])
    start(backend, definition)
    eventually(lambda: not backend.info("web").running, "the container exited")
    assert not (tmp_path / "models" / "f").exists()
    assert "wrote=1" in backend.log_tail("web")


def test_a_crash_is_seen_with_its_exit_code_and_log(preset: Preset,
                                                    backend: DockerBackend) -> None:
    start(backend, preset(command="echo loading; echo 'CUDA out of memory' >&2; exit 7"))
    eventually(lambda: not backend.info("web").running, "the container exited")
    info = backend.info("web")
    assert (info.pid, info.exit_code) == (None, 7)
    assert backend.log_tail("web") == ["loading", "CUDA out of memory"]
    assert backend.log_tail("web", lines=1) == ["CUDA out of memory"]
    start(backend, preset(command=SERVE))  # a new start replaces the exited container
    assert backend.info("web").running


def test_a_container_that_ignores_sigterm_is_killed_after_the_timeout(
        preset: Preset, backend: DockerBackend) -> None:
    start(backend, preset(command="trap '' TERM; echo up; while true; do sleep 1; done"))
    eventually(lambda: "up" in backend.log_tail("web"), "the container runs its trap")
    began = time.monotonic()
    stopped = backend.stop("web", timeout_s=1)
    assert time.monotonic() - began < GUARD_S
    assert (stopped.running, stopped.exit_code) == (False, 137)  # SIGKILL


def test_a_missing_image_is_a_clear_error_and_is_never_pulled(
        preset: Preset, backend: DockerBackend, client: docker.DockerClient) -> None:
    images_before = {image.id for image in client.images.list()}
    definition = preset(image="localhost/not-pulled:1")
    with pytest.raises(ProcessError, match=r"starting web: image localhost/not-pulled:1 is not "
                       r"on the Docker engine .*gpumod never pulls images: pull or build it "
                       r"yourself \(`docker pull localhost/not-pulled:1`\)"):
        start(backend, definition)
    assert {image.id for image in client.images.list()} == images_before
    assert client.containers.list(all=True, filters={"name": "gpumod-web"}) == []
    assert backend.info("web").running is False


def test_a_second_start_and_a_stranger_with_our_name_are_refused(
        preset: Preset, backend: DockerBackend, client: docker.DockerClient) -> None:
    start(backend, preset())
    with pytest.raises(ProcessError, match=r"web is already running \(container "):
        start(backend, preset())
    stranger = client.containers.create(IMAGE, ["/bin/sleep", "60"], name="gpumod-other")
    try:
        with pytest.raises(ProcessError, match=r"a container named gpumod-other .* exists that "
                           r"gpumod did not create"):
            start(backend, preset(sid="other"))
        assert client.containers.get("gpumod-other").id == stranger.id  # left alone
    finally:
        stranger.remove(force=True)


def test_an_unreachable_engine_is_a_clear_error(tmp_path: Path, preset: Preset,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path}/no-engine.sock")
    with pytest.raises(ProcessError, match=r"connecting to the Docker engine \(engine at "
                       r"unix://.*no-engine\.sock\)"):
        start(DockerBackend(tmp_path / "state"), preset())


def test_the_routing_backend_sends_containers_to_the_engine_and_the_rest_to_the_host(
        preset: Preset, docker_host: str, tmp_path: Path) -> None:
    routing = RoutingBackend(DirectBackend(tmp_path / "state"), tmp_path / "state")
    assert routing.name == "direct"
    routing.start(DockerDriver().launch_spec(preset()))
    assert routing.info("web").running and routing.records.has("web")
    assert routing.stop("web", timeout_s=10).exit_code == 0
    host = LaunchSpec("web", ("/bin/sh", "-c", "echo on the host; exec sleep 60"))
    started = routing.start(host)  # the same service, now a host process
    assert not routing.records.has("web")
    assert routing.info("web") == DirectBackend(tmp_path / "state").info("web")
    assert routing.info("web").pid == started.pid
    routing.stop("web", timeout_s=5)


# -- the whole path: gpumod service start/stop ------------------------------------------------

def test_gpumod_starts_and_stops_a_docker_service(preset: Preset, docker_host: str,
                                                  tmp_path: Path,
                                                  client: docker.DockerClient) -> None:
    definition = preset()
    gpumod = Gpumod(tmp_path / "gpumod.db", tmp_path)
    gpumod.env.update(DOCKER_HOST=docker_host, GPUMOD_GPU="sim:24GiB",
                      GPUMOD_STATE_DIR=str(tmp_path / "state"))
    gpumod.ok("service", "add", str(tmp_path / "web.yaml"))
    try:
        gpumod.ok("service", "start", "web")
        [row] = gpumod.ok("service", "list", "--json").json()
        assert row["state"] == "RUNNING"
        [launched] = gpumod.history("--type", "ServiceProcessLaunched")
        [container] = client.containers.list(filters={"label": f"{LABEL}=web"})
        assert launched["data"]["pid"] == container.attrs["State"]["Pid"]
        gpumod.ok("service", "stop", "web")
    except BaseException:
        gpumod.run("service", "stop", "web")  # leave no container serving on the way out
        raise
    [row] = gpumod.ok("service", "list", "--json").json()
    assert row["state"] == "STOPPED"
    [stopped] = gpumod.history("--type", "ServiceStopped")
    assert stopped["data"]["exit_code"] == 0
    assert client.containers.get(f"gpumod-{definition['id']}").status == "exited"


def test_gpumod_records_a_failed_start_with_the_containers_log(preset: Preset, docker_host: str,
                                                               tmp_path: Path) -> None:
    preset(command="echo 'model file is corrupt'; exit 3")
    gpumod = Gpumod(tmp_path / "gpumod.db", tmp_path)
    gpumod.env.update(DOCKER_HOST=docker_host, GPUMOD_GPU="sim:24GiB",
                      GPUMOD_STATE_DIR=str(tmp_path / "state"))
    gpumod.ok("service", "add", str(tmp_path / "web.yaml"))
    failed = gpumod.fails("service", "start", "web")
    assert "model file is corrupt" in failed.stderr
    [event] = gpumod.history("--type", "ServiceStartFailed")
    assert event["data"]["exit_code"] == 3
    assert event["data"]["log_tail"] == ["model file is corrupt"]
