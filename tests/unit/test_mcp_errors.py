"""Given a failure inside a tool / when it is reported to the MCP caller / then an expected one
reads as a message naming the argument or refusal, without paths, and a bug propagates (the SDK
then answers only that the tool failed)."""

from __future__ import annotations

import anyio
import pytest
from mcp.server.mcpserver.exceptions import ToolError

from gpumod.adapters.mcp.errors import ArgumentError, guarded, message_of, scrub
from gpumod.commands.errors import Rejected
from gpumod.commands.machine import ActionFailed


@pytest.mark.parametrize(("text", "expected"), [
    ("open /tmp/pytest/x/gpumod.db: denied", "open <path>: denied"),
    ("see '/home/alice/.config/gpumod/mcp-token'", "see '<path>'"),
    ("GET /health: timed out", "GET /health: timed out"),
    ("POST http://127.0.0.1:8000/v1/models/tmp/x", "POST http://127.0.0.1:8000/v1/models/tmp/x"),
])
def test_file_paths_are_scrubbed_but_not_url_paths(text: str, expected: str) -> None:
    assert scrub(text) == expected


def test_a_refusal_names_the_argument_it_is_about() -> None:
    message = message_of(Rejected("unknown_service", "no service 'x' is registered"))

    assert message == ("service_id: no service 'x' is registered "
                       "[refused: unknown_service; recorded in the log]")


def test_a_failed_step_is_reported_without_its_paths() -> None:
    message = message_of(ActionFailed("qwen: launch failed: /opt/llama/bin/llama-server: gone"))

    assert message == "qwen: launch failed: <path>: gone [failed step recorded in the log]"


def test_a_bug_is_not_explained() -> None:
    assert message_of(KeyError("/tmp/secret")) is None


def test_guarded_tools_turn_expected_failures_into_tool_errors() -> None:
    @guarded
    def sync_tool(limit: int) -> int:
        raise ArgumentError("limit", "must be at most 1000")

    @guarded
    async def async_tool() -> None:
        raise Rejected("unknown_mode", "no mode 'x' is defined")

    with pytest.raises(ToolError, match=r"^limit: must be at most 1000$"):
        sync_tool(5000)
    with pytest.raises(ToolError, match=r"^mode_id: no mode 'x'"):
        anyio.run(async_tool)


def test_guarded_tools_let_bugs_through_for_the_sdk_to_hide() -> None:
    @guarded
    def broken() -> None:
        raise OSError(2, "No such file", "/var/lib/gpumod/x")

    with pytest.raises(OSError):
        broken()
