"""llama.cpp `llama-server`: single-model and router mode, health, router sleep/wake.

Single model: `llama-server -m MODEL_PATH --port P --host 127.0.0.1 [-c N] [-ngl N] [--jinja]`.
Router (unit_vars.models_dir): `llama-server --models-dir DIR [--models-max N]
[--no-models-autoload] --port P --host 127.0.0.1 [-c N] [-ngl N] [--jinja]`.

Preset field -> command line:
    model_path / unit_vars.model_path   -m (single-model; $HOME is expanded)
    model_id                            -hf MODEL_ID when no model file or models_dir is given;
                                        otherwise descriptive only (the file says what runs)
    port                                --port (always with --host 127.0.0.1)
    context_size / unit_vars.context_size  -c
    unit_vars.n_gpu_layers              -ngl
    unit_vars.jinja                     --jinja (when true)
    unit_vars.models_dir                --models-dir (router mode; $HOME is expanded)
    unit_vars.models_max                --models-max
    unit_vars.no_models_autoload        --no-models-autoload (when true)
    unit_vars.default_model             gpumod's: the model router sleep unloads and wake loads
    unit_vars.extra_args                appended, split like a shell would (no shell runs)

`/health` answers 503 while the model loads (not ready), 200 once it can serve. A router wake is
finished only when `GET /models` reports the model `loaded`, not when `/models/load` returns.
A model whose process idled asleep (`--sleep-idle-seconds` in extra_args) is `sleeping`: still
running, so `/models/load` refuses it (400 "model is already running") and `/models/unload`
takes it; any request routed to it wakes it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from gpumod.adapters.drivers import http
from gpumod.adapters.drivers import validation as v
from gpumod.adapters.drivers.base import DriverError, Health
from gpumod.adapters.process.base import LaunchSpec

ACCEPTED = ("model_path", "context_size", "n_gpu_layers", "jinja", "extra_args", "models_dir",
            "models_max", "no_models_autoload", "default_model")
ACTIVE = ("loaded", "loading", "sleeping")  # a model process runs: unload stops it
ROUTER_ONLY = ("models_max", "no_models_autoload", "default_model")
RESERVED = ("--port", "--host", "-m", "--model", "-hf", "--hf-repo", "-c", "--ctx-size", "-ngl",
            "--gpu-layers", "--n-gpu-layers", "--jinja", "--no-jinja", "--models-dir",
            "--models-max", "--models-autoload", "--no-models-autoload")


class LlamaCppDriver:
    name = "llamacpp"

    def __init__(self, binary: str = "llama-server") -> None:
        self.binary = binary

    def launch_spec(self, definition: dict[str, Any]) -> LaunchSpec:
        uv = v.unit_vars(definition, self.name, ACCEPTED)
        port = v.port(definition)
        router = is_router(definition)
        mode = v.field(definition, "sleep_mode")
        if mode not in ("none", "router"):
            raise ValueError(f"llama-server sleeps only in router mode (sleep_mode router), "
                             f"not {mode!r}")
        if mode == "router" and not router:
            raise ValueError("sleep_mode router needs unit_vars.models_dir (router mode)")
        if router:
            argv = [self.binary, "--models-dir", v.path(uv["models_dir"], "unit_vars.models_dir")]
            if _model_file(definition, uv) is not None:
                raise ValueError("a router (unit_vars.models_dir) takes no model_path")
            if "models_max" in uv:
                models_max = v.integer(uv["models_max"], "unit_vars.models_max", 0)
                argv += ["--models-max", str(models_max)]
            if "no_models_autoload" in uv and v.boolean(uv["no_models_autoload"],
                                                        "unit_vars.no_models_autoload"):
                argv.append("--no-models-autoload")
            if "default_model" in uv:
                v.value_arg(uv["default_model"], "unit_vars.default_model")
            argv += ["--port", str(port), "--host", v.HOST]
        else:
            for key in ROUTER_ONLY:
                if key in uv:
                    raise ValueError(f"unit_vars.{key} applies only to router mode "
                                     "(set unit_vars.models_dir)")
            model_file = _model_file(definition, uv)
            if model_file is not None:
                argv = [self.binary, "-m", model_file]
            elif definition.get("model_id") is not None:
                argv = [self.binary, "-hf", v.value_arg(definition["model_id"], "model_id")]
            else:
                raise ValueError(f"llama.cpp preset {definition.get('id')!r} needs model_path, "
                                 "unit_vars.models_dir or model_id")
            argv += ["--port", str(port), "--host", v.HOST]
        context = _context(definition, uv)
        if context is not None:
            argv += ["-c", str(context)]
        if "n_gpu_layers" in uv:
            argv += ["-ngl", str(v.integer(uv["n_gpu_layers"], "unit_vars.n_gpu_layers", -1))]
        if "jinja" in uv and v.boolean(uv["jinja"], "unit_vars.jinja"):
            argv.append("--jinja")
        if "extra_args" in uv:
            argv += v.extra_args(uv["extra_args"], "unit_vars.extra_args", RESERVED)
        return v.launch_spec(definition, argv)

    def health(self, definition: dict[str, Any]) -> Health:
        """200 when ready; 503 ("Loading model") while loading is not ready."""
        return http.probe_health(definition)

    def sleep(self, definition: dict[str, Any], level: str) -> None:
        """Router mode: unload the default model (or every loaded one); done when unloaded."""
        self._need_router(definition, "sleep")
        if level != "router":
            raise DriverError(f"llama-server sleeps only at level 'router', not {level!r}")
        default = default_model(definition)
        targets = [default] if default else [
            m for m, entry in _models(definition).items() if _status(entry) in ACTIVE]
        for model in targets:
            http.call(definition, "POST", "/models/unload", f"llama-server unload {model!r}",
                      json={"model": model}, timeout=v.startup_timeout(definition))
        for model in targets:
            http.poll(_unloaded(definition, model), v.startup_timeout(definition),
                      f"llama-server unload of {model!r}")

    def wake(self, definition: dict[str, Any], level: str | None = None) -> None:
        """Router mode: load the default model and return only once `/models` says `loaded`."""
        self._need_router(definition, "wake")
        model = default_model(definition)
        if not model:
            raise DriverError("llama-server router wake needs unit_vars.default_model")
        timeout = v.startup_timeout(definition)
        entry = _models(definition).get(model)
        if entry is None:
            raise DriverError(f"llama-server router does not list model {model!r}")
        if _status(entry) == "sleeping":
            # Routed to the model's process, any request wakes it (and answers once awake).
            http.request(definition, "GET", "/slots", params={"model": model}, timeout=timeout)
        elif _status(entry) not in ("loaded", "loading"):
            http.call(definition, "POST", "/models/load", f"llama-server load {model!r}",
                      json={"model": model}, timeout=timeout)

        def loaded() -> bool | None:
            current = _models(definition).get(model)
            status = _status(current)
            if status == "loaded":
                return True
            if status in ("unloaded", None) and isinstance(current, dict) and _failed(current):
                detail = current.get("status", {})
                raise DriverError(f"llama-server failed to load {model!r} "
                                  f"(exit code {detail.get('exit_code')})")
            return None

        http.poll(loaded, timeout, f"llama-server load of {model!r}")

    def is_sleeping(self, definition: dict[str, Any]) -> bool | None:
        if not is_router(definition):
            return False if http.answers(definition, "/health") else None
        body = http.get_json(definition, "/models")
        if body is None:
            return None
        models = _parse_models(body)
        default = default_model(definition)
        if not default:
            return not any(_status(e) == "loaded" for e in models.values())
        status = _status(models.get(default))
        if status == "loaded":
            return False
        if status in ("unloaded", "sleeping"):
            return True
        return None

    def _need_router(self, definition: dict[str, Any], what: str) -> None:
        if not is_router(definition):
            raise DriverError(f"llama-server in single-model mode cannot {what} "
                              "(router mode needs unit_vars.models_dir)")


def is_router(definition: dict[str, Any]) -> bool:
    return "models_dir" in (definition.get("unit_vars") or {})


def default_model(definition: dict[str, Any]) -> str | None:
    value = (definition.get("unit_vars") or {}).get("default_model")
    return v.value_arg(value, "unit_vars.default_model") if value is not None else None


def _unloaded(definition: dict[str, Any], model: str) -> Callable[[], bool | None]:
    def check() -> bool | None:
        return True if _status(_models(definition).get(model)) not in ACTIVE else None

    return check


def _model_file(definition: dict[str, Any], uv: dict[str, Any]) -> str | None:
    top, inner = definition.get("model_path"), uv.get("model_path")
    if top is not None and inner is not None and top != inner:
        raise ValueError(f"model_path {top!r} contradicts unit_vars.model_path {inner!r}")
    chosen = inner if inner is not None else top
    return v.path(chosen, "model_path") if chosen is not None else None


def _context(definition: dict[str, Any], uv: dict[str, Any]) -> int | None:
    top = definition.get("context_size")
    inner = uv.get("context_size")
    top_n = v.integer(top, "context_size", 1) if top is not None else None
    inner_n = v.integer(inner, "unit_vars.context_size", 1) if inner is not None else None
    if top_n is not None and inner_n is not None and top_n != inner_n:
        raise ValueError(f"context_size {top_n} contradicts unit_vars.context_size {inner_n}")
    return inner_n if inner_n is not None else top_n


def _models(definition: dict[str, Any]) -> dict[str, Any]:
    reply = http.call(definition, "GET", "/models", "llama-server list models",
                      timeout=http.PROBE_TIMEOUT_S)
    return _parse_models(reply.json)


def _parse_models(body: Any) -> dict[str, Any]:
    """`{"data": [{"id": ..., "status": {"value": ...}}]}` (older servers: a bare list)."""
    items = body.get("data", []) if isinstance(body, dict) else body
    if not isinstance(items, list):
        return {}
    return {str(item["id"]): item for item in items if isinstance(item, dict) and "id" in item}


def _status(entry: Any) -> str | None:
    if not isinstance(entry, dict):
        return None
    status = entry.get("status")
    if isinstance(status, dict):
        value = status.get("value")
        return str(value) if value is not None else None
    return str(status) if isinstance(status, str) else None


def _failed(entry: dict[str, Any]) -> bool:
    status = entry.get("status")
    return isinstance(status, dict) and bool(status.get("failed"))

