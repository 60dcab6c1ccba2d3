"""`gpumod mcp --http`: refused without a bearer token; with one, streamable HTTP on loopback
answers 401 to requests without it and serves the SDK's streamable HTTP client with it."""

from __future__ import annotations

import secrets
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator

import httpx2
import pytest
from mcp.client.session import ClientSession
from mcp.client.streamable_http import streamable_http_client
from mcp.types import Implementation

from tests.e2e.conftest import COMMAND_TIMEOUT_S, Gpumod
from tests.e2e.mcp_server.support import MACHINE, call, free_port, refused, run

TOKEN = secrets.token_urlsafe(24)


def test_http_refuses_to_start_without_a_token(initialized: Gpumod) -> None:
    result = initialized.fails("mcp", "--http")

    assert "GPUMOD_MCP_TOKEN" in result.stderr and "mcp-token" in result.stderr
    short = initialized.run("mcp", "--http", env={**initialized.env, "GPUMOD_MCP_TOKEN": "x"})
    assert short.code == 1 and "at least 16 characters" in short.stderr


@pytest.fixture
def served(initialized: Gpumod) -> Iterator[str]:
    port = free_port()
    env = {**initialized.env, "GPUMOD_MCP_TOKEN": TOKEN}
    server = subprocess.Popen(initialized.argv(*MACHINE, "mcp", "--http", "--port", str(port)),
                              env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        wait_listening(port, server)
        yield f"http://127.0.0.1:{port}/mcp"
    finally:
        server.terminate()
        server.wait(COMMAND_TIMEOUT_S)


def wait_listening(port: int, server: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + COMMAND_TIMEOUT_S  # a guard against a hang, not a measure
    while time.monotonic() < deadline:
        if server.poll() is not None:
            error = server.stderr.read().decode() if server.stderr else ""
            pytest.fail(f"gpumod mcp --http exited: {error}")
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    pytest.fail("gpumod mcp --http did not listen")


@pytest.mark.parametrize("header", [None, "Bearer wrong-token-0123456789", f"Basic {TOKEN}"])
def test_requests_without_the_token_are_refused(served: str, header: str | None) -> None:
    request = urllib.request.Request(served, data=b"{}", method="POST")
    if header is not None:
        request.add_header("Authorization", header)
    with pytest.raises(urllib.error.HTTPError) as refusal:
        urllib.request.urlopen(request, timeout=COMMAND_TIMEOUT_S)
    assert refusal.value.code == 401


def test_the_sdk_client_with_the_token_is_served(served: str, initialized: Gpumod) -> None:
    async def body() -> None:
        headers = {"Authorization": f"Bearer {TOKEN}"}
        async with httpx2.AsyncClient(headers=headers, timeout=COMMAND_TIMEOUT_S) as http, \
                streamable_http_client(served, http_client=http) as (read, write), \
                ClientSession(read, write, client_info=Implementation(
                    name="http-agent", version="1")) as session:
            await session.initialize()
            assert len((await session.list_tools()).tools) == 16
            assert (await call(session, "list_modes"))["modes"]
            await refused(session, "wake_service", service_id="qwen3-coder")

    run(body)
    (refusal,) = initialized.history("--type", "CommandRejected")
    assert refusal["metadata"]["actor"] == "mcp:http-agent"
