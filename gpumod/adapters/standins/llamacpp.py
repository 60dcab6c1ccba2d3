"""Stand-in for llama.cpp's `llama-server`, single-model or router (--models-dir).

Single model: listens at once; `/health` answers 503 {"error": {"message": "Loading model"}} for
load_s, then 200 {"status": "ok"}; /v1/models and /models list the model.

Router: `/health` is 200 once the router is up (load_s); `GET /models` lists the --model and any
*.gguf in --models-dir with `status.value` unloaded/loading/loaded (a failed load: unloaded with
`failed: true, exit_code: 1`). `POST /models/load {"model"}` answers at once and the model is
`loading` for model_load_s, then `loaded` (or fails with the CUDA OOM lines when it does not fit
or oom is set); beyond --models-max the least recently used model is unloaded.
`POST /models/unload {"model"}` unloads (400 when not loaded). The router holds no GPU memory of
its own; loaded models are held under the router's pid (a real router's children hold them).
"""

from __future__ import annotations

import sys
import threading
import time
from pathlib import Path
from typing import Any

from gpumod.adapters.standins.common import MIB, Reply, Request, Route, StandIn, run


def _error(status: int, message: str, kind: str) -> Reply:
    return Reply(status, {"error": {"code": status, "message": message, "type": kind}})


class LlamaCppStandIn(StandIn):
    kind = "llamacpp"
    listens_while_loading = True

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self.router = self.args.models_dir is not None
        self.models: dict[str, dict[str, Any]] = {}
        self.order: list[str] = []  # least recently used first
        if self.router:
            names = [self.args.model] if self.args.model else []
            folder = Path(self.args.models_dir)
            if folder.is_dir():
                names += sorted(p.stem for p in folder.glob("*.gguf"))
            for name in dict.fromkeys(names):
                self.models[name] = {"value": "unloaded"}

    # ----- lines
    def startup_lines(self) -> list[str]:
        lines = ["build: 0 (gpumod-standin) for x86_64-linux-gnu (simulated GPU)",
                 "main: binding port with default address family",
                 f"main: HTTP server is listening, hostname: {self.args.host}, port: {self.port}, "
                 "http threads: 4"]
        if self.router:
            return [*lines, f"srv   load_models: router mode, models dir '{self.args.models_dir}', "
                            f"{len(self.models)} model(s) found"]
        return [*lines, "main: loading model", f"srv    load_model: loading model '{self.model}'"]

    def ready_lines(self) -> list[str]:
        if self.router:
            return [f"main: router server is listening on http://{self.args.host}:{self.port}"]
        return ["main: model loaded",
                f"main: server is listening on http://{self.args.host}:{self.port} - "
                "starting the main loop",
                "srv  update_slots: all slots are idle"]

    def oom_lines(self, need_mb: int, free_mb: int) -> list[str]:
        return [
            "ggml_backend_cuda_buffer_type_alloc_buffer: allocating "
            f"{need_mb:.2f} MiB on device 0: cudaMalloc failed: out of memory",
            f"alloc_tensor_range: failed to allocate CUDA0 buffer of size {need_mb * MIB}",
            "llama_model_load: error loading model: unable to allocate CUDA0 buffer",
            "llama_model_load_from_file_impl: failed to load model",
            f"common_init_from_params: failed to load model '{self.model}'",
            f"srv    load_model: failed to load model, '{self.model}'",
            "main: exiting due to model loading error",
        ]

    def crash_lines(self) -> list[str]:
        return ["CUDA error: an illegal memory access was encountered",
                "  current device: 0, in function ggml_backend_cuda_synchronize",
                "ggml/src/ggml-cuda/ggml-cuda.cu:1: CUDA error"]

    def shutdown_lines(self) -> list[str]:
        return ["srv    operator(): operator(): cleaning up before exit..."]

    def not_found(self) -> Reply:
        return _error(404, "File Not Found", "not_found_error")

    def state(self) -> dict[str, Any]:
        return {"router": self.router,
                "models": {name: dict(s) for name, s in self.models.items()}}

    # ----- loading
    def begin_load(self) -> None:
        if not self.router:
            super().begin_load()

    def finish_load(self) -> bool:
        return True if self.router else super().finish_load()

    def routes(self) -> dict[tuple[str, str], Route]:
        routes: dict[tuple[str, str], Route] = {
            ("GET", "/health"): self.health, ("GET", "/v1/health"): self.health,
            ("GET", "/models"): self.list_models, ("GET", "/v1/models"): self.list_models}
        if self.router:
            routes.update({("POST", "/models/load"): self.load,
                           ("POST", "/models/unload"): self.unload})
        return routes

    # ----- endpoints
    def health(self, _request: Request) -> Reply:
        if not self.ready():
            return _error(503, "Loading model", "unavailable_error")
        if self.health_failing():
            return _error(500, "CUDA error: an illegal memory access was encountered",
                          "server_error")
        return Reply(200, {"status": "ok"})

    def list_models(self, _request: Request) -> Reply:
        if not self.router:
            return Reply(200, {"object": "list", "data": [
                {"id": self.model, "object": "model", "owned_by": "llamacpp"}]})
        with self.lock:
            data = [{"id": name, "object": "model", "owned_by": "llamacpp", "in_cache": False,
                     "path": str(Path(self.args.models_dir) / f"{name}.gguf"),
                     "status": {**status, "args": ["llama-server", "--port", "0"]}}
                    for name, status in self.models.items()]
        return Reply(200, {"object": "list", "data": data})

    def load(self, request: Request) -> Reply:
        name = request.body.get("model") if isinstance(request.body, dict) else None
        with self.lock:
            if name not in self.models:  # as the real router answers
                return _error(404, "File Not Found", "not_found_error")
            if self.models[name]["value"] in ("loaded", "loading"):
                return _error(400, "model is already running", "invalid_request_error")
            self.models[name] = {"value": "loading"}
            loaded = [n for n in self.order if self.models[n]["value"] == "loaded"]
            if self.args.models_max and len(loaded) >= self.args.models_max:
                self._drop(loaded[0])
        threading.Thread(target=self._finish_model_load, args=(name,), daemon=True).start()
        return Reply(200, {"success": True})

    def unload(self, request: Request) -> Reply:
        if self.b.sleep_404:
            return self.not_found()
        name = request.body.get("model") if isinstance(request.body, dict) else None
        self.act()
        with self.lock:
            if name not in self.models:
                return _error(400, "model is not found", "invalid_request_error")
            if self.models[name]["value"] != "loaded":
                return _error(400, "model is not running", "invalid_request_error")
            self._drop(name)
        self.log(f"srv    unload: model '{name}' unloaded")
        return Reply(200, {"success": True})

    def _drop(self, name: str) -> None:
        self.models[name] = {"value": "unloaded"}
        if name in self.order:
            self.order.remove(name)
        self.hold(self._loaded_mb())

    def _loaded_mb(self) -> int:
        return sum(self.size_mb for s in self.models.values() if s["value"] == "loaded")

    def _finish_model_load(self, name: str) -> None:
        time.sleep(self.b.model_load_s)
        with self.lock:
            if self.models.get(name, {}).get("value") != "loading":
                return
            self.log(f"[{name}] srv    load_model: loading model '{name}'")
            need = self._loaded_mb() + self.size_mb
            if not self.b.oom and need <= self.available_mb():
                self.models[name] = {"value": "loaded"}
                self.order.append(name)
                self.hold(self._loaded_mb())
                self.log(f"[{name}] main: model loaded")
                return
            free = max(self.available_mb() - self._loaded_mb(), 0)
            previous, self.model = self.model, name
            self.log(*(f"[{name}] {line}" for line in self.oom_lines(self.size_mb, free)))
            self.model = previous
            self.models[name] = {"value": "unloaded", "failed": True, "exit_code": 1}


def main(argv: list[str] | None = None) -> int:
    return run(LlamaCppStandIn, argv)


if __name__ == "__main__":
    sys.exit(main())
