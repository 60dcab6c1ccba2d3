"""vLLM (`vllm serve`): health, sleep levels 1 and 2, wake, and the command line of a preset.

Preset field -> command line:
    model_id                      positional MODEL (or --served-model-name when model_path is set)
    model_path                    positional MODEL (a local folder)
    port                          --port (always with --host 127.0.0.1)
    context_size                  --max-model-len when unit_vars.max_model_len is absent
    supports_sleep                --enable-sleep-mode and env VLLM_SERVER_DEV_MODE=1
    unit_vars.gpu_mem_util        --gpu-memory-utilization
    unit_vars.max_model_len       --max-model-len
    unit_vars.max_num_seqs        --max-num-seqs
    unit_vars.dtype               --dtype
    unit_vars.enforce_eager       --enforce-eager (when true)
    unit_vars.runner              --runner
    unit_vars.hf_overrides        --hf-overrides (one JSON argument)
    unit_vars.enable_sleep_mode   --enable-sleep-mode and env VLLM_SERVER_DEV_MODE=1
    unit_vars.extra_args          appended, split like a shell would (no shell runs)
gpumod's own: vram_mb, kv_cache_per_1k, sleep_mode and unit_vars.sleep_level (the level to sleep
at), health_endpoint, startup_timeout, name, depends_on, unit_template.

The sleep endpoints exist only when the server runs with VLLM_SERVER_DEV_MODE=1 and
--enable-sleep-mode; otherwise `/sleep` answers 404, which is a DriverError, never a success.
"""

from __future__ import annotations

from typing import Any

from gpumod.adapters.drivers import http
from gpumod.adapters.drivers import validation as v
from gpumod.adapters.drivers.base import DriverError, Health
from gpumod.adapters.process.base import LaunchSpec

ACCEPTED = ("gpu_mem_util", "max_model_len", "max_num_seqs", "dtype", "enforce_eager", "runner",
            "hf_overrides", "enable_sleep_mode", "sleep_level", "extra_args")
DTYPES = ("auto", "half", "float16", "bfloat16", "float", "float32")
RUNNERS = ("auto", "generate", "pooling", "draft")
RESERVED = ("--port", "--host", "--model", "--served-model-name", "--gpu-memory-utilization",
            "--max-model-len", "--max-num-seqs", "--dtype", "--enforce-eager", "--runner",
            "--hf-overrides", "--enable-sleep-mode")


class VllmDriver:
    name = "vllm"

    def __init__(self, binary: str = "vllm") -> None:
        self.binary = binary

    def launch_spec(self, definition: dict[str, Any]) -> LaunchSpec:
        uv = v.unit_vars(definition, self.name, ACCEPTED)
        port = v.port(definition)
        argv = [self.binary, "serve", *_model_args(definition),
                "--port", str(port), "--host", v.HOST]
        if "gpu_mem_util" in uv:
            util = v.number(uv["gpu_mem_util"], "unit_vars.gpu_mem_util", 0.0, 1.0)
            argv += ["--gpu-memory-utilization", _num(util)]
        length = _max_model_len(definition, uv)
        if length is not None:
            argv += ["--max-model-len", str(length)]
        if "max_num_seqs" in uv:
            seqs = v.integer(uv["max_num_seqs"], "unit_vars.max_num_seqs", 1)
            argv += ["--max-num-seqs", str(seqs)]
        if "dtype" in uv:
            argv += ["--dtype", v.choice(uv["dtype"], "unit_vars.dtype", DTYPES)]
        if "enforce_eager" in uv and v.boolean(uv["enforce_eager"], "unit_vars.enforce_eager"):
            argv.append("--enforce-eager")
        if "runner" in uv:
            argv += ["--runner", v.choice(uv["runner"], "unit_vars.runner", RUNNERS)]
        if "hf_overrides" in uv:
            argv += ["--hf-overrides", v.json_object(uv["hf_overrides"], "unit_vars.hf_overrides")]
        sleep_enabled = _sleep_enabled(definition, uv)
        preset_level(definition)  # validates sleep_level against sleep_mode
        env: dict[str, str] = {}
        if sleep_enabled:
            argv.append("--enable-sleep-mode")
            env["VLLM_SERVER_DEV_MODE"] = "1"
        if "extra_args" in uv:
            argv += v.extra_args(uv["extra_args"], "unit_vars.extra_args", RESERVED)
        return v.launch_spec(definition, argv, env)

    def health(self, definition: dict[str, Any]) -> Health:
        """`/health` answers 200 once the engine is up, and stays 200 while asleep."""
        return http.probe_health(definition)

    def sleep(self, definition: dict[str, Any], level: str) -> None:
        number = _level(level)
        try:
            http.call(definition, "POST", "/sleep", f"vLLM sleep at level {number}",
                      params={"level": str(number)}, timeout=_action_timeout(definition))
        except DriverError as exc:
            if exc.status == 404:
                raise DriverError(f"{exc} (vLLM has sleep endpoints only when started with "
                                  "VLLM_SERVER_DEV_MODE=1 and --enable-sleep-mode)",
                                  status=404) from None
            raise
        if self.is_sleeping(definition) is False:
            raise DriverError("vLLM accepted /sleep but /is_sleeping still says it is awake")

    def wake(self, definition: dict[str, Any], level: str | None = None) -> None:
        """Wake from `level` (the one it slept at; default: the preset's sleep level).

        Level 2 discarded the weights, so they are woken, reloaded from disk, then the KV cache is
        woken and the prefix cache (computed with the old weights) reset. Returns once vLLM says
        it is awake.
        """
        number = _level(level or preset_level(definition))
        timeout = _action_timeout(definition)
        if number == 1:
            http.call(definition, "POST", "/wake_up", "vLLM wake", timeout=timeout)
        else:
            http.call(definition, "POST", "/wake_up", "vLLM wake (weights)",
                      params={"tags": "weights"}, timeout=timeout)
            http.call(definition, "POST", "/collective_rpc", "vLLM reload_weights",
                      json={"method": "reload_weights"}, timeout=timeout)
            http.call(definition, "POST", "/wake_up", "vLLM wake (kv_cache)",
                      params={"tags": "kv_cache"}, timeout=timeout)
            http.call(definition, "POST", "/reset_prefix_cache", "vLLM reset_prefix_cache",
                      timeout=timeout)
        if self.is_sleeping(definition) is True:
            raise DriverError("vLLM answered the wake calls but /is_sleeping still says asleep")

    def is_sleeping(self, definition: dict[str, Any]) -> bool | None:
        body = http.get_json(definition, "/is_sleeping")
        if isinstance(body, dict) and isinstance(body.get("is_sleeping"), bool):
            return bool(body["is_sleeping"])
        return None


def preset_level(definition: dict[str, Any]) -> str:
    """The level this preset sleeps at: unit_vars.sleep_level, else sleep_mode, else l1."""
    uv = definition.get("unit_vars") or {}
    mode = v.field(definition, "sleep_mode")
    if mode not in ("none", "l1", "l2"):
        raise ValueError(f"vLLM sleeps at l1 or l2; sleep_mode {mode!r} is not one of them")
    if "sleep_level" in uv:
        level = f"l{v.integer(uv['sleep_level'], 'unit_vars.sleep_level', 1)}"
        if level not in ("l1", "l2"):
            raise ValueError(f"unit_vars.sleep_level must be 1 or 2, not {uv['sleep_level']!r}")
        if mode in ("l1", "l2") and mode != level:
            raise ValueError(f"unit_vars.sleep_level {uv['sleep_level']} contradicts "
                             f"sleep_mode {mode!r}")
        return level
    return str(mode) if mode in ("l1", "l2") else "l1"


def _model_args(definition: dict[str, Any]) -> list[str]:
    model_id, model_path = definition.get("model_id"), definition.get("model_path")
    if model_path is not None:
        args = [v.path(model_path, "model_path")]
        if model_id is not None:
            args += ["--served-model-name", v.value_arg(model_id, "model_id")]
        return args
    if model_id is None:
        raise ValueError(f"vLLM preset {definition.get('id')!r} needs model_id or model_path")
    return [v.value_arg(model_id, "model_id")]


def _max_model_len(definition: dict[str, Any], uv: dict[str, Any]) -> int | None:
    raw = definition.get("context_size")
    context = v.integer(raw, "context_size", 1) if raw is not None else None
    if "max_model_len" not in uv:
        return context
    length = v.integer(uv["max_model_len"], "unit_vars.max_model_len", 1)
    if context is not None and context != length:
        raise ValueError(f"context_size {context} contradicts unit_vars.max_model_len {length}")
    return length


def _sleep_enabled(definition: dict[str, Any], uv: dict[str, Any]) -> bool:
    supports = v.boolean(v.field(definition, "supports_sleep"), "supports_sleep")
    if "enable_sleep_mode" not in uv:
        return supports
    enabled = v.boolean(uv["enable_sleep_mode"], "unit_vars.enable_sleep_mode")
    if supports and not enabled:
        raise ValueError("supports_sleep is true but unit_vars.enable_sleep_mode is false")
    return enabled


def _level(level: str) -> int:
    try:
        return v.level_number(level)
    except ValueError as exc:
        raise DriverError(f"vLLM cannot sleep at {level!r}: {exc}") from None


def _action_timeout(definition: dict[str, Any]) -> float:
    return max(http.ACTION_TIMEOUT_S, v.startup_timeout(definition))


def _num(value: float) -> str:
    return format(value, "g")
