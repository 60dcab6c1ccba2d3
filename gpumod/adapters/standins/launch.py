"""The command that runs a preset's stand-in instead of its real server (gpumod --stand-ins).

The preset is first checked by its real driver's `launch_spec` (so a preset refused for real is
refused in stand-in mode too), and the environment the real server would get is kept (vLLM's
VLLM_SERVER_DEV_MODE=1 reaches the stand-in, which honours it as vLLM does).
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from typing import Any

from gpumod.adapters.drivers import validation as v
from gpumod.adapters.process.base import LaunchSpec
from gpumod.adapters.standins.common import Behaviour

# The stand-in kind for each driver: a container is stood in for by a plain HTTP app.
KIND = {"vllm": "vllm", "llamacpp": "llamacpp", "mistralrs": "mistralrs", "fastapi": "fastapi",
        "docker": "fastapi"}


def standin_spec(definition: dict[str, Any], port: int | None = None,
                 behaviour: Behaviour | Mapping[str, Any] | None = None, *,
                 sim_gpu_file: str | None = None, sim_gpu_total_mb: int | None = None,
                 sim_gpu_release_s: float | None = None) -> LaunchSpec:
    """`sys.executable -m gpumod.adapters.standins KIND ...` for this preset, on `port` (default:
    the preset's). The simulated GPU's file, size and release delay default to the stand-in's
    environment (GPUMOD_SIM_GPU_FILE, GPUMOD_SIM_GPU_TOTAL_MB, GPUMOD_SIM_GPU_RELEASE_S); pass
    them to match the GPU gpumod itself opened (`--gpu sim:48GiB,release=2s`)."""
    driver = str(definition.get("driver"))
    if driver not in KIND:
        raise ValueError(f"no stand-in for driver {driver!r}")
    real_env: dict[str, str] = {}
    if driver != "docker":
        from gpumod.adapters.drivers.registry import driver_for

        real_env = dict(driver_for(driver).launch_spec(definition).env)
    port = v.port({**definition, "port": port if port is not None else definition.get("port")})
    chosen = (behaviour if isinstance(behaviour, Behaviour)
              else Behaviour.parse(dict(behaviour or {})))
    argv = [sys.executable, "-m", "gpumod.adapters.standins", KIND[driver],
            "--port", str(port), "--service-id", v.service_id(definition),
            "--vram-mb", str(v.integer(definition.get("vram_mb"), "vram_mb", 0))]
    if sim_gpu_file is not None:
        argv += ["--sim-gpu-file", v.text(sim_gpu_file, "sim_gpu_file")]
    if sim_gpu_total_mb is not None:
        argv += ["--sim-gpu-total-mb", str(v.integer(sim_gpu_total_mb, "sim_gpu_total_mb", 1))]
    if sim_gpu_release_s is not None:
        argv += ["--sim-gpu-release-s", str(v.number(sim_gpu_release_s, "sim_gpu_release_s",
                                                     -1e-9, 1e9))]
    behaviour_json = chosen.to_json()
    if behaviour_json != "{}":
        argv += ["--behaviour", behaviour_json]
    argv += _kind_args(driver, definition)
    spec = v.launch_spec({**definition, "port": port}, argv, real_env)
    return spec


def _kind_args(driver: str, definition: dict[str, Any]) -> list[str]:
    uv = definition.get("unit_vars") or {}
    if driver == "vllm":
        from gpumod.adapters.drivers.vllm import VllmDriver

        model = definition.get("model_id") or definition.get("model_path")
        args = ["--model", str(model)]
        if "--enable-sleep-mode" in VllmDriver().launch_spec(definition).argv:
            args.append("--enable-sleep-mode")
        return args
    if driver == "llamacpp":
        if "models_dir" in uv:
            args = ["--models-dir", v.path(uv["models_dir"], "unit_vars.models_dir")]
            if uv.get("default_model"):
                args += ["--model", str(uv["default_model"])]
            if "models_max" in uv:
                args += ["--models-max", str(uv["models_max"])]
            if uv.get("no_models_autoload"):
                args.append("--no-models-autoload")
            return args
        model = uv.get("model_path") or definition.get("model_path") or definition.get("model_id")
        return ["--model", v.path(model, "model_path")] if model else []
    if driver == "mistralrs":
        from gpumod.adapters.drivers.mistralrs import served_model

        return ["--model", served_model(definition)]
    args = ["--health-path", v.url_path(v.field(definition, "health_endpoint"), "health_endpoint")]
    if driver == "fastapi":
        for key, flag in (("sleep_endpoint", "--sleep-path"), ("wake_endpoint", "--wake-path")):
            if key in uv:
                args += [flag, v.url_path(uv[key], f"unit_vars.{key}")]
    return args
