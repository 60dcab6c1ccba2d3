"""The MCP tests' setting: `gpumod mcp` started by the SDK's own stdio client, against a log with
the example presets plus stand-in services of its own on free ports, on the simulated GPU."""

from __future__ import annotations

import json
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import anyio
from mcp import StdioServerParameters
from mcp.client.session import ClientSession
from mcp.client.stdio import stdio_client
from mcp.types import CallToolResult, Implementation, TextContent

from tests.e2e.conftest import COMMAND_TIMEOUT_S, Gpumod, gpumod_argv

MACHINE = ("--gpu", "sim:24GiB", "--stand-ins", "--process-backend", "direct")
CLIENT = "pytest-agent"
SERVICES = {  # id -> preset fields; ports are chosen free at set-up
    "mcp-embed": {"driver": "fastapi", "vram_mb": 1024, "model_id": "BAAI/bge-small-en-v1.5",
                  "unit_vars": {"app_module": "embed:app", "working_dir": "/opt/embed"}},
    "mcp-chat": {"driver": "vllm", "vram_mb": 6000, "supports_sleep": True, "sleep_mode": "l1",
                 "model_id": "Qwen/Qwen3-0.6B"},
    "mcp-rerank": {"driver": "fastapi", "vram_mb": 2048, "model_id": "BAAI/bge-reranker-base",
                   "unit_vars": {"app_module": "rerank:app", "working_dir": "/opt/rerank"}},
    "mcp-tiny": {"driver": "fastapi", "vram_mb": 512, "model_id": "BAAI/bge-micro",
                 "unit_vars": {"app_module": "tiny:app", "working_dir": "/opt/tiny"}},
    "mcp-huge": {"driver": "vllm", "vram_mb": 30000, "model_id": "Qwen/Qwen3-235B-A22B"},
}
MODES = {"mcp-pair": ["mcp-embed", "mcp-chat"], "mcp-too-big": ["mcp-embed", "mcp-huge"]}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def add_test_services(gpumod: Gpumod) -> None:
    """Register SERVICES and MODES through the CLI, as a user would."""
    folder = gpumod.db.parent / "mcp-presets"
    folder.mkdir()
    files = []
    for sid, fields in SERVICES.items():
        lines = [f"id: {sid}", f"name: {sid} (MCP test)", f"port: {free_port()}",
                 "startup_timeout: 60", *(f"{k}: {json.dumps(v)}" for k, v in fields.items())]
        files.append(folder / f"{sid}.yaml")
        files[-1].write_text("\n".join(lines) + "\n", encoding="utf-8")
    gpumod.ok("service", "add", *map(str, files))
    for mid, members in MODES.items():
        mode = folder / f"{mid}.yaml"
        mode.write_text(f"id: {mid}\nname: {mid}\nservices: {json.dumps(members)}\n",
                        encoding="utf-8")
        gpumod.ok("mode", "create", str(mode))


def stop_everything(gpumod: Gpumod) -> None:
    """Whatever a test left running, so no stand-in outlives it."""
    for row in gpumod.ok("service", "list", "--json").json():
        if row["state"] != "STOPPED":
            gpumod.run(*MACHINE, "service", "stop", row["id"])


@asynccontextmanager
async def mcp_session(gpumod: Gpumod, client: str = CLIENT, errlog: Path | None = None,
                      options: tuple[str, ...] = ()) -> AsyncIterator[ClientSession]:
    """An initialized session with `gpumod --db ... mcp` over stdio, as an assistant starts it."""
    argv = [*gpumod_argv(), "--db", str(gpumod.db), *MACHINE, "mcp", *options]
    params = StdioServerParameters(command=argv[0], args=argv[1:], env=gpumod.env)
    log_file = errlog or gpumod.db.parent / "mcp-server.log"
    with log_file.open("a", encoding="utf-8") as log:
        async with stdio_client(params, errlog=log) as (read, write), ClientSession(
                read, write, read_timeout_seconds=COMMAND_TIMEOUT_S,
                client_info=Implementation(name=client, version="1.0")) as session:
            await session.initialize()
            yield session


class Steps(list[str]):
    """A progress callback keeping each notification's message (one per recorded step)."""

    async def __call__(self, progress: float, total: float | None, message: str | None) -> None:
        self.append(message or "")


def run(test: Callable[[], Awaitable[None]]) -> None:
    """Run an async test body, bounded in time so a hung server fails the test."""
    async def bounded() -> None:
        with anyio.fail_after(4 * COMMAND_TIMEOUT_S):
            await test()

    try:
        anyio.run(bounded)
    except BaseExceptionGroup as group:  # the SDK's task groups wrap a failed assertion
        raise first_leaf(group) from None


def first_leaf(error: BaseException) -> BaseException:
    while isinstance(error, BaseExceptionGroup):
        error = error.exceptions[0]
    return error


def text_of(result: CallToolResult) -> str:
    return "\n".join(c.text for c in result.content if isinstance(c, TextContent))


async def call(session: ClientSession, tool: str, **arguments: Any) -> dict[str, Any]:
    """A call that must succeed; its structured content."""
    result = await session.call_tool(tool, arguments)
    assert not result.is_error, f"{tool}({arguments}) failed: {text_of(result)}"
    assert result.structured_content is not None, tool
    return dict(result.structured_content)


async def refused(session: ClientSession, tool: str, **arguments: Any) -> str:
    """A call that must fail as a tool error (not a protocol error); its message."""
    result = await session.call_tool(tool, arguments)
    assert result.is_error, f"{tool}({arguments}) should have failed: {text_of(result)}"
    message = text_of(result)
    assert "Traceback" not in message and "/tmp" not in message, message
    return message
