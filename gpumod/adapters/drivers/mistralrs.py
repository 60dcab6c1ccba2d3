"""mistral.rs (`mistralrs serve`): an OpenAI-compatible server; health, and sleep/wake as model
unload/reload where the server offers them.

Command line: `mistralrs serve --host 127.0.0.1 --port P -m MODEL [flags]`.

Preset field -> command line:
    model_id / model_path          -m (a Hugging Face id, or a local path with $HOME expanded)
    port                           --port (always with --host 127.0.0.1)
    context_size                   --pa-context-len (sizes the paged-attention KV cache)
    unit_vars.format               --format (plain, gguf, ggml)
    unit_vars.quantized_file       -f (GGUF/GGML file name(s))
    unit_vars.tok_model_id         --tok-model-id
    unit_vars.dtype                --dtype
    unit_vars.isq                  --isq (in-situ quantization level)
    unit_vars.max_seqs             --max-seqs
    unit_vars.extra_args           appended, split like a shell would (no shell runs)

Server API used: `GET /health` (200 once listening: the model loads before the server listens),
`GET /v1/models` (each model with `status`: loaded, unloaded, reloading),
`POST /v1/models/unload` and `POST /v1/models/reload` with `{"model_id": ...}`. A server without
them answers 404: sleep and wake then raise DriverError (status 404), "not supported".
"""

from __future__ import annotations

from typing import Any

from gpumod.adapters.drivers import http
from gpumod.adapters.drivers import validation as v
from gpumod.adapters.drivers.base import DriverError, Health
from gpumod.adapters.process.base import LaunchSpec

ACCEPTED = ("format", "quantized_file", "tok_model_id", "dtype", "isq", "max_seqs", "extra_args")
FORMATS = ("plain", "gguf", "ggml")
RESERVED = ("--port", "-p", "--host", "-m", "--model-id", "--format", "-f", "--quantized-file",
            "--tok-model-id", "--dtype", "--isq", "--max-seqs", "--pa-context-len")


class MistralRsDriver:
    name = "mistralrs"

    def __init__(self, binary: str = "mistralrs") -> None:
        self.binary = binary

    def launch_spec(self, definition: dict[str, Any]) -> LaunchSpec:
        uv = v.unit_vars(definition, self.name, ACCEPTED)
        port = v.port(definition)
        mode = v.field(definition, "sleep_mode")
        if mode not in ("none", "l1", "l2"):
            raise ValueError(f"mistral.rs sleeps by unloading its model (sleep_mode l1 or l2), "
                             f"not {mode!r}")
        argv = [self.binary, "serve", "--host", v.HOST, "--port", str(port),
                "-m", served_model(definition)]
        if "format" in uv:
            argv += ["--format", v.choice(uv["format"], "unit_vars.format", FORMATS)]
        if "quantized_file" in uv:
            argv += ["-f", v.value_arg(uv["quantized_file"], "unit_vars.quantized_file")]
        if "tok_model_id" in uv:
            argv += ["--tok-model-id", v.value_arg(uv["tok_model_id"], "unit_vars.tok_model_id")]
        if "dtype" in uv:
            argv += ["--dtype", v.value_arg(uv["dtype"], "unit_vars.dtype")]
        if "isq" in uv:
            argv += ["--isq", v.value_arg(str(uv["isq"]), "unit_vars.isq")]
        if "max_seqs" in uv:
            argv += ["--max-seqs", str(v.integer(uv["max_seqs"], "unit_vars.max_seqs", 1))]
        if definition.get("context_size") is not None:
            argv += ["--pa-context-len", str(v.integer(definition["context_size"],
                                                       "context_size", 1))]
        if "extra_args" in uv:
            argv += v.extra_args(uv["extra_args"], "unit_vars.extra_args", RESERVED)
        return v.launch_spec(definition, argv)

    def health(self, definition: dict[str, Any]) -> Health:
        return http.probe_health(definition)

    def sleep(self, definition: dict[str, Any], level: str) -> None:
        """Unload the model (any level: mistral.rs has one kind of sleep); done when unloaded."""
        if level not in ("l1", "l2", "router"):
            raise DriverError(f"unknown sleep level {level!r}")
        model = self._target(definition)
        _supported(lambda: http.call(definition, "POST", "/v1/models/unload",
                                     f"mistral.rs unload {model!r}", json={"model_id": model},
                                     timeout=v.startup_timeout(definition)), "unload")
        http.poll(lambda: True if _status(definition, model) == "unloaded" else None,
                  v.startup_timeout(definition), f"mistral.rs unload of {model!r}")

    def wake(self, definition: dict[str, Any], level: str | None = None) -> None:
        """Reload the model; returns once `/v1/models` reports it `loaded`.

        A reload may answer at once ("reloading") or once done; a model that falls back to
        `unloaded` after it was reloading failed to load (e.g. out of memory).
        """
        model = self._target(definition)
        replies: list[http.Reply] = []
        _supported(lambda: replies.append(http.call(
            definition, "POST", "/v1/models/reload", f"mistral.rs reload {model!r}",
            json={"model_id": model}, timeout=v.startup_timeout(definition))), "reload")
        answer = replies[0].json if replies and isinstance(replies[0].json, dict) else {}
        if answer.get("error") or answer.get("status") == "unloaded":
            raise DriverError(f"mistral.rs failed to reload {model!r}: "
                              f"{answer.get('error') or 'still unloaded'}")
        seen_reloading = answer.get("status") == "reloading"

        def loaded() -> bool | None:
            nonlocal seen_reloading
            status = _status(definition, model)
            if status in ("loaded", ""):
                return True
            if status == "reloading":
                seen_reloading = True
            elif status == "unloaded" and seen_reloading:
                raise DriverError(f"mistral.rs failed to reload {model!r}: it is unloaded again")
            return None

        http.poll(loaded, v.startup_timeout(definition), f"mistral.rs reload of {model!r}")

    def is_sleeping(self, definition: dict[str, Any]) -> bool | None:
        body = http.get_json(definition, "/v1/models")
        if body is None:
            return None
        models = _parse(body)
        name = served_model(definition)
        entry = models.get(name) if name in models else (
            next(iter(models.values())) if len(models) == 1 else None)
        if entry is None:
            return None
        status = entry.get("status")
        if status is None or status == "loaded":
            return False
        return status in ("unloaded", "reloading") or None

    def _target(self, definition: dict[str, Any]) -> str:
        """The id the server lists for this preset's model (the only one, if names differ)."""
        reply = http.call(definition, "GET", "/v1/models", "mistral.rs list models",
                          timeout=http.PROBE_TIMEOUT_S)
        models = _parse(reply.json)
        name = served_model(definition)
        if name in models:
            return name
        if len(models) == 1:
            return next(iter(models))
        raise DriverError(f"mistral.rs does not list model {name!r} (it lists {sorted(models)})")


def served_model(definition: dict[str, Any]) -> str:
    model_id, model_path = definition.get("model_id"), definition.get("model_path")
    if model_id is not None and model_path is not None:
        raise ValueError("mistral.rs takes model_id (a Hugging Face id) or model_path "
                         "(a local path), not both")
    if model_path is not None:
        return v.path(model_path, "model_path")
    if model_id is None:
        raise ValueError(f"mistral.rs preset {definition.get('id')!r} needs model_id or model_path")
    return v.value_arg(model_id, "model_id")


def _supported(action: Any, what: str) -> None:
    try:
        action()
    except DriverError as exc:
        if exc.status == 404:
            raise DriverError(f"this mistral.rs server does not support model {what} "
                              f"(404): {exc}", status=404) from None
        raise


def _status(definition: dict[str, Any], model: str) -> str | None:
    """The model's status ('' when the server reports none), None when unreadable."""
    body = http.get_json(definition, "/v1/models")
    entry = None if body is None else _parse(body).get(model)
    if entry is None:
        return None
    status = entry.get("status")
    return str(status) if status is not None else ""


def _parse(body: Any) -> dict[str, dict[str, Any]]:
    items = body.get("data", []) if isinstance(body, dict) else []
    return {str(i["id"]): i for i in items if isinstance(i, dict) and "id" in i}

