"""The gpumod://help document, written from what the server really offers."""

from __future__ import annotations

from collections.abc import Sequence

from mcp.types import Resource, ResourceTemplate, Tool

from gpumod.events.registry import EVENT_TYPES, event_class

INSTRUCTIONS = (
    "gpumod runs inference services (vLLM, llama.cpp, ...) that share one GPU, and records every "
    "change in an append-only event log. Look before acting: gpu_status, list_modes, "
    "simulate_mode. Act with switch_mode or start/stop/sleep/wake_service; each refuses, before "
    "touching anything, what would not fit in VRAM. Ask about the past with get_history, "
    "get_switch, state_at and postmortem. Read gpumod://help for details.")

ABOUT = """\
# gpumod over MCP

{instructions}

## How calls are recorded
- Every tool that changes the GPU runs the same command as the `gpumod` CLI, one at a time
  across every gpumod process (a GPU lock), and records its events with
  `actor = mcp:<your client name>` and the tool's arguments (event metadata `command`).
  `get_history(actor="mcp")` lists what assistants did.
- Each such call is one operation with a correlation id (in its result and in every event's
  metadata); `get_switch` and `postmortem` take it. Steps are also sent as progress
  notifications while the call runs.
- A refused call is recorded too (CommandRejected), with the reason returned as the error.
"""


def help_text(tools: Sequence[Tool], resources: Sequence[Resource],
              templates: Sequence[ResourceTemplate]) -> str:
    lines = [ABOUT.format(instructions=INSTRUCTIONS), "## Tools"]
    for tool in sorted(tools, key=lambda t: t.name):
        hints = tool.annotations
        kind = "read-only" if hints and hints.read_only_hint else "changes the GPU"
        summary = " ".join((tool.description or "").split())
        lines.append(f"- `{tool.name}` ({kind}): {summary}")
    lines += ["", "## Resources"]
    lines += [f"- `{r.uri}`: {r.description or ''}" for r in resources]
    lines += [f"- `{t.uri_template}`: {t.description or ''}" for t in templates]
    lines += ["", "## Event types (for get_history's `types`)", ", ".join(event_types())]
    return "\n".join(lines) + "\n"


def event_types() -> list[str]:
    event_class("CommandRejected")  # loads the catalogue, which registers every type
    return sorted(EVENT_TYPES)
