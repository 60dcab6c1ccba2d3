"""Fixtures of the MCP server tests: a log with real history and services to run."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.e2e.conftest import Gpumod
from tests.e2e.mcp_server.support import add_test_services, stop_everything


@pytest.fixture
def box(initialized: Gpumod) -> Iterator[Gpumod]:
    """The example presets and modes plus the MCP test services; nothing left running after."""
    add_test_services(initialized)
    yield initialized
    stop_everything(initialized)
