"""`gpumod mcp --monitor`: the server also watches health, so a service that dies while only
the MCP server runs is still recorded as crashed."""

from __future__ import annotations

import os
import signal

import anyio

from tests.e2e.conftest import Gpumod
from tests.e2e.mcp_server.support import MACHINE, call, mcp_session, run

WAIT_S = 30  # the monitor polls every 2 s (jittered); a guard, not a measurement


def test_the_monitor_inside_the_server_records_a_crash(box: Gpumod) -> None:
    box.ok(*MACHINE, "service", "start", "mcp-embed")
    pid = next(s["pid"] for s in box.ok(*MACHINE, "status", "--json").json()["services"]
               if s["id"] == "mcp-embed")

    async def body() -> None:
        async with mcp_session(box, options=("--monitor",)) as session:
            os.kill(pid, signal.SIGKILL)
            with anyio.fail_after(WAIT_S):
                while True:
                    info = await call(session, "service_info", service_id="mcp-embed")
                    if info["state"] == "FAILED":
                        break
                    await anyio.sleep(0.5)

    run(body)
    crashed = box.history("--type", "ServiceCrashed")
    assert [e["data"]["service_id"] for e in crashed] == ["mcp-embed"]
