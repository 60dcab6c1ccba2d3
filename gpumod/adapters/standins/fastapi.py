"""Stand-in for a FastAPI app under uvicorn, and for a container serving HTTP: it loads (load_s)
before listening, as uvicorn runs the app's start-up before binding; the health path
(--health-path, default /health) answers 200 {"status": "ok"}. Optional --sleep-path and
--wake-path (POST): sleep keeps `sleep_l2_mb`, wake takes the full size back; without them those
paths are 404, like any unknown path.
"""

from __future__ import annotations

import sys
from typing import Any

from gpumod.adapters.standins.common import Reply, Request, Route, StandIn, gib, run


class FastApiStandIn(StandIn):
    kind = "fastapi"
    exit_code_on_oom = 3  # uvicorn's code when the application start-up fails

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self.sleeping = False

    def startup_lines(self) -> list[str]:
        return [f"INFO:     Started server process [{self.pid}]",
                "INFO:     Waiting for application startup."]

    def ready_lines(self) -> list[str]:
        return ["INFO:     Application startup complete.",
                f"INFO:     Uvicorn running on http://{self.args.host}:{self.port} "
                "(Press CTRL+C to quit)"]

    def oom_lines(self, need_mb: int, free_mb: int) -> list[str]:
        return ["ERROR:    Traceback (most recent call last):",
                f"torch.OutOfMemoryError: CUDA out of memory. Tried to allocate {gib(need_mb)}. "
                f"GPU 0 has a total capacity of {gib(self.gpu.total_mb)} of which "
                f"{free_mb:.2f} MiB is free.",
                "ERROR:    Application startup failed. Exiting."]

    def crash_lines(self) -> list[str]:
        return ["RuntimeError: CUDA error: an illegal memory access was encountered"]

    def shutdown_lines(self) -> list[str]:
        return ["INFO:     Shutting down", "INFO:     Waiting for application shutdown.",
                "INFO:     Application shutdown complete.",
                f"INFO:     Finished server process [{self.pid}]"]

    def state(self) -> dict[str, Any]:
        return {"sleeping": self.sleeping}

    def routes(self) -> dict[tuple[str, str], Route]:
        routes: dict[tuple[str, str], Route] = {("GET", self.args.health_path): self.health}
        if self.args.sleep_path:
            routes[("POST", self.args.sleep_path)] = self.sleep
        if self.args.wake_path:
            routes[("POST", self.args.wake_path)] = self.wake
        return routes

    def health(self, _request: Request) -> Reply:
        if self.health_failing():
            return Reply(500, {"detail": "model failed"})
        return Reply(200, {"status": "sleeping" if self.sleeping else "ok"})

    def sleep(self, _request: Request) -> Reply:
        if self.b.sleep_404:
            return self.not_found()
        self.act()
        with self.lock:
            self.sleeping = True
            self.hold(min(self.size_mb, self.b.sleep_l2_mb))
        return Reply(200, {"status": "sleeping"})

    def wake(self, _request: Request) -> Reply:
        self.act()
        with self.lock:
            if self.sleeping and self.size_mb > self.available_mb():
                return Reply(500, {"detail": self.oom_lines(self.size_mb, 0)[1]})
            self.sleeping = False
            self.hold(self.size_mb)
        return Reply(200, {"status": "ok"})


def main(argv: list[str] | None = None) -> int:
    return run(FastApiStandIn, argv)


if __name__ == "__main__":
    sys.exit(main())
