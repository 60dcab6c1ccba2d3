"""Registering a tool: its docstring is the description, its hints say truthfully what it does.

No tool reaches beyond this machine (openWorldHint false). Reads change nothing. Start and wake
only add (a running service); stop, sleep and switch take something away (a process, its cache).
None of the acting tools is idempotent: a second identical call is refused and the refusal is
recorded, which is itself a change to the log.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterable
from typing import Any

from mcp.server.mcpserver import MCPServer
from mcp.types import ToolAnnotations

from gpumod.adapters.mcp.errors import guarded

READS = ToolAnnotations(read_only_hint=True, destructive_hint=False, idempotent_hint=True,
                        open_world_hint=False)
ADDS = ToolAnnotations(read_only_hint=False, destructive_hint=False, idempotent_hint=False,
                       open_world_hint=False)
REMOVES = ToolAnnotations(read_only_hint=False, destructive_hint=True, idempotent_hint=False,
                          open_world_hint=False)


def add_tools(server: MCPServer, tools: Iterable[Callable[..., Any]],
              hints: ToolAnnotations) -> None:
    for tool in tools:
        name = tool.__name__
        title = name.replace("_", " ").capitalize().replace("Gpu", "GPU")
        server.add_tool(guarded(tool), name=name, title=title,
                        description=" ".join((inspect.getdoc(tool) or title).split()),
                        annotations=hints.model_copy(update={"title": title}),
                        structured_output=True)
