"""The llamacpp driver against a REAL llama.cpp `llama-server` (CPU, a tiny generated model),
launched the way gpumod does: the driver's launch spec for an example preset, the direct process
backend, and the start saga's wait_ready. Skipped only when the binary is missing and
GPUMOD_REQUIRE_LLAMA_SERVER is unset (CI sets it: scripts/build_llama_server.sh builds it)."""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from gpumod.adapters.drivers.base import DriverError
from gpumod.adapters.drivers.llamacpp import LlamaCppDriver
from gpumod.adapters.standins.harness import free_port
from gpumod.bootstrap import MachineSettings, real_machine
from gpumod.commands.machine import Machine
from gpumod.commands.sagas.start import wait_ready
from tests.conftest import EXAMPLES
from tests.integration.real_llama import (
    GUARD_S,
    assert_completion,
    call,
    children_of,
    eventually,
    llama_server_binary,
    model_status,
)
from tests.integration.tiny_gguf import write_tiny_llama

ROUTER_MODEL = "Qwen3-Coder-30B-A3B-Instruct-Q4_K_M"  # the qwen3-coder preset's default_model
driver = LlamaCppDriver()  # what driver_for("llamacpp") gives: the binary found on PATH


@pytest.fixture(scope="module")
def binary() -> Path:
    return llama_server_binary()


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_tiny_llama(tmp_path_factory.mktemp("model") / "tiny.gguf")


@pytest.fixture
def machine(binary: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Machine]:
    """gpumod's real machine (direct backend, simulated GPU), with llama-server on PATH."""
    monkeypatch.setenv("PATH", f"{binary.parent}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("GPUMOD_SIM_GPU_FILE", str(tmp_path / "sim-gpu.json"))
    state = tmp_path / "state"
    machine = real_machine(state, MachineSettings(gpu="sim:24GiB", process_backend="direct",
                                                  stand_ins=False))
    yield machine
    for pid_file in (state / "run").glob("*.pid"):
        machine.backend.stop(pid_file.stem, timeout_s=10)


def preset(name: str) -> dict[str, Any]:
    definition: dict[str, Any] = yaml.safe_load((EXAMPLES / "presets" / name).read_text())
    return {**definition, "port": free_port(), "startup_timeout": GUARD_S}


def launch(machine: Machine, definition: dict[str, Any]) -> int:
    info = machine.backend.start(machine.launch_spec(definition))
    assert info.pid is not None
    return info.pid


def test_a_single_model_server_answers_503_until_loaded_then_serves_openai(
        machine: Machine, tiny_model: Path) -> None:
    # given the gpt-oss example preset (its extra_args included) pointed at the tiny model
    definition = preset("llm/gpt-oss-20b-multi.yaml")
    definition["unit_vars"] = {**definition["unit_vars"], "model_path": str(tiny_model)}
    launch(machine, definition)
    # when gpumod polls its health from the moment it launched
    seen, deadline = [], time.monotonic() + GUARD_S
    while not (health := driver.health(definition)).ready and time.monotonic() < deadline:
        seen.append(health)
    # then it was unreachable, then "Loading model" (503, not ready: it loads for 60+ ms
    # here, against a poll a millisecond), until it answered 200
    statuses = [h.status for h in seen]
    assert 503 in statuses and None not in statuses[statuses.index(503):], statuses
    assert all("Loading model" in h.detail for h in seen if h.status == 503)
    assert health.status == 200
    assert wait_ready(machine, driver, definition["id"], definition).ready
    assert driver.is_sleeping(definition) is False
    with pytest.raises(DriverError, match="single-model mode cannot sleep"):
        driver.sleep(definition, "router")
    # and its OpenAI endpoints answer in OpenAI's shape
    port = definition["port"]
    models = call(port, "GET", "/v1/models").json()
    assert models["object"] == "list" and models["data"][0]["object"] == "model"
    text = call(port, "POST", "/v1/completions",
                {"prompt": "hello world", "max_tokens": 5, "temperature": 0}).json()
    assert_completion(text, "text_completion", 5)
    assert isinstance(text["choices"][0]["text"], str)
    chat = {"messages": [{"role": "user", "content": "hello"}], "max_tokens": 4,
            "temperature": 0}
    first, again = (call(port, "POST", "/v1/chat/completions", chat).json() for _ in "12")
    assert_completion(first, "chat.completion", 4)
    assert first["choices"][0]["message"]["role"] == "assistant"
    assert first["choices"][0]["message"]["content"] == again["choices"][0]["message"]["content"]
    # when gpumod stops it; then it shut down cleanly on SIGTERM, and nothing answers
    stopped = machine.backend.stop(definition["id"], timeout_s=10)
    assert (stopped.running, stopped.exit_code) == (False, 0)
    assert driver.health(definition).status is None


def test_a_server_that_cannot_load_its_model_fails_the_start_with_its_exit_code(
        machine: Machine, tmp_path: Path) -> None:
    broken = tmp_path / "broken.gguf"
    broken.write_bytes(b"GGUF" + b"\0" * 64)
    definition = preset("llm/gpt-oss-20b-multi.yaml")
    definition["unit_vars"] = {**definition["unit_vars"], "model_path": str(broken)}
    launch(machine, definition)
    outcome = wait_ready(machine, driver, definition["id"], definition)
    assert (outcome.ready, outcome.reason, outcome.exit_code) == (
        False, "process exited before becoming healthy", 1)
    assert any("failed to load model" in line
               for line in machine.backend.log_tail(definition["id"], 80))


@pytest.fixture
def router(machine: Machine, tiny_model: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
           request: pytest.FixtureRequest) -> tuple[dict[str, Any], int]:
    """The qwen3-coder router preset (models_dir $HOME/bin), the tiny model as its default;
    a test's parameter adds to its unit_vars."""
    monkeypatch.setenv("HOME", str(tmp_path))
    (tmp_path / "bin").mkdir()
    shutil.copy(tiny_model, tmp_path / "bin" / f"{ROUTER_MODEL}.gguf")
    definition = preset("llm/qwen3-coder.yaml")
    definition["unit_vars"] = {**definition["unit_vars"], **getattr(request, "param", {})}
    pid = launch(machine, definition)
    assert wait_ready(machine, driver, definition["id"], definition).ready
    return definition, pid


def test_a_router_sleeps_by_unloading_and_wakes_once_its_model_is_loaded(
        machine: Machine, router: tuple[dict[str, Any], int]) -> None:
    definition, pid = router
    port = definition["port"]
    # given a router that does not autoload: up, its model not loaded, no model process
    assert model_status(port, ROUTER_MODEL) == "unloaded"
    assert driver.is_sleeping(definition) is True and children_of(pid) == set()
    # when woken; then it returned only once the router itself says "loaded"
    driver.wake(definition)
    assert model_status(port, ROUTER_MODEL) == "loaded"
    assert driver.is_sleeping(definition) is False and len(children_of(pid)) == 1
    chat = {"model": ROUTER_MODEL, "messages": [{"role": "user", "content": "hi"}],
            "max_tokens": 3, "temperature": 0}
    assert_completion(call(port, "POST", "/v1/chat/completions", chat).json(),
                      "chat.completion", 3)
    driver.wake(definition)  # already loaded: nothing to do, no error
    # when put to sleep; then the model is unloaded and its process gone
    driver.sleep(definition, "router")
    assert model_status(port, ROUTER_MODEL) == "unloaded"
    assert driver.is_sleeping(definition) is True and children_of(pid) == set()
    # and it wakes again
    driver.wake(definition)
    assert model_status(port, ROUTER_MODEL) == "loaded"
    # when gpumod stops the router; then its model process goes with it
    [child] = children_of(pid)
    assert machine.backend.stop(definition["id"], timeout_s=10).exit_code == 0
    assert not Path(f"/proc/{child}").exists()


@pytest.mark.parametrize("router", [{"extra_args": "--sleep-idle-seconds 1"}], indirect=True)
def test_a_model_that_idled_asleep_in_the_router_wakes(
        router: tuple[dict[str, Any], int]) -> None:
    # given a model whose process freed its weights after a second idle: "sleeping", which
    # /models/load refuses as "already running"
    definition, pid = router
    driver.wake(definition)
    eventually(lambda: model_status(definition["port"], ROUTER_MODEL) == "sleeping",
               "the model to idle asleep")
    assert driver.is_sleeping(definition) is True
    # when woken; then it is loaded again, in the same process
    [child] = children_of(pid)
    driver.wake(definition)
    assert model_status(definition["port"], ROUTER_MODEL) == "loaded"
    assert children_of(pid) == {child}
    # and a sleeping model is unloaded like a loaded one, its process gone
    eventually(lambda: model_status(definition["port"], ROUTER_MODEL) == "sleeping",
               "the model to idle asleep again")
    driver.sleep(definition, "router")
    assert model_status(definition["port"], ROUTER_MODEL) == "unloaded"
    assert children_of(pid) == set()
