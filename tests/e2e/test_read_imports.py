"""Given a log / when a command that only reads runs / then SQLAlchemy is never imported (it cost
every read ~0.3 s and the MCP server ~16 MB: ADR 0011); a command that writes still uses it."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.e2e.conftest import COMMAND_TIMEOUT_S, Gpumod

# Runs the CLI in this interpreter and reports, after the command, whether SQLAlchemy was loaded.
PROBE = """
import sys
from typer.testing import CliRunner
from gpumod.adapters.cli.main import app
result = CliRunner().invoke(app, sys.argv[1:])
print(result.exit_code, "sqlalchemy" in sys.modules)
"""

READS = [("service", "list"), ("service", "status", "vllm-chat", "--json"), ("mode", "list"),
         ("history", "--limit", "5"), ("replay", "--until", "10"), ("replay", "--rebuild"),
         ("audit", "verify"), ("events", "export", "--format", "csv")]


def probe(gpumod: Gpumod, *args: str) -> tuple[int, bool]:
    done = subprocess.run([sys.executable, "-c", PROBE, "--db", str(gpumod.db), *args],
                          capture_output=True, text=True, env=gpumod.env,
                          timeout=COMMAND_TIMEOUT_S, check=False)
    code, loaded = done.stdout.split()[-2:]
    return int(code), loaded == "True"


@pytest.mark.parametrize("args", READS, ids=" ".join)
def test_a_command_that_only_reads_never_imports_sqlalchemy(initialized: Gpumod,
                                                             args: tuple[str, ...]) -> None:
    assert probe(initialized, *args) == (0, False)


def test_a_command_that_writes_does(initialized: Gpumod) -> None:
    assert probe(initialized, "service", "remove", "vllm-chat") == (0, True)
