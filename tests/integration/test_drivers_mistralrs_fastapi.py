"""The mistral.rs and FastAPI drivers against their stand-ins, as real processes on a simulated
GPU."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from gpumod.adapters.drivers.base import DriverError
from gpumod.adapters.drivers.fastapi import FastApiDriver
from gpumod.adapters.drivers.mistralrs import MistralRsDriver
from gpumod.adapters.gpu.sim import SimulatedGpu
from gpumod.adapters.standins.harness import StandInProcess, free_port, launch
from gpumod.adapters.standins.launch import standin_spec
from tests.conftest import EXAMPLES
from tests.integration.conftest import held

SIZE = 5000


# ----- mistral.rs

def run_mistral(gpu_file: Path, started: list[StandInProcess], **behaviour: Any
                ) -> tuple[StandInProcess, dict[str, Any]]:
    definition: dict[str, Any] = {
        "id": "mrs", "name": "M", "driver": "mistralrs", "port": free_port(), "vram_mb": SIZE,
        "model_id": "Qwen/Qwen3-4B", "supports_sleep": True, "sleep_mode": "l2",
        "startup_timeout": 15}
    spec = standin_spec(definition, definition["port"],
                        {"load_s": 0.2, "model_load_s": 0.4, **behaviour},
                        sim_gpu_file=str(gpu_file))
    process = launch("mistralrs", "mrs", definition["port"], spec.argv, spec.env, gpu_file.parent)
    started.append(process)
    return process, definition


def test_mistralrs_health_unload_and_reload(gpu_file: Path, started: list[StandInProcess]) -> None:
    process, definition = run_mistral(gpu_file, started)
    driver = MistralRsDriver()
    process.wait_ready()
    assert driver.health(definition).ready
    assert driver.is_sleeping(definition) is False
    assert held(gpu_file, process.pid) == SIZE
    driver.sleep(definition, "l2")
    assert driver.is_sleeping(definition) is True
    assert held(gpu_file, process.pid) == 256
    driver.wake(definition)
    # reload answers "reloading" at once; the wake returns only once the model is loaded
    assert process.state()["status"] == "loaded"
    assert driver.is_sleeping(definition) is False
    assert held(gpu_file, process.pid) == SIZE
    assert process.state()["requests"] == ["POST /v1/models/unload", "POST /v1/models/reload"]
    assert "Serving on http://127.0.0.1" in process.output()


def test_mistralrs_without_unload_reports_not_supported(
        gpu_file: Path, started: list[StandInProcess]) -> None:
    process, definition = run_mistral(gpu_file, started, sleep_404=True)
    process.wait_ready()
    with pytest.raises(DriverError, match="does not support model unload") as caught:
        MistralRsDriver().sleep(definition, "l1")
    assert caught.value.status == 404
    with pytest.raises(DriverError, match="does not support model reload") as woken:
        MistralRsDriver().wake(definition)
    assert woken.value.status == 404


def test_a_mistralrs_reload_that_does_not_fit_fails_the_wake(
        gpu_file: Path, started: list[StandInProcess]) -> None:
    process, definition = run_mistral(gpu_file, started)
    process.wait_ready()
    driver = MistralRsDriver()
    driver.sleep(definition, "l2")
    SimulatedGpu(gpu_file, 24576).allocate(1, 24576 - 1000, "someone else")  # pid 1 lives on
    with pytest.raises(DriverError, match="failed to reload"):
        driver.wake(definition)
    assert driver.is_sleeping(definition) is True


# ----- FastAPI

def test_fastapi_health_path_comes_from_the_preset(gpu_file: Path,
                                                   started: list[StandInProcess]) -> None:
    preset = yaml.safe_load((EXAMPLES / "presets/embedding/bge-large.yaml").read_text())
    preset = {**preset, "health_endpoint": "/healthz", "port": free_port()}
    spec = standin_spec(preset, preset["port"], {"load_s": 0.2}, sim_gpu_file=str(gpu_file))
    process = launch("fastapi", preset["id"], preset["port"], spec.argv, spec.env, gpu_file.parent)
    started.append(process)
    process.wait_ready()
    driver = FastApiDriver()
    assert driver.health(preset).ready
    on_default = driver.health({k: v for k, v in preset.items() if k != "health_endpoint"})
    assert (on_default.ready, on_default.status) == (False, 404)  # /health is not its path
    assert driver.is_sleeping(preset) is None
    with pytest.raises(DriverError, match=r"names no unit_vars\.sleep_endpoint") as caught:
        driver.sleep(preset, "l1")
    assert caught.value.status is None
    with pytest.raises(DriverError, match="not supported"):
        driver.wake(preset)
    assert process.state()["requests"] == []  # refused without a call
    assert held(gpu_file, process.pid) == preset["vram_mb"]
    assert "Uvicorn running on http://127.0.0.1" in process.output()


def fastapi_with_sleep(gpu_file: Path, started: list[StandInProcess], **behaviour: Any
                       ) -> tuple[StandInProcess, dict[str, Any]]:
    definition: dict[str, Any] = {
        "id": "emb", "name": "E", "driver": "fastapi", "port": free_port(), "vram_mb": SIZE,
        "supports_sleep": True, "sleep_mode": "l1", "startup_timeout": 15,
        "unit_vars": {"app_module": "server:app", "working_dir": "/srv/app",
                      "sleep_endpoint": "/admin/sleep", "wake_endpoint": "/admin/wake"}}
    spec = standin_spec(definition, definition["port"], {"load_s": 0.2, **behaviour},
                        sim_gpu_file=str(gpu_file))
    process = launch("fastapi", "emb", definition["port"], spec.argv, spec.env, gpu_file.parent)
    started.append(process)
    process.wait_ready()
    return process, definition


def test_fastapi_sleep_and_wake_endpoints(gpu_file: Path, started: list[StandInProcess]) -> None:
    process, definition = fastapi_with_sleep(gpu_file, started)
    driver = FastApiDriver()
    driver.sleep(definition, "l1")
    assert held(gpu_file, process.pid) == 256
    driver.wake(definition)
    assert held(gpu_file, process.pid) == SIZE
    assert process.state()["requests"] == ["POST /admin/sleep", "POST /admin/wake"]


def test_a_fastapi_sleep_answering_404_is_a_failure(gpu_file: Path,
                                                    started: list[StandInProcess]) -> None:
    process, definition = fastapi_with_sleep(gpu_file, started, sleep_404=True)
    with pytest.raises(DriverError) as caught:
        FastApiDriver().sleep(definition, "l1")
    assert caught.value.status == 404
    assert held(gpu_file, process.pid) == SIZE


def test_a_container_preset_is_stood_in_by_a_plain_http_app(
        gpu_file: Path, started: list[StandInProcess]) -> None:
    definition: dict[str, Any] = {"id": "ctr", "name": "C", "driver": "docker", "port": free_port(),
                  "vram_mb": 700, "health_endpoint": "/ping"}
    spec = standin_spec(definition, definition["port"], {"load_s": 0.1},
                        sim_gpu_file=str(gpu_file))
    assert spec.argv[3] == "fastapi"
    process = launch("fastapi", "ctr", definition["port"], spec.argv, spec.env, gpu_file.parent)
    started.append(process)
    process.wait_ready()
    assert FastApiDriver().health(definition).ready
    assert held(gpu_file, process.pid) == 700
