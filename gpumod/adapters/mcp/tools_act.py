"""Tools that change the GPU: the CLI's sagas, under the GPU lock, recorded as `mcp:<client>`.

Each call is one operation with its own correlation id; its events carry the tool's arguments
(metadata command.arguments), and each recorded step is sent as an MCP progress notification.
"""

from __future__ import annotations

from typing import Any, cast

import anyio.to_thread
from mcp.server.mcpserver import Context, MCPServer

from gpumod.adapters.cli import views
from gpumod.adapters.mcp.arguments import ModeId, ReleaseTimeout, Rollback, ServiceId, SleepLevel
from gpumod.adapters.mcp.outputs import Event, Operation, ServiceRow
from gpumod.adapters.mcp.runtime import Outcome, Runtime
from gpumod.adapters.mcp.toolbox import ADDS, REMOVES, add_tools
from gpumod.commands.sagas.sleep_wake import sleep_service, wake_service
from gpumod.commands.sagas.start import start_with_dependencies
from gpumod.commands.sagas.stop import stop_with_dependents
from gpumod.commands.sagas.switch import switch_mode
from gpumod.commands.switch_reports import timeline_dict

RELEASE_TIMEOUT_S = 30.0  # as `gpumod mode switch`


def register(server: MCPServer, rt: Runtime) -> None:
    tools = ActTools(rt)
    add_tools(server, (tools.start_service, tools.wake_service), ADDS)
    add_tools(server, (tools.stop_service, tools.sleep_service, tools.switch_mode), REMOVES)


class ActTools:
    def __init__(self, rt: Runtime) -> None:
        self.rt = rt

    async def start_service(self, service_id: ServiceId, ctx: Context) -> Operation:
        """Start a service and what it depends on, once the VRAM check allows; returns when it
        is healthy, with the events recorded (refused if it would not fit)."""
        done = await self.rt.act(ctx, "StartService", {"service_id": service_id},
                                 lambda rec, m: start_with_dependencies(rec, m, service_id))
        return await self._report(done, service_id)

    async def stop_service(self, service_id: ServiceId, ctx: Context) -> Operation:
        """Stop a service, after the running services that depend on it; frees its VRAM."""
        done = await self.rt.act(ctx, "StopService", {"service_id": service_id},
                                 lambda rec, m: stop_with_dependents(rec, m, service_id))
        return await self._report(done, service_id)

    async def sleep_service(self, service_id: ServiceId, ctx: Context,
                            level: SleepLevel = None) -> Operation:
        """Put a running service to sleep: frees most of its VRAM, keeps it quick to wake."""
        done = await self.rt.act(ctx, "SleepService", {"service_id": service_id, "level": level},
                                 lambda rec, m: sleep_service(rec, m, service_id, level))
        return await self._report(done, service_id)

    async def wake_service(self, service_id: ServiceId, ctx: Context) -> Operation:
        """Wake a sleeping service once VRAM allows; returns when it can serve again."""
        done = await self.rt.act(ctx, "WakeService", {"service_id": service_id},
                                 lambda rec, m: wake_service(rec, m, service_id))
        return await self._report(done, service_id)

    async def switch_mode(self, mode_id: ModeId, ctx: Context, rollback: Rollback = True,
                          release_timeout_s: ReleaseTimeout = RELEASE_TIMEOUT_S
                          ) -> dict[str, Any]:
        """Switch to a mode: stop, sleep, wake and start services so that exactly it runs.
        Refused before anything is touched if it would not fit (simulate_mode first to see
        why). Each step is sent as a progress notification; returns the switch's timeline
        and result (completed, failed or rolled_back)."""
        done = await self.rt.act(
            ctx, "SwitchMode", {"mode_id": mode_id, "rollback": rollback,
                                "release_timeout_s": release_timeout_s},
            lambda rec, m: switch_mode(rec, m, mode_id, rollback=rollback,
                                       release_timeout_s=release_timeout_s))
        state = await anyio.to_thread.run_sync(self.rt.state)
        return timeline_dict(state.switches[done.result.switch_id]) | {
            "result": done.result.status}

    async def _report(self, done: Outcome, service_id: str) -> Operation:
        state = await anyio.to_thread.run_sync(self.rt.state)
        rows = views.services(state)
        row = next((cast(ServiceRow, r) for r in rows if r["id"] == service_id), None)
        return {"correlation_id": done.correlation_id, "service": row,
                "events": [cast(Event, e.as_dict()) for e in done.events]}
