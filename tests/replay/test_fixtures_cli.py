"""Each fixture through the CLI, as a user would check an export: `gpumod replay --from` prints
the replayed state; `gpumod events import` then `gpumod audit verify` finds the chain intact."""

from __future__ import annotations

from pathlib import Path

import pytest

from gpumod.adapters.cli.state_report import as_dict
from gpumod.events.export_files import read_file
from gpumod.events.transfer import recorded
from gpumod.projections.fold import fold
from tests.e2e.conftest import Gpumod
from tests.replay.recorded import LOGS, as_json


@pytest.fixture
def gpumod(tmp_path: Path) -> Gpumod:
    (tmp_path / "home").mkdir()
    return Gpumod(tmp_path / "gpumod.db", tmp_path / "home")


@pytest.mark.parametrize("log", LOGS, ids=lambda p: p.stem)
def test_replay_from_the_export_prints_its_replayed_state(gpumod: Gpumod, log: Path) -> None:
    printed = gpumod.ok("replay", "--from", str(log), "--json").json()

    assert printed == as_json(as_dict(fold(recorded(row) for row in read_file(log))))


@pytest.mark.parametrize("log", LOGS, ids=lambda p: p.stem)
def test_the_imported_export_passes_audit_verify(gpumod: Gpumod, log: Path) -> None:
    rows = read_file(log)
    gpumod.ok("events", "import", str(log))

    verified = gpumod.ok("audit", "verify")

    assert verified.stdout.startswith(f"ok: {len(rows)} events, hash chain intact")
    assert f"(head {rows[-1][-1]})" in verified.stdout  # the last hash
