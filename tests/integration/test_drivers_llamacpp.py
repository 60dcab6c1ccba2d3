"""The llama.cpp driver against the llama-server stand-in (single model and router), as real
processes on a simulated GPU."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from gpumod.adapters.drivers.base import DriverError
from gpumod.adapters.drivers.llamacpp import LlamaCppDriver
from gpumod.adapters.standins.harness import StandInProcess, free_port, launch, start_standin
from gpumod.adapters.standins.launch import standin_spec
from tests.conftest import EXAMPLES
from tests.integration.conftest import held

SIZE = 6000
MODEL = "Qwen3-Coder-30B-A3B-Instruct-Q4_K_M"


def single(process: StandInProcess) -> dict[str, Any]:
    return {"id": "svc", "name": "Svc", "driver": "llamacpp", "port": process.port,
            "vram_mb": SIZE, "unit_vars": {"model_path": "/models/m.gguf"}}


def test_single_model_health_is_503_while_loading_then_ready(
        gpu_file: Path, started: list[StandInProcess]) -> None:
    process = start_standin("llamacpp", gpu_file, vram_mb=SIZE, args=["--model", "/models/m.gguf"],
                            behaviour={"load_s": 1.5})
    started.append(process)
    process.wait_listening()  # llama-server listens at once and answers 503 while loading
    driver = LlamaCppDriver()
    loading = driver.health(single(process))
    assert (loading.ready, loading.status) == (False, 503)
    assert "Loading model" in loading.detail
    process.wait_ready()
    ready = driver.health(single(process))
    assert (ready.ready, ready.status) == (True, 200)
    assert held(gpu_file, process.pid) == SIZE
    assert driver.is_sleeping(single(process)) is False
    with pytest.raises(DriverError, match="single-model mode cannot sleep"):
        driver.sleep(single(process), "router")
    assert "server is listening on http://127.0.0.1" in process.output()


@pytest.fixture
def router(gpu_file: Path, tmp_path: Path, started: list[StandInProcess],
           monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest
           ) -> tuple[StandInProcess, dict[str, Any]]:
    """The qwen3-coder router preset, started in stand-in mode (models_dir under $HOME)."""
    monkeypatch.setenv("HOME", str(tmp_path))
    preset = yaml.safe_load((EXAMPLES / "presets/llm/qwen3-coder.yaml").read_text())
    preset["vram_mb"] = SIZE
    behaviour = {"load_s": 0.1, "model_load_s": 0.4, **getattr(request, "param", {})}
    port = free_port()
    spec = standin_spec(preset, port, behaviour, sim_gpu_file=str(gpu_file))
    process = launch("llamacpp", preset["id"], port, spec.argv, spec.env, tmp_path)
    started.append(process)
    process.wait_ready()
    return process, {**preset, "port": port}


def status_of(process: StandInProcess, model: str = MODEL) -> str:
    return str(process.state()["models"][model]["value"])


def test_a_router_without_autoload_starts_with_its_model_unloaded(
        router: tuple[StandInProcess, dict[str, Any]], gpu_file: Path) -> None:
    process, definition = router
    driver = LlamaCppDriver()
    assert driver.health(definition).ready  # the router itself is up
    assert driver.is_sleeping(definition) is True
    assert status_of(process) == "unloaded"
    assert held(gpu_file, process.pid) == 0


def test_router_wake_returns_only_once_the_model_is_loaded(
        router: tuple[StandInProcess, dict[str, Any]], gpu_file: Path) -> None:
    process, definition = router
    driver = LlamaCppDriver()
    driver.wake(definition)
    # The load call answers at once and the model stays "loading" for model_load_s:
    # a wake that returned on the load call's answer would see "loading" here.
    assert status_of(process) == "loaded"
    assert driver.is_sleeping(definition) is False
    assert held(gpu_file, process.pid) == SIZE
    driver.wake(definition)  # already loaded: no second load
    assert process.state()["requests"] == ["POST /models/load"]


def test_router_sleep_unloads_and_wake_loads_again(
        router: tuple[StandInProcess, dict[str, Any]], gpu_file: Path) -> None:
    process, definition = router
    driver = LlamaCppDriver()
    driver.wake(definition)
    driver.sleep(definition, "router")
    assert status_of(process) == "unloaded"
    assert driver.is_sleeping(definition) is True
    assert held(gpu_file, process.pid) == 0
    driver.wake(definition)
    assert status_of(process) == "loaded"
    assert held(gpu_file, process.pid) == SIZE
    assert process.state()["requests"] == [
        "POST /models/load", "POST /models/unload", "POST /models/load"]


def test_router_sleep_needs_the_router_level(router: tuple[StandInProcess, dict[str, Any]]) -> None:
    _process, definition = router
    with pytest.raises(DriverError, match="only at level 'router'"):
        LlamaCppDriver().sleep(definition, "l1")


@pytest.mark.parametrize("router", [{"oom": True}], indirect=True)
def test_a_model_that_fails_to_load_fails_the_wake(
        router: tuple[StandInProcess, dict[str, Any]]) -> None:
    process, definition = router
    with pytest.raises(DriverError, match="failed to load"):
        LlamaCppDriver().wake(definition)
    assert process.proc.poll() is None  # the router survives its model's failure
    assert "cudaMalloc failed: out of memory" in process.output()


@pytest.mark.parametrize("router", [{"sleep_404": True}], indirect=True)
def test_an_unload_answering_404_is_a_failure(
        router: tuple[StandInProcess, dict[str, Any]]) -> None:
    _process, definition = router
    driver = LlamaCppDriver()
    driver.wake(definition)
    with pytest.raises(DriverError) as caught:
        driver.sleep(definition, "router")
    assert caught.value.status == 404


def test_waking_a_model_the_router_does_not_list_fails(
        router: tuple[StandInProcess, dict[str, Any]]) -> None:
    _process, definition = router
    definition = {**definition, "unit_vars": {**definition["unit_vars"], "default_model": "nope"}}
    with pytest.raises(DriverError, match="does not list model 'nope'"):
        LlamaCppDriver().wake(definition)
