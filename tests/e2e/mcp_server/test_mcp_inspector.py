"""The official MCP Inspector CLI (from npm) against `gpumod mcp`: it lists the tools and calls
one. Its first run downloads the package (about 45 s); skipped only where npx is missing outside
CI (CI must have Node)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from typing import Any

import pytest

from tests.e2e.conftest import Gpumod, gpumod_argv

INSPECTOR = "@modelcontextprotocol/inspector@0.15.0"
NPX = shutil.which("npx")
TIMEOUT_S = 300  # the first run downloads the inspector

pytestmark = pytest.mark.skipif(NPX is None and not os.environ.get("CI"),
                                reason="npx (Node.js) is not installed")


def inspector(gpumod: Gpumod, *method: str) -> Any:
    assert NPX is not None, "CI needs Node.js for the MCP Inspector test"
    argv = [NPX, "-y", INSPECTOR, "--cli", *gpumod_argv(), "--db", str(gpumod.db), "mcp",
            *method]
    done = subprocess.run(argv, capture_output=True, text=True, env=gpumod.env,
                          timeout=TIMEOUT_S, check=False)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_inspector_lists_the_tools_and_calls_one(initialized: Gpumod) -> None:
    listed = inspector(initialized, "--method", "tools/list")
    names = {tool["name"] for tool in listed["tools"]}
    assert {"gpu_status", "switch_mode", "get_history", "postmortem"} <= names

    called = inspector(initialized, "--method", "tools/call", "--tool-name", "get_history",
                       "--tool-arg", 'types=["ModeDefined"]', "--tool-arg", "limit=2")
    events = called["structuredContent"]["events"]
    assert [e["type"] for e in events] == ["ModeDefined", "ModeDefined"]
