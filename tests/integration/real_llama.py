"""A real llama.cpp `llama-server` for the tests: the binary scripts/build_llama_server.sh caches,
and plain HTTP calls to it that bypass the driver (to check what the driver reports)."""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

BUILD = Path(__file__).resolve().parents[2] / "scripts" / "build_llama_server.sh"
REQUIRE = "GPUMOD_REQUIRE_LLAMA_SERVER"
GUARD_S = 60.0  # a guard against a hung server on a slow machine, not a measurement


def llama_server_binary() -> Path:
    """The cached binary; a skip when absent, a failure when CI (REQUIRE set) said it must be."""
    done = subprocess.run(["bash", str(BUILD), "--path"], capture_output=True, text=True,
                          check=True, timeout=GUARD_S)
    path = Path(done.stdout.strip())
    if os.access(path, os.X_OK):
        return path
    reason = (f"no llama-server at {path}: build it with scripts/build_llama_server.sh "
              "(8 to 20 minutes on 2 cores)")
    if os.environ.get(REQUIRE, "") not in ("", "0"):
        pytest.fail(f"{REQUIRE} is set but there is {reason}")
    pytest.skip(reason)


def eventually(check: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + GUARD_S
    while not check():
        if time.monotonic() > deadline:
            pytest.fail(f"gave up waiting {GUARD_S:.0f} s for: {what}")
        time.sleep(0.02)


def call(port: int, method: str, path: str, body: Any = None) -> httpx.Response:
    with httpx.Client(base_url=f"http://127.0.0.1:{port}", trust_env=False,
                      timeout=GUARD_S) as client:
        return client.request(method, path, json=body)


def model_status(port: int, model: str) -> str:
    """A router's own word on `model`, from `GET /models`."""
    listed = {m["id"]: m for m in call(port, "GET", "/models").json()["data"]}
    return str(listed[model]["status"]["value"])


def assert_completion(body: dict[str, Any], kind: str, max_tokens: int) -> None:
    """OpenAI's shape: an id, one choice that ran to max_tokens, and counted usage."""
    assert body["object"] == kind and isinstance(body["id"], str) and body["id"]
    assert isinstance(body["created"], int) and isinstance(body["model"], str)
    [choice] = body["choices"]
    assert (choice["index"], choice["finish_reason"]) == (0, "length")
    usage = body["usage"]
    assert usage["completion_tokens"] == max_tokens and usage["prompt_tokens"] > 0
    assert usage["total_tokens"] == usage["prompt_tokens"] + max_tokens


def children_of(pid: int) -> set[int]:
    found = set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if int(fields[1]) == pid and fields[0] != "Z":
            found.add(int(stat.parent.name))
    return found
