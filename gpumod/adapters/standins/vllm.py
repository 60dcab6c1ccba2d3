"""Stand-in for `vllm serve`: /health (200 also asleep), /v1/models, and the dev-mode endpoints
/sleep?level=1|2, /wake_up[?tags=weights|kv_cache], /is_sleeping, /collective_rpc,
/reset_prefix_cache. Those exist only with env VLLM_SERVER_DEV_MODE=1 (else 404, as in vLLM);
/sleep then also needs --enable-sleep-mode (else 500).

Memory: the whole size once loaded; asleep at level 1 it keeps `sleep_l1_mb`, at level 2
`sleep_l2_mb`. Waking the weights brings back 60% of what sleep freed, the KV cache the rest. After
a level-2 sleep the weights are garbage until `collective_rpc reload_weights` (state
`weights_valid`), as in vLLM.
"""

from __future__ import annotations

import os
import sys
import time
from typing import Any

from gpumod.adapters.standins.common import Reply, Request, Route, StandIn, gib, run

TAGS = ("weights", "kv_cache")
WEIGHTS_SHARE = 0.6


def _stamp() -> str:
    return time.strftime("%m-%d %H:%M:%S")


class VllmStandIn(StandIn):
    kind = "vllm"

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self.dev_mode = os.environ.get("VLLM_SERVER_DEV_MODE") == "1"
        self.sleep_enabled: bool = self.args.enable_sleep_mode
        self.asleep: set[str] = set()
        self.level: int | None = None
        self.weights_valid = True
        self.prefix_cache_resets = 0

    def startup_lines(self) -> list[str]:
        return [
            f"INFO {_stamp()} [api_server.py:1] vLLM API server version 0.0.0+gpumod-standin",
            f"INFO {_stamp()} [utils.py:1] non-default args: {{'model': '{self.model}', "
            f"'port': {self.port}, 'enable_sleep_mode': {self.sleep_enabled}}}",
            f"INFO {_stamp()} [gpu_model_runner.py:1] Starting to load model {self.model}...",
        ]

    def ready_lines(self) -> list[str]:
        return [
            f"INFO {_stamp()} [gpu_worker.py:1] Available KV cache memory: "
            f"{gib(self.size_mb * (1 - WEIGHTS_SHARE))}",
            f"INFO {_stamp()} [api_server.py:1] Starting vLLM API server 0 on "
            f"http://{self.args.host}:{self.port}",
            f"INFO:     Started server process [{self.pid}]",
            "INFO:     Waiting for application startup.",
            "INFO:     Application startup complete.",
        ]

    def oom_lines(self, need_mb: int, free_mb: int) -> list[str]:
        return [
            f"ERROR {_stamp()} [core.py:1] EngineCore failed to start.",
            "Traceback (most recent call last):",
            '  File "vllm/v1/engine/core.py", line 1, in run_engine_core',
            f"torch.OutOfMemoryError: CUDA out of memory. Tried to allocate {gib(need_mb)}. "
            f"GPU 0 has a total capacity of {gib(self.gpu.total_mb)} of which {free_mb:.2f} MiB "
            f"is free. Including non-PyTorch memory, this process has {gib(self.held_mb)} memory "
            "in use. If reserved but unallocated memory is large try setting "
            "PYTORCH_CUDA_ALLOC_CONF=expandable_segments:True to avoid fragmentation.",
            "RuntimeError: Engine core initialization failed. See root cause above. "
            "Failed core proc(s): {}",
        ]

    def crash_lines(self) -> list[str]:
        return [f"ERROR {_stamp()} [core.py:1] EngineCore encountered a fatal error.",
                "RuntimeError: CUDA error: an illegal memory access was encountered",
                f"ERROR {_stamp()} [async_llm.py:1] AsyncLLM output_handler failed.",
                "vllm.v1.engine.exceptions.EngineDeadError: EngineCore encountered an issue."]

    def shutdown_lines(self) -> list[str]:
        return ["INFO:     Shutting down", "INFO:     Waiting for application shutdown.",
                "INFO:     Application shutdown complete.",
                f"INFO:     Finished server process [{self.pid}]"]

    def state(self) -> dict[str, Any]:
        return {"dev_mode": self.dev_mode, "sleep_enabled": self.sleep_enabled,
                "asleep": sorted(self.asleep), "level": self.level,
                "weights_valid": self.weights_valid,
                "prefix_cache_resets": self.prefix_cache_resets}

    def routes(self) -> dict[tuple[str, str], Route]:
        routes: dict[tuple[str, str], Route] = {
            ("GET", "/health"): self.health, ("GET", "/v1/models"): self.models}
        if self.dev_mode:
            routes.update({
                ("POST", "/sleep"): self.sleep, ("POST", "/wake_up"): self.wake_up,
                ("GET", "/is_sleeping"): self.is_sleeping,
                ("POST", "/collective_rpc"): self.collective_rpc,
                ("POST", "/reset_prefix_cache"): self.reset_prefix_cache})
        return routes

    # ----- endpoints
    def health(self, _request: Request) -> Reply:
        if self.health_failing():
            return Reply(500, {"error": "EngineCore encountered an issue."})
        return Reply(200)

    def models(self, _request: Request) -> Reply:
        return Reply(200, {"object": "list", "data": [
            {"id": self.model, "object": "model", "owned_by": "vllm", "root": self.model}]})

    def sleep(self, request: Request) -> Reply:
        if self.b.sleep_404:
            return self.not_found()
        if not self.sleep_enabled:
            return Reply(500, {"error": "Sleep mode is not enabled: start vLLM with "
                                        "--enable-sleep-mode"})
        try:
            level = int(request.param("level") or "1")
        except ValueError:
            return Reply(400, {"error": "level must be 1 or 2"})
        if level not in (1, 2):
            return Reply(400, {"error": "level must be 1 or 2"})
        self.act()
        with self.lock:
            self.asleep, self.level = set(TAGS), level
            if level == 2:
                self.weights_valid = False
            self.hold(self._memory())
        self.log(f"INFO {_stamp()} [gpu_worker.py:1] Sleep mode level {level}: "
                 f"{self.held_mb} MiB still in use.")
        return Reply(200)

    def wake_up(self, request: Request) -> Reply:
        tags = request.query.get("tags") or list(TAGS)
        if any(tag not in TAGS for tag in tags):
            return Reply(400, {"error": f"unknown tags {tags}"})
        self.act()
        with self.lock:
            waking = self.asleep - set(tags)
            need = self._memory(waking)
            if need > self.held_mb and not self._fits(need):
                return Reply(500, {"error": self.oom_lines(need - self.held_mb, 0)[3]})
            self.asleep = waking
            if not self.asleep:
                self.level = None
            self.hold(self._memory())
        return Reply(200)

    def is_sleeping(self, _request: Request) -> Reply:
        return Reply(200, {"is_sleeping": bool(self.asleep)})

    def collective_rpc(self, request: Request) -> Reply:
        method = request.body.get("method") if isinstance(request.body, dict) else None
        if method != "reload_weights":
            return Reply(400, {"error": f"unsupported method {method!r}"})
        if "weights" in self.asleep:
            return Reply(500, {"error": "cannot reload weights while they are asleep"})
        self.act()
        self.weights_valid = True
        return Reply(200, {"results": [None]})

    def reset_prefix_cache(self, _request: Request) -> Reply:
        self.prefix_cache_resets += 1
        return Reply(200)

    # ----- memory
    def _memory(self, asleep: set[str] | None = None) -> int:
        asleep = self.asleep if asleep is None else asleep
        if not asleep:
            return self.size_mb
        keep = self.b.sleep_l1_mb if self.level == 1 else self.b.sleep_l2_mb
        keep = min(keep, self.size_mb)
        freed = self.size_mb - keep
        weights = round(freed * WEIGHTS_SHARE)
        return keep + (0 if "weights" in asleep else weights) + (
            0 if "kv_cache" in asleep else freed - weights)

    def _fits(self, need: int) -> bool:
        return need <= self.available_mb()


def main(argv: list[str] | None = None) -> int:
    return run(VllmStandIn, argv)


if __name__ == "__main__":
    sys.exit(main())
