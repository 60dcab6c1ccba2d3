"""A client that sends many calls at once: each is answered, reads are answered while the
mutating calls wait their turn, and the mutating ones (with a CLI start racing them from
another process) are serialized: no operation's events interleave with another's."""

from __future__ import annotations

import time
from itertools import pairwise
from typing import Any

import anyio
import pytest
from mcp.client.session import ClientSession

from tests.e2e.conftest import Gpumod
from tests.e2e.mcp_server.support import (
    MACHINE,
    mcp_session,
    run,
    text_of,
)

STARTS = ("mcp-embed", "mcp-chat", "mcp-rerank")
READS: list[tuple[str, dict[str, Any]]] = [
    ("gpu_status", {}), ("get_history", {"limit": 20}), ("list_services", {}),
    ("list_modes", {}), ("get_history", {"actor": "mcp"})] * 6
LOAD_S = 1.5  # each stand-in takes this long to become healthy, so the starts overlap


@pytest.fixture
def slow_box(box: Gpumod) -> Gpumod:
    state = box.db.parent / "state"
    state.mkdir(exist_ok=True)
    (state / "standins.yaml").write_text(
        "".join(f"{sid}: {{load_s: {LOAD_S}}}\n" for sid in (*STARTS, "mcp-tiny")),
        encoding="utf-8")
    return box


def test_many_calls_at_once_are_all_answered_and_changes_are_serialized(
        slow_box: Gpumod) -> None:
    box = slow_box
    finished: dict[str, float] = {}
    results: dict[str, Any] = {}

    async def one(session: ClientSession, key: str, tool: str, arguments: dict[str, Any]) -> None:
        results[key] = await session.call_tool(tool, arguments)
        finished[key] = time.monotonic()

    async def cli_start() -> None:
        done = await anyio.run_process(box.argv(*MACHINE, "service", "start", "mcp-tiny"),
                                       env=box.env, check=False)
        results["cli"] = done.returncode

    async def body() -> None:
        async with mcp_session(box) as session, anyio.create_task_group() as group:
            for sid in STARTS:
                group.start_soon(one, session, f"start {sid}", "start_service",
                                 {"service_id": sid})
            group.start_soon(cli_start)
            for index, (tool, arguments) in enumerate(READS):
                group.start_soon(one, session, f"read {index} {tool}", tool, arguments)

    run(body)
    assert len(results) == len(STARTS) + len(READS) + 1 and results["cli"] == 0
    failed = {k: text_of(r) for k, r in results.items() if k != "cli" and r.is_error}
    assert not failed
    last_start = max(finished[f"start {sid}"] for sid in STARTS)
    assert max(t for k, t in finished.items() if k.startswith("read")) < last_start
    assert_not_interleaved(box.history())


def assert_not_interleaved(events: list[dict[str, Any]]) -> None:
    """Each operation's events form one run of positions, the operations one after another."""
    spans: dict[str, list[int]] = {}
    for event in events:
        if event["metadata"]["actor"].startswith(("mcp:", "cli:")):
            spans.setdefault(event["metadata"]["correlation_id"], []).append(event["position"])
    operations = sorted((min(p), max(p), len(p)) for p in spans.values())
    starts = [op for op in operations if op[2] > 1]
    assert len(starts) >= len(STARTS) + 1, operations
    for (_, end, _), (begin, _, _) in pairwise(operations):
        assert end < begin, f"operations overlap in the log: {operations}"
    assert all(last - first + 1 == count for first, last, count in operations), operations
