"""The vLLM driver against the vLLM stand-in, run as a real process on a simulated GPU."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from gpumod.adapters.drivers.base import DriverError
from gpumod.adapters.drivers.vllm import VllmDriver
from gpumod.adapters.standins.harness import StandInProcess, free_port, launch, start_standin
from gpumod.adapters.standins.launch import standin_spec
from tests.conftest import EXAMPLES
from tests.integration.conftest import held

DEV = {"VLLM_SERVER_DEV_MODE": "1"}
SIZE = 8000


def run_vllm(gpu_file: Path, started: list[StandInProcess], *, env: dict[str, str] | None = None,
             sleep_mode: bool = True, **behaviour: Any) -> tuple[StandInProcess, dict[str, Any]]:
    args = ["--model", "org/model"] + (["--enable-sleep-mode"] if sleep_mode else [])
    process = start_standin("vllm", gpu_file, vram_mb=SIZE, args=args,
                            env=DEV if env is None else env,
                            behaviour={"load_s": 0.2, **behaviour})
    started.append(process)
    definition = {"id": "svc", "name": "Svc", "driver": "vllm", "port": process.port,
                  "vram_mb": SIZE, "model_id": "org/model", "supports_sleep": True,
                  "sleep_mode": "l1"}
    return process, definition


def test_health_is_ready_only_once_loaded(gpu_file: Path, started: list[StandInProcess]) -> None:
    process, definition = run_vllm(gpu_file, started, load_s=1.0)
    driver = VllmDriver()
    health = driver.health(definition)  # vLLM listens only once the engine is up
    assert not health.ready and health.status is None
    process.wait_ready()
    assert driver.health(definition).ready
    assert driver.health(definition).status == 200
    assert held(gpu_file, process.pid) == SIZE


def test_level_1_sleep_keeps_a_remainder_and_wake_restores(
        gpu_file: Path, started: list[StandInProcess]) -> None:
    process, definition = run_vllm(gpu_file, started)
    process.wait_ready()
    driver = VllmDriver()
    assert driver.is_sleeping(definition) is False
    driver.sleep(definition, "l1")
    assert driver.is_sleeping(definition) is True
    assert driver.health(definition).ready  # /health stays 200 while asleep
    assert held(gpu_file, process.pid) == 512
    driver.wake(definition)
    assert driver.is_sleeping(definition) is False
    assert held(gpu_file, process.pid) == SIZE
    assert process.state()["requests"] == ["POST /sleep?level=1", "POST /wake_up"]


def test_level_2_sleep_frees_the_weights_and_wake_reloads_them(
        gpu_file: Path, started: list[StandInProcess]) -> None:
    process, definition = run_vllm(gpu_file, started)
    process.wait_ready()
    driver = VllmDriver()
    driver.sleep(definition, "l2")
    assert held(gpu_file, process.pid) == 256
    assert process.state()["weights_valid"] is False
    driver.wake(definition, level="l2")
    state = process.state()
    assert state["requests"] == [
        "POST /sleep?level=2", "POST /wake_up?tags=weights", "POST /collective_rpc",
        "POST /wake_up?tags=kv_cache", "POST /reset_prefix_cache"]
    assert state["weights_valid"] is True
    assert state["prefix_cache_resets"] == 1
    assert held(gpu_file, process.pid) == SIZE
    assert driver.is_sleeping(definition) is False


def test_wake_uses_the_preset_level_when_none_is_given(
        gpu_file: Path, started: list[StandInProcess]) -> None:
    process, definition = run_vllm(gpu_file, started)
    process.wait_ready()
    definition = {**definition, "sleep_mode": "l2", "unit_vars": {"sleep_level": 2}}
    driver = VllmDriver()
    driver.sleep(definition, "l2")
    driver.wake(definition)
    assert process.state()["weights_valid"] is True


def test_sleep_without_dev_mode_is_a_404_failure(gpu_file: Path,
                                                 started: list[StandInProcess]) -> None:
    process, definition = run_vllm(gpu_file, started, env={})
    process.wait_ready()
    driver = VllmDriver()
    with pytest.raises(DriverError) as caught:
        driver.sleep(definition, "l1")
    assert caught.value.status == 404
    assert driver.is_sleeping(definition) is None  # /is_sleeping is a dev endpoint too
    with pytest.raises(DriverError) as woken:
        driver.wake(definition)
    assert woken.value.status == 404
    assert held(gpu_file, process.pid) == SIZE


def test_a_sleep_404_behaviour_fails_even_in_dev_mode(gpu_file: Path,
                                                      started: list[StandInProcess]) -> None:
    process, definition = run_vllm(gpu_file, started, sleep_404=True)
    process.wait_ready()
    with pytest.raises(DriverError) as caught:
        VllmDriver().sleep(definition, "l2")
    assert caught.value.status == 404
    assert VllmDriver().is_sleeping(definition) is False


def test_sleep_without_enable_sleep_mode_is_refused(gpu_file: Path,
                                                    started: list[StandInProcess]) -> None:
    process, definition = run_vllm(gpu_file, started, sleep_mode=False)
    process.wait_ready()
    with pytest.raises(DriverError) as caught:
        VllmDriver().sleep(definition, "l1")
    assert caught.value.status == 500
    assert "enable-sleep-mode" in str(caught.value)


def test_a_router_level_is_not_a_vllm_level(gpu_file: Path) -> None:
    definition = {"id": "svc", "driver": "vllm", "port": free_port(), "model_id": "m"}
    with pytest.raises(DriverError, match="cannot sleep at 'router'"):
        VllmDriver().sleep(definition, "router")


def test_nothing_listening_is_not_ready_and_not_known_asleep() -> None:
    definition = {"id": "svc", "driver": "vllm", "port": free_port(), "model_id": "m"}
    driver = VllmDriver()
    assert driver.health(definition).ready is False
    assert driver.is_sleeping(definition) is None
    with pytest.raises(DriverError) as caught:
        driver.sleep(definition, "l1")
    assert caught.value.status is None


def test_a_real_preset_runs_as_a_standin_and_sleeps_at_its_level(
        gpu_file: Path, tmp_path: Path, started: list[StandInProcess]) -> None:
    preset = yaml.safe_load((EXAMPLES / "presets/llm/vllm-hyde.yaml").read_text())
    port = free_port()
    spec = standin_spec(preset, port, {"load_s": 0.2}, sim_gpu_file=str(gpu_file))
    process = launch("vllm", preset["id"], port, spec.argv, spec.env, tmp_path)
    started.append(process)
    process.wait_ready()
    definition = {**preset, "port": port}
    driver = VllmDriver()
    assert driver.health(definition).ready
    assert held(gpu_file, process.pid) == preset["vram_mb"]
    driver.sleep(definition, preset["sleep_mode"])
    assert held(gpu_file, process.pid) == 256
    driver.wake(definition)
    assert process.state()["weights_valid"] is True
    assert held(gpu_file, process.pid) == preset["vram_mb"]
    assert "Starting vLLM API server" in process.output()
