"""Every field of every example preset reaches the command line it is meant for; bad values are
refused; the stand-in command line of each preset (no process is started here)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from gpumod.adapters.drivers.base import Driver
from gpumod.adapters.drivers.docker import DockerDriver
from gpumod.adapters.drivers.fastapi import FastApiDriver
from gpumod.adapters.drivers.llamacpp import LlamaCppDriver
from gpumod.adapters.drivers.mistralrs import MistralRsDriver
from gpumod.adapters.drivers.registry import driver_for, driver_names
from gpumod.adapters.drivers.vllm import VllmDriver
from gpumod.adapters.process.base import LaunchSpec
from gpumod.adapters.standins.launch import standin_spec
from gpumod.definitions import ServiceDefinition
from tests.conftest import EXAMPLES

PRESET_FILES = sorted((EXAMPLES / "presets").glob("*/*.yaml"))
HOME = "/home/tester"

# Top-level fields that are gpumod's own business, never a server flag.
GPUMOD_FIELDS = {"id", "name", "driver", "vram_mb", "kv_cache_per_1k", "startup_timeout",
                 "depends_on", "unit_template", "sleep_mode", "supports_sleep", "health_endpoint",
                 "unit_vars"}


def load(path: Path) -> dict[str, Any]:
    """The definition as gpumod stores it: validated, only the fields the file set."""
    return ServiceDefinition.model_validate(yaml.safe_load(path.read_text())).as_stored()


@pytest.fixture(autouse=True)
def home(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", HOME)


def value_of(argv: tuple[str, ...], flag: str) -> str:
    assert argv.count(flag) == 1, f"{flag} should appear once in {argv}"
    return argv[argv.index(flag) + 1]


def expand(path: str) -> str:
    return path.replace("$HOME", HOME)


def test_the_example_presets_are_there() -> None:
    assert len(PRESET_FILES) >= 14, f"example presets missing under {EXAMPLES}"


def check_vllm(d: dict[str, Any], spec: LaunchSpec) -> set[str]:
    argv, uv = spec.argv, d.get("unit_vars", {})
    assert argv[:3] == ("vllm", "serve", d["model_id"])
    checked = {"model_id"}
    flags = {"gpu_mem_util": "--gpu-memory-utilization", "max_model_len": "--max-model-len",
             "max_num_seqs": "--max-num-seqs", "dtype": "--dtype", "runner": "--runner",
             "hf_overrides": "--hf-overrides"}
    for key, flag in flags.items():
        if key in uv:
            assert value_of(argv, flag) == str(uv[key]), key
            checked.add(key)
    if "hf_overrides" in uv:
        json.loads(value_of(argv, "--hf-overrides"))  # one argv element, valid JSON
    if "enforce_eager" in uv:
        assert ("--enforce-eager" in argv) is uv["enforce_eager"]
        checked.add("enforce_eager")
    sleep = uv.get("enable_sleep_mode", d.get("supports_sleep", False))
    assert ("--enable-sleep-mode" in argv) is sleep
    assert (spec.env.get("VLLM_SERVER_DEV_MODE") == "1") is sleep
    checked |= {"enable_sleep_mode"} & set(uv)
    if "sleep_level" in uv:  # gpumod's own: the level it sleeps at, agreeing with sleep_mode
        assert f"l{uv['sleep_level']}" == d["sleep_mode"]
        checked.add("sleep_level")
    if "context_size" in d:
        assert value_of(argv, "--max-model-len") == str(d["context_size"])
        checked.add("context_size")
    return checked


def check_llamacpp(d: dict[str, Any], spec: LaunchSpec) -> set[str]:
    argv, uv = spec.argv, d.get("unit_vars", {})
    assert argv[0] == "llama-server"
    checked: set[str] = {"model_id"}  # descriptive: the model file or folder says what runs
    if "models_dir" in uv:
        assert value_of(argv, "--models-dir") == expand(uv["models_dir"])
        assert "-m" not in argv
        checked.add("models_dir")
        if "models_max" in uv:
            assert value_of(argv, "--models-max") == str(uv["models_max"])
            checked.add("models_max")
        if "no_models_autoload" in uv:
            assert ("--no-models-autoload" in argv) is uv["no_models_autoload"]
            checked.add("no_models_autoload")
        if "default_model" in uv:  # gpumod's own: what router sleep/wake unloads and loads
            assert uv["default_model"] not in argv
            checked.add("default_model")
    else:
        assert value_of(argv, "-m") == expand(uv["model_path"])
        assert "$" not in value_of(argv, "-m")
        checked.add("model_path")
    if "context_size" in uv or "context_size" in d:
        assert value_of(argv, "-c") == str(uv.get("context_size", d.get("context_size")))
        checked |= {"context_size"}
    if "n_gpu_layers" in uv:
        assert value_of(argv, "-ngl") == str(uv["n_gpu_layers"])
        checked.add("n_gpu_layers")
    if "jinja" in uv:
        assert ("--jinja" in argv) is uv["jinja"]
        checked.add("jinja")
    if "extra_args" in uv:
        extra = uv["extra_args"].split()
        assert list(argv[-len(extra):]) == extra
        checked.add("extra_args")
    return checked


def check_fastapi(d: dict[str, Any], spec: LaunchSpec) -> set[str]:
    argv, uv = spec.argv, d["unit_vars"]
    assert argv[1:4] == ("-m", "uvicorn", uv["app_module"])
    assert spec.cwd == Path(uv["working_dir"])
    assert spec.env["GPUMOD_MODEL_ID"] == d["model_id"]
    return {"app_module", "working_dir", "model_id"}


CHECKS = {"vllm": check_vllm, "llamacpp": check_llamacpp, "fastapi": check_fastapi}


@pytest.mark.parametrize("path", PRESET_FILES, ids=lambda p: p.stem)
def test_every_preset_field_reaches_its_flag(path: Path) -> None:
    definition = load(path)
    spec = driver_for(definition["driver"]).launch_spec(definition)
    assert spec.service_id == definition["id"]
    assert spec.port == definition["port"]
    assert value_of(spec.argv, "--port") == str(definition["port"])
    assert value_of(spec.argv, "--host") == "127.0.0.1"
    checked = CHECKS[definition["driver"]](definition, spec) | {"port"}
    unit_vars = set(definition.get("unit_vars", {}))
    assert unit_vars <= checked, f"unit_vars not checked: {unit_vars - checked}"
    top = set(definition) - GPUMOD_FIELDS
    assert top <= checked, f"fields not checked: {top - checked}"
    assert all("\n" not in arg and arg for arg in spec.argv)


def test_a_vllm_reranker_command_line_in_full() -> None:
    spec = VllmDriver().launch_spec(load(EXAMPLES / "presets/llm/vllm-reranker.yaml"))
    assert spec.argv == (
        "vllm", "serve", "Qwen/Qwen3-VL-Reranker-2B", "--port", "8201", "--host", "127.0.0.1",
        "--gpu-memory-utilization", "0.25", "--max-model-len", "512", "--max-num-seqs", "8",
        "--dtype", "float16", "--enforce-eager", "--runner", "pooling", "--hf-overrides",
        '{"architectures": ["Qwen3VLForSequenceClassification"], "classifier_from_token": '
        '["no", "yes"], "is_original_qwen3_reranker": true}', "--enable-sleep-mode")
    assert spec.env == {"VLLM_SERVER_DEV_MODE": "1"}


def test_a_vllm_preset_without_sleep_gets_no_dev_mode() -> None:
    spec = VllmDriver().launch_spec(load(EXAMPLES / "presets/embedding/vllm-embedding.yaml"))
    assert "--enable-sleep-mode" not in spec.argv
    assert spec.env == {}


def test_llama_router_and_single_model_command_lines_in_full() -> None:
    router = LlamaCppDriver().launch_spec(load(EXAMPLES / "presets/llm/qwen3-coder.yaml"))
    assert router.argv == ("llama-server", "--models-dir", f"{HOME}/bin", "--models-max", "1",
                           "--no-models-autoload", "--port", "7070", "--host", "127.0.0.1",
                           "--jinja")
    single = LlamaCppDriver().launch_spec(load(EXAMPLES / "presets/llm/gpt-oss-20b-multi.yaml"))
    assert single.argv == ("llama-server", "-m", f"{HOME}/bin/gpt-oss-20b-Q4_K_M.gguf",
                           "--port", "7070", "--host", "127.0.0.1", "-c", "40960", "-ngl", "-1",
                           "--jinja", "--parallel", "5", "--cont-batching", "--threads", "16")


def test_a_fastapi_command_line_in_full() -> None:
    spec = FastApiDriver().launch_spec(load(EXAMPLES / "presets/embedding/bge-large.yaml"))
    assert spec.argv == ("python3", "-m", "uvicorn", "embedding_server:app", "--host",
                         "127.0.0.1", "--port", "9200")
    assert spec.cwd == Path("/opt/embedding")


def mistral(**fields: Any) -> dict[str, Any]:
    return {"id": "mrs", "name": "M", "driver": "mistralrs", "port": 1234, "vram_mb": 9000,
            "model_id": "Qwen/Qwen3-4B", **fields}


def test_a_mistralrs_command_line_carries_every_field() -> None:
    spec = MistralRsDriver().launch_spec(mistral(context_size=8192, unit_vars={
        "format": "gguf", "quantized_file": "q4.gguf", "tok_model_id": "Qwen/Qwen3-4B",
        "dtype": "bf16", "isq": 4, "max_seqs": 8, "extra_args": "--no-paged-attn"}))
    assert spec.argv == (
        "mistralrs", "serve", "--host", "127.0.0.1", "--port", "1234", "-m", "Qwen/Qwen3-4B",
        "--format", "gguf", "-f", "q4.gguf", "--tok-model-id", "Qwen/Qwen3-4B", "--dtype", "bf16",
        "--isq", "4", "--max-seqs", "8", "--pa-context-len", "8192", "--no-paged-attn")


# ----- refusals

def vllm(**unit_vars: Any) -> dict[str, Any]:
    return {"id": "v", "name": "V", "driver": "vllm", "port": 8000, "vram_mb": 1000,
            "model_id": "org/model", "unit_vars": unit_vars}


def llama(**unit_vars: Any) -> dict[str, Any]:
    return {"id": "l", "name": "L", "driver": "llamacpp", "port": 7070, "vram_mb": 1000,
            "unit_vars": {"model_path": "/models/m.gguf", **unit_vars}}


def fastapi(**unit_vars: Any) -> dict[str, Any]:
    return {"id": "f", "name": "F", "driver": "fastapi", "port": 9000, "vram_mb": 1000,
            "unit_vars": {"app_module": "server:app", "working_dir": "/srv/app", **unit_vars}}


@pytest.mark.parametrize("definition", [vllm(gpu_mem_utilisation=0.5), llama(ctx=4096),
                                        fastapi(port_number=1), mistral(unit_vars={"gpus": 1})],
                         ids=["vllm", "llamacpp", "fastapi", "mistralrs"])
def test_an_unknown_unit_vars_key_is_an_error_naming_it(definition: dict[str, Any]) -> None:
    key = next(iter(definition["unit_vars"].keys() - {"model_path", "app_module", "working_dir"}))
    with pytest.raises(ValueError, match=f"unknown unit_vars key '{key}'.*accepted keys: "):
        driver_for(definition["driver"]).launch_spec(definition)
    with pytest.raises(ValueError, match=key):
        standin_spec(definition, 9999)


@pytest.mark.parametrize("definition", [
    {**vllm(), "model_id": "org/model\n--trust-remote-code"},
    vllm(extra_args="--seed 1\n--trust-remote-code"),
    vllm(hf_overrides='{"a":\n1}'),
    vllm(dtype="float16\n"),
    llama(model_path="/models/m.gguf\nExecStartPre=/bin/sh"),
    llama(model_path="/models/m\r.gguf"),
    {**llama(), "unit_vars": {"models_dir": "/models\n", "default_model": "m"}},
    {**llama(), "unit_vars": {"models_dir": "/models", "default_model": "m\x00"}},
    fastapi(app_module="server:app\n"),
    fastapi(working_dir="/srv/app\u2028"),
    mistral(model_id="org/m\n"),
], ids=lambda d: json.dumps(d.get("unit_vars", {}))[:40] or d.get("model_id"))
def test_a_value_with_a_newline_or_control_character_is_refused(definition: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        driver_for(definition["driver"]).launch_spec(definition)


@pytest.mark.parametrize("definition, message", [
    ({**vllm(), "model_id": "--trust-remote-code"}, "must not start with '-'"),
    (vllm(extra_args="--port 1"), "may not set --port"),
    (vllm(extra_args="--host=0.0.0.0"), "may not set --host"),
    (llama(extra_args="--models-dir /x"), "may not set --models-dir"),
    (llama(model_path="-m"), "must not start with '-'"),
    (llama(model_path="$SHELL/m.gguf"), r"only \$HOME is expanded"),
    (fastapi(extra_args="--port 1"), "may not set --port"),
    (fastapi(working_dir="relative/dir"), "absolute path"),
    (fastapi(app_module="os:system('x')"), "must look like"),
    (vllm(extra_args="'unclosed"), "cannot be split"),
])
def test_values_cannot_inject_arguments(definition: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        driver_for(definition["driver"]).launch_spec(definition)


@pytest.mark.parametrize("definition, message", [
    ({**vllm(max_model_len=4096), "context_size": 8192}, "contradicts"),
    ({**vllm(sleep_level=2), "sleep_mode": "l1"}, "contradicts"),
    ({**vllm(sleep_level=3), "sleep_mode": "l2"}, "must be 1 or 2"),
    ({**vllm(enable_sleep_mode=False), "supports_sleep": True}, "enable_sleep_mode is false"),
    ({**vllm(), "sleep_mode": "router"}, "l1 or l2"),
    (vllm(gpu_mem_util=1.5), r"\(0.0, 1.0\]"),
    (vllm(max_num_seqs="8"), "must be an integer"),
    (vllm(enforce_eager="yes"), "true or false"),
    (vllm(dtype="float8"), "must be one of"),
    (vllm(hf_overrides="[1]"), "JSON object"),
    (llama(models_max=1), "only to router mode"),
    ({**llama(), "sleep_mode": "router"}, "needs unit_vars.models_dir"),
    ({**llama(), "sleep_mode": "l1"}, "only in router mode"),
    ({**llama(context_size=4096), "context_size": 8192}, "contradicts"),
    (mistral(model_path="/m"), "not both"),
    ({**fastapi(), "unit_vars": {"app_module": "a:b"}}, "needs unit_vars.working_dir"),
    ({**vllm(), "port": None}, "needs a port"),
])
def test_inconsistent_or_mistyped_values_are_refused(definition: dict[str, Any],
                                                     message: str) -> None:
    with pytest.raises(ValueError, match=message):
        driver_for(definition["driver"]).launch_spec(definition)


def test_home_is_expanded_in_paths() -> None:
    spec = LlamaCppDriver().launch_spec(llama(model_path="${HOME}/m.gguf"))
    assert value_of(spec.argv, "-m") == f"{HOME}/m.gguf"
    spec = LlamaCppDriver().launch_spec(llama(model_path="~/m.gguf"))
    assert value_of(spec.argv, "-m") == f"{HOME}/m.gguf"


def test_a_vllm_model_path_is_served_under_its_model_id() -> None:
    definition = {**vllm(), "model_path": "$HOME/models/m"}
    spec = VllmDriver().launch_spec(definition)
    assert spec.argv[2] == f"{HOME}/models/m"
    assert value_of(spec.argv, "--served-model-name") == "org/model"


# ----- registry

# mypy checks that each class implements the Driver protocol
IMPLEMENTATIONS: list[Driver] = [VllmDriver(), LlamaCppDriver(), MistralRsDriver(), FastApiDriver(),
                                 DockerDriver()]


def test_the_registry_knows_the_five_drivers() -> None:
    assert set(driver_names()) == {d.name for d in IMPLEMENTATIONS}
    for name in driver_names():
        assert driver_for(name).name == name
    with pytest.raises(ValueError, match="no driver 'podman'"):
        driver_for("podman")


def test_importing_the_registry_and_drivers_does_not_import_httpx() -> None:
    code = ("import sys, gpumod.adapters.drivers.registry as r\n"
            "[r.driver_for(n) for n in r.driver_names()]\n"
            "import gpumod.adapters.standins.launch\n"
            "assert 'httpx' not in sys.modules, 'httpx imported'\n"
            "assert 'docker' not in sys.modules, 'the Docker SDK imported'\n")
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)


# ----- stand-in command lines

@pytest.mark.parametrize("path", PRESET_FILES, ids=lambda p: p.stem)
def test_every_preset_has_a_standin_command_line(path: Path) -> None:
    definition = load(path)
    spec = standin_spec(definition, 18000, {"load_s": 0.1}, sim_gpu_file="/tmp/gpu.json",
                        sim_gpu_total_mb=49152, sim_gpu_release_s=2.5)
    real = driver_for(definition["driver"]).launch_spec(definition)
    argv = spec.argv
    assert argv[:4] == (sys.executable, "-m", "gpumod.adapters.standins",
                        "llamacpp" if definition["driver"] == "llamacpp" else definition["driver"])
    assert value_of(argv, "--port") == "18000"
    assert spec.port == 18000
    assert value_of(argv, "--service-id") == definition["id"]
    assert value_of(argv, "--vram-mb") == str(definition["vram_mb"])
    assert value_of(argv, "--sim-gpu-file") == "/tmp/gpu.json"
    assert value_of(argv, "--sim-gpu-total-mb") == "49152"
    assert value_of(argv, "--sim-gpu-release-s") == "2.5"
    assert json.loads(value_of(argv, "--behaviour")) == {"load_s": 0.1}
    assert spec.env == real.env  # VLLM_SERVER_DEV_MODE=1 reaches the stand-in as the server
    assert ("--enable-sleep-mode" in argv) == ("--enable-sleep-mode" in real.argv)
    uv = definition.get("unit_vars", {})
    if "models_dir" in uv:
        assert value_of(argv, "--models-dir") == expand(uv["models_dir"])
        assert value_of(argv, "--model") == uv["default_model"]
        assert ("--no-models-autoload" in argv) is uv.get("no_models_autoload", False)
    if definition["driver"] == "fastapi":
        assert value_of(argv, "--health-path") == definition["health_endpoint"]


def test_a_standin_refuses_an_unknown_behaviour_key() -> None:
    with pytest.raises(ValueError, match="unknown behaviour key 'load_time'"):
        standin_spec(load(EXAMPLES / "presets/llm/vllm-chat.yaml"), 1, {"load_time": 1})
