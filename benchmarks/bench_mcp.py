"""How light and quick `gpumod mcp` is (issue 5, "Tests"): the idle memory of the server process
and the latency of `gpu_status` and `get_history` on a 1,000,000-event log.

The server is started as an assistant starts it (the SDK's stdio client running `gpumod --db
LOG --gpu sim:24GiB mcp`), on a copy of the log benchmarks/bench_log.py builds and caches. Each
latency is the median of many calls after one warm-up call (the first call on a log without a
snapshot folds all of it, and is reported on its own). Usage:

    .venv/bin/python benchmarks/bench_mcp.py [--quick] [--calls N] [--rebuild] [--strict]

--quick uses a 100,000-event log and fewer calls; --strict exits 1 when a target is missed.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import anyio
from bench_log import EXAMPLES, GPUMOD_CLI, cached_log, load_configuration, print_table
from mcp import StdioServerParameters
from mcp.client.session import ClientSession
from mcp.client.stdio import stdio_client

import gpumod

TARGET_RSS_MB = 80
TARGET_CALL_MS = 50
CALLS = {"gpu_status": {}, "get_history": {"limit": 50}}
CLIENT_TIMEOUT_S = 900  # the warm-up call may fold the whole log


def server_pid() -> int:
    """The one child this process has: the server the stdio client started."""
    me = os.getpid()
    children = [int(pid) for task in os.listdir(f"/proc/{me}/task")
                for pid in Path(f"/proc/{me}/task/{task}/children").read_text().split()]
    if len(children) != 1:
        raise SystemExit(f"expected one server process, found {children}")
    return children[0]


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise SystemExit(f"no VmRSS for process {pid}")


async def timed_call(session: ClientSession, tool: str, arguments: dict[str, Any]) -> float:
    began = time.perf_counter()
    result = await session.call_tool(tool, arguments)
    took = time.perf_counter() - began
    if result.is_error:
        raise SystemExit(f"{tool} failed: {result.content}")
    return took * 1000


async def measure(log: Path, state: Path, calls: int) -> dict[str, Any]:
    env = {**os.environ, "GPUMOD_STATE_DIR": str(state), "GPUMOD_PROCESS_BACKEND": "direct"}
    params = StdioServerParameters(command=str(GPUMOD_CLI), env=env,
                                   args=["--db", str(log), "--gpu", "sim:24GiB", "mcp"])
    figures: dict[str, Any] = {}
    async with stdio_client(params) as (read, write), ClientSession(
            read, write, read_timeout_seconds=CLIENT_TIMEOUT_S) as session:
        began = time.perf_counter()
        await session.initialize()
        figures["start_s"] = time.perf_counter() - began
        await session.list_tools()
        await anyio.sleep(1)  # idle: nothing in flight
        pid = server_pid()
        figures["idle_rss"] = rss_mb(pid)
        for tool, arguments in CALLS.items():
            figures[f"{tool} first"] = await timed_call(session, tool, arguments)
        for tool, arguments in CALLS.items():
            figures[tool] = [await timed_call(session, tool, arguments) for _ in range(calls)]
        figures["busy_rss"] = rss_mb(pid)
    return figures


def report(figures: dict[str, Any], events: int, calls: int) -> list[tuple[str, str, str, bool]]:
    print(f"  server ready (initialize answered) in {figures['start_s']:.2f} s")
    print(f"  idle RSS {figures['idle_rss']:.1f} MB; after {2 * calls} calls "
          f"{figures['busy_rss']:.1f} MB")
    rows = [("idle RSS of `gpumod mcp`", f"{figures['idle_rss']:.1f} MB",
             f"< {TARGET_RSS_MB} MB", figures["idle_rss"] < TARGET_RSS_MB)]
    for tool in CALLS:
        times = figures[tool]
        median = statistics.median(times)
        print(f"  {tool}: first call {figures[f'{tool} first']:.0f} ms; {calls} calls: median "
              f"{median:.1f} ms, p10 {_quantile(times, 0.1):.1f}, p90 {_quantile(times, 0.9):.1f}")
        rows.append((f"{tool}, {events:,}-event log (median)", f"{median:.1f} ms",
                     f"< {TARGET_CALL_MS} ms", median < TARGET_CALL_MS))
    return rows


def _quantile(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="a 100,000-event log, fewer calls")
    parser.add_argument("--calls", type=int, help="calls per tool for each median")
    parser.add_argument("--rebuild", action="store_true", help="rebuild the cached log")
    parser.add_argument("--strict", action="store_true", help="exit 1 when a target is missed")
    args = parser.parse_args(argv)
    events, calls = (100_000, 50) if args.quick else (1_000_000, 200)
    calls = args.calls or calls
    print(f"gpumod {gpumod.__version__}, Python {platform.python_version()}, {os.cpu_count()} "
          f"CPUs, load {os.getloadavg()[0]:.1f}; `gpumod mcp` over stdio, simulated GPU")
    cached = cached_log(events, load_configuration(EXAMPLES), args.rebuild)
    with tempfile.TemporaryDirectory(prefix="gpumod-bench-mcp-") as tmp:
        log = Path(tmp) / "log.db"
        shutil.copyfile(cached, log)  # the server writes a snapshot; the cache stays pristine
        figures = anyio.run(measure, log, Path(tmp) / "state", calls)
    print()
    rows = report(figures, events, calls)
    print()
    print_table([(f, v, t, ok) for f, v, t, ok in rows])
    missed = any(not ok for *_, ok in rows)
    return 1 if missed and args.strict else 0


if __name__ == "__main__":
    sys.exit(main())
