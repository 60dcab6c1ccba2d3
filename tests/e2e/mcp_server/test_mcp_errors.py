"""Bad arguments get a tool error naming the argument and what it accepts; an internal failure
answers only that the tool failed, with no path or traceback (those go to the server's log)."""

from __future__ import annotations

from typing import Any

from mcp.shared.exceptions import MCPError

from tests.e2e.conftest import Gpumod
from tests.e2e.mcp_server.support import mcp_session, refused, run

BAD: list[tuple[str, dict[str, Any], list[str]]] = [  # tool, arguments, what it must say
    ("get_history", {"limit": 0}, ["limit", "greater than or equal to 1"]),
    ("get_history", {"limit": 5000}, ["limit", "less than or equal to 1000"]),
    ("get_history", {"since": "last tuesday"}, ["since", "ISO 8601", "2h"]),
    ("get_history", {"types": ["NoSuchEvent"]}, ["types", "NoSuchEvent", "ServiceStarting"]),
    ("service_info", {"service_id": "Not An Id"}, ["service_id", "pattern"]),
    ("service_info", {"service_id": "nope"}, ["service_id", "registered: bge-large"]),
    ("model_info", {"model_id": "acme/none"}, ["model_id", "BAAI/bge-large-en-v1.5"]),
    ("sleep_service", {"service_id": "qwen3-coder", "level": "l9"},
     ["level", "'l1', 'l2' or 'router'"]),
    ("start_service", {"service_id": "nope"}, ["service_id", "unknown_service"]),
    ("switch_mode", {"mode_id": "code", "release_timeout_s": 0}, ["release_timeout_s", "0.1"]),
    ("simulate_mode", {"mode_id": "nope"}, ["mode_id", "no mode 'nope'"]),
    ("state_at", {}, ["position", "either position or time"]),
    ("state_at", {"position": 10**6}, ["position", "must be at most"]),
    ("get_switch", {"correlation_id": "no-such-op"}, ["correlation_id", "no switch or operation"]),
    ("postmortem", {}, ["no failure is recorded"]),
]


def test_bad_arguments_are_named_with_what_is_allowed(initialized: Gpumod) -> None:
    async def body() -> None:
        async with mcp_session(initialized) as session:
            for tool, arguments, expected in BAD:
                message = await refused(session, tool, **arguments)
                missing = [part for part in expected if part not in message]
                assert not missing, f"{tool}({arguments}): {missing} not in {message!r}"
            try:
                await session.read_resource("gpumod://events/999999")
                raise AssertionError("reading a missing event should fail")
            except MCPError as error:
                assert "no event at position '999999'" in error.error.message

    run(body)


def test_an_internal_error_leaks_neither_path_nor_traceback(initialized: Gpumod) -> None:
    # The simulated GPU's state file is a directory: opening it fails with an OSError that
    # names the path. The caller must learn only that the tool failed.
    (initialized.db.parent / "state" / "sim-gpu.json").mkdir(parents=True)
    log = initialized.db.parent / "server.log"

    async def body() -> None:
        async with mcp_session(initialized, errlog=log) as session:
            message = await refused(session, "gpu_status")
            assert message == "Error executing tool gpu_status"
            assert (await session.call_tool("list_modes", {})).is_error is False

    run(body)
    assert "IsADirectoryError" in log.read_text()  # the traceback is the operator's to read
