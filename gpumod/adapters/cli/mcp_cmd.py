"""`gpumod mcp`: serve the Model Context Protocol, over stdio or (with --http) streamable HTTP."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from gpumod.adapters.cli.context import app_of

if TYPE_CHECKING:
    from gpumod.bootstrap import App


def register(app: typer.Typer) -> None:
    app.command("mcp")(mcp)


def mcp(
    ctx: typer.Context,
    http: Annotated[bool, typer.Option(
        "--http", help="Serve streamable HTTP on http://HOST:PORT/mcp instead of stdio; "
        "requires a bearer token.")] = False,
    host: Annotated[str, typer.Option(
        help="Address to bind with --http. Anything but loopback exposes the GPU to the "
        "network (the token still applies).")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535, help="Port for --http.")] = 8765,
    token_file: Annotated[Path | None, typer.Option(
        help="File whose first line is the bearer token for --http (default: "
        "~/.config/gpumod/mcp-token; GPUMOD_MCP_TOKEN wins over any file).")] = None,
    monitor: Annotated[bool, typer.Option(
        "--monitor", help="Also watch the services' health while serving (as `gpumod "
        "monitor` does), so no separate monitor process is needed.")] = False,
) -> None:
    """Let AI assistants operate the GPU and ask about its past (Model Context Protocol).

    An assistant starts it as a subprocess and talks over stdio; --http serves over HTTP.
    """
    from gpumod.adapters.mcp.token import load_token

    token = load_token(token_file) if http else None  # refused before the slow imports

    from gpumod.adapters.mcp.http import HttpSettings
    from gpumod.adapters.mcp.server import serve

    app = app_of(ctx)
    halt = _start_monitor(app) if monitor else None
    try:
        serve(app, HttpSettings(host, port, token) if token else None)
    finally:
        if halt is not None:
            halt()


def _start_monitor(app: App) -> Callable[[], None]:
    from gpumod.commands.sagas.monitor import Monitor, run_in_thread

    return run_in_thread(Monitor(app.store, app.bus.new_id, app.machine()))
