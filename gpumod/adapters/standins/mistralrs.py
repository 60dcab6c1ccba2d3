"""Stand-in for `mistralrs serve`: the model loads before the server listens; `GET /health` is 200
once listening (it says nothing of the model); `GET /v1/models` lists the model with `status`
loaded/unloaded/reloading; `POST /v1/models/unload {"model_id"}` unloads at once (keeping
`sleep_l2_mb`, the CUDA context) and `POST /v1/models/reload {"model_id"}` answers `reloading` and
the model is `loaded` model_load_s later. With sleep_404 both answer 404, as a server without them.
"""

from __future__ import annotations

import sys
import threading
import time
from typing import Any

from gpumod.adapters.standins.common import Reply, Request, Route, StandIn, run


def _log(level: str, target: str, message: str) -> str:
    return f"{time.strftime('%Y-%m-%dT%H:%M:%S')}.000000Z  {level} {target}: {message}"


class MistralRsStandIn(StandIn):
    kind = "mistralrs"

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self.status = "loaded"
        self.error: str | None = None

    def startup_lines(self) -> list[str]:
        return [_log("INFO", "mistralrs_server_core::mistralrs_for_server_builder",
                     "avx: true, neon: false, simd128: false, f16c: true"),
                _log("INFO", "mistralrs_core::pipeline::normal",
                     f"Loading model `{self.model}` on cuda[0] (simulated GPU)...")]

    def ready_lines(self) -> list[str]:
        return [_log("INFO", "mistralrs_core", "Model loaded."),
                _log("INFO", "mistralrs_server", f"OpenAI-compatible server listening on "
                                                 f"http://{self.args.host}:{self.port}."),
                _log("INFO", "mistralrs_server", f"Serving on http://{self.args.host}:{self.port}.")]

    def oom_lines(self, need_mb: int, free_mb: int) -> list[str]:
        return [f'Error: DriverError(CUDA_ERROR_OUT_OF_MEMORY, "out of memory") '
                f"(allocating {need_mb} MiB, {free_mb} MiB free)"]

    def crash_lines(self) -> list[str]:
        return ["thread '<unnamed>' panicked at mistralrs-core/src/engine/mod.rs:1:1:",
                "DriverError(CUDA_ERROR_ILLEGAL_ADDRESS, "
                '"an illegal memory access was encountered")']

    def not_found(self) -> Reply:
        return Reply(404, "")

    def state(self) -> dict[str, Any]:
        return {"status": self.status, "error": self.error}

    def routes(self) -> dict[tuple[str, str], Route]:
        return {("GET", "/health"): self.health, ("GET", "/v1/models"): self.models,
                ("POST", "/v1/models/unload"): self.unload,
                ("POST", "/v1/models/reload"): self.reload}

    def health(self, _request: Request) -> Reply:
        if self.health_failing():
            return Reply(500, {"message": "engine dead"})
        return Reply(200, "OK")

    def models(self, _request: Request) -> Reply:
        return Reply(200, {"object": "list", "data": [
            {"id": self.model, "object": "model", "created": int(self.started),
             "owned_by": "local", "status": self.status}]})

    def _check(self, request: Request) -> Reply | None:
        if self.b.sleep_404:
            return self.not_found()
        model = request.body.get("model_id") if isinstance(request.body, dict) else None
        if model != self.model:
            return Reply(400, {"model_id": str(model), "status": "unloaded",
                               "error": f"model {model!r} not found"})
        return None

    def unload(self, request: Request) -> Reply:
        refused = self._check(request)
        if refused:
            return refused
        self.act()
        with self.lock:
            self.status = "unloaded"
            self.hold(min(self.size_mb, self.b.sleep_l2_mb))
        return Reply(200, {"model_id": self.model, "status": "unloaded", "error": None})

    def reload(self, request: Request) -> Reply:
        refused = self._check(request)
        if refused:
            return refused
        with self.lock:
            if self.status != "unloaded":
                return Reply(200, {"model_id": self.model, "status": self.status, "error": None})
            self.status, self.error = "reloading", None
        threading.Thread(target=self._finish_reload, daemon=True).start()
        return Reply(200, {"model_id": self.model, "status": "reloading", "error": None})

    def _finish_reload(self) -> None:
        time.sleep(self.b.model_load_s)
        with self.lock:
            if self.claim(self.size_mb):
                self.status = "loaded"
            else:
                self.status, self.error = "unloaded", "CUDA_ERROR_OUT_OF_MEMORY"
                self.hold(min(self.size_mb, self.b.sleep_l2_mb))


def main(argv: list[str] | None = None) -> int:
    return run(MistralRsStandIn, argv)


if __name__ == "__main__":
    sys.exit(main())
