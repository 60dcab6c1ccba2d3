"""The server: every tool and resource on one MCPServer, over stdio or streamable HTTP."""

from __future__ import annotations

import gc

import anyio
from mcp.server.mcpserver import MCPServer

import gpumod
from gpumod.adapters.mcp import resources, tools_act, tools_now, tools_past
from gpumod.adapters.mcp.help import INSTRUCTIONS
from gpumod.adapters.mcp.http import HttpSettings, serve_http
from gpumod.adapters.mcp.runtime import Runtime
from gpumod.bootstrap import App


def build_server(app: App) -> MCPServer:
    server: MCPServer = MCPServer(
        "gpumod", title="gpumod", version=gpumod.__version__, instructions=INSTRUCTIONS,
        log_level="WARNING")
    rt = Runtime(app)
    for group in (tools_now, tools_act, tools_past, resources):
        group.register(server, rt)
    return server


def serve(app: App, http: HttpSettings | None) -> None:
    server = build_server(app)
    # Everything built so far lives as long as the server: keep the collector off it.
    gc.collect()
    gc.freeze()
    if http is None:
        anyio.run(server.run_stdio_async)
    else:
        anyio.run(serve_http, server, http)
