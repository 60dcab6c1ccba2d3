"""A FastAPI (or any ASGI) app under uvicorn: configurable health path, optional sleep/wake.

Command line: `PYTHON -m uvicorn APP_MODULE --host 127.0.0.1 --port P [--workers N]`, run in
unit_vars.working_dir.

Preset field -> command line:
    port                       --port (always with --host 127.0.0.1)
    unit_vars.app_module       APP_MODULE, e.g. `embedding_server:app` (required)
    unit_vars.working_dir      the process's working directory (required, absolute; $HOME expanded)
    unit_vars.python           the interpreter (default `python3`; e.g. the app's venv python)
    unit_vars.workers          --workers
    unit_vars.extra_args       appended, split like a shell would (no shell runs)
    model_id / model_path      environment GPUMOD_MODEL_ID / GPUMOD_MODEL_PATH, for the app to read
    health_endpoint            the health path probed (default /health)
    unit_vars.sleep_endpoint   POSTed to sleep; without it sleep is not supported (DriverError)
    unit_vars.wake_endpoint    POSTed to wake; wake then waits for the health path to answer 2xx
"""

from __future__ import annotations

import re
from typing import Any

from gpumod.adapters.drivers import http
from gpumod.adapters.drivers import validation as v
from gpumod.adapters.drivers.base import DriverError, Health
from gpumod.adapters.process.base import LaunchSpec

ACCEPTED = ("app_module", "working_dir", "python", "workers", "extra_args", "sleep_endpoint",
            "wake_endpoint")
RESERVED = ("--port", "--host", "--uds", "--fd", "--workers", "--app-dir", "--reload")
APP_MODULE = re.compile(r"^[A-Za-z_][A-Za-z0-9_.]*:[A-Za-z_][A-Za-z0-9_.]*(\(\))?$")


class FastApiDriver:
    name = "fastapi"

    def launch_spec(self, definition: dict[str, Any]) -> LaunchSpec:
        uv = v.unit_vars(definition, self.name, ACCEPTED)
        port = v.port(definition)
        for key in ("app_module", "working_dir"):
            if key not in uv:
                raise ValueError(f"fastapi preset {definition.get('id')!r} needs unit_vars.{key}")
        app = v.text(uv["app_module"], "unit_vars.app_module")
        if not APP_MODULE.fullmatch(app):
            raise ValueError(
                f"unit_vars.app_module must look like 'package.module:app', not {app!r}")
        cwd = v.path(uv["working_dir"], "unit_vars.working_dir", absolute=True)
        python = v.path(uv.get("python", "python3"), "unit_vars.python")
        argv = [python, "-m", "uvicorn", app, "--host", v.HOST, "--port", str(port)]
        if "workers" in uv:
            argv += ["--workers", str(v.integer(uv["workers"], "unit_vars.workers", 1))]
        if "extra_args" in uv:
            argv += v.extra_args(uv["extra_args"], "unit_vars.extra_args", RESERVED)
        for key in ("sleep_endpoint", "wake_endpoint"):
            if key in uv:
                v.url_path(uv[key], f"unit_vars.{key}")
        env: dict[str, str] = {}
        if definition.get("model_id") is not None:
            env["GPUMOD_MODEL_ID"] = v.text(definition["model_id"], "model_id")
        if definition.get("model_path") is not None:
            env["GPUMOD_MODEL_PATH"] = v.path(definition["model_path"], "model_path")
        return v.launch_spec(definition, argv, env, cwd=cwd)

    def health(self, definition: dict[str, Any]) -> Health:
        return http.probe_health(definition)

    def sleep(self, definition: dict[str, Any], level: str) -> None:
        if level not in ("l1", "l2", "router"):
            raise DriverError(f"unknown sleep level {level!r}")
        http.call(definition, "POST", _endpoint(definition, "sleep_endpoint", "sleep"),
                  "fastapi sleep", timeout=v.startup_timeout(definition))

    def wake(self, definition: dict[str, Any], level: str | None = None) -> None:
        http.call(definition, "POST", _endpoint(definition, "wake_endpoint", "wake"),
                  "fastapi wake", timeout=v.startup_timeout(definition))
        http.poll(lambda: True if self.health(definition).ready else None,
                  v.startup_timeout(definition), "fastapi wake (health)")

    def is_sleeping(self, definition: dict[str, Any]) -> bool | None:
        return None  # no standard way for an app to say so


def _endpoint(definition: dict[str, Any], key: str, what: str) -> str:
    value = (definition.get("unit_vars") or {}).get(key)
    if value is None:
        raise DriverError(f"fastapi service {definition.get('id')!r} cannot {what}: its preset "
                          f"names no unit_vars.{key} (not supported)")
    return v.url_path(value, f"unit_vars.{key}")

