"""`gpumod postmortem` after a stand-in server runs out of memory on the simulated GPU."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.e2e.conftest import Gpumod

MACHINE = ("--gpu", "sim:24GiB", "--stand-ins", "--process-backend", "direct")
SERVICE = "bge-large"  # the fastapi preset: a small stand-in that fails (or starts) at once
OOM_LINE = "torch.OutOfMemoryError: CUDA out of memory."


@pytest.fixture
def oom_start(initialized: Gpumod) -> Iterator[Gpumod]:
    """A log whose last operation is a start of SERVICE that failed for lack of GPU memory."""
    state_dir = initialized.db.parent / "state"
    state_dir.mkdir(exist_ok=True)
    (state_dir / "standins.yaml").write_text(f"{SERVICE}: {{load_s: 0.1, oom: true}}\n",
                                             encoding="utf-8")
    initialized.fails(*MACHINE, "service", "start", SERVICE)
    yield initialized
    initialized.run(*MACHINE, "service", "stop", SERVICE)


def test_the_last_failure_shows_the_oom_its_log_tail_and_vram(oom_start: Gpumod) -> None:
    shown = oom_start.ok(*MACHINE, "postmortem", "--last-failure").stdout

    assert "Post-mortem of StartService" in shown and ": failed" in shown
    for step in ("ServiceStarting", "ServiceStartFailed", "OomDetected"):
        assert step in shown
    assert "FREE MB" in shown and "USED MB" in shown
    assert f"Out of memory: {SERVICE} (evidence: log), needed 1024 MB" in shown
    assert "Protection fired: none" in shown
    assert f"Log tail of {SERVICE}:" in shown and OOM_LINE in shown


def test_json_gives_tools_the_same_report(oom_start: Gpumod) -> None:
    report = oom_start.ok(*MACHINE, "postmortem", "--json").json()

    assert report["failure"]["service_id"] == SERVICE and report["failure"]["oom"]
    assert any(OOM_LINE in line for line in report["failure"]["log_tail"])
    oom = report["oom"][0]
    assert (oom["evidence"], oom["total_mb"], oom["needed_mb"]) == ("log", 24576, 1024)
    last = report["steps"][-1]
    assert last["free_mb"] == oom["free_mb"] and last["used_mb"] == 24576 - oom["free_mb"]
    assert report["services"] == [{"service_id": SERVICE, "reserved_mb": 1024,
                                   "measured_mb": None}]
    by_id = oom_start.ok(*MACHINE, "postmortem", report["correlation_id"], "--json").json()
    assert by_id == report


def test_an_unknown_correlation_id_is_refused_with_a_clear_message(initialized: Gpumod) -> None:
    refused = initialized.fails("postmortem", "no-such-id")

    assert "no events with correlation id 'no-such-id'" in refused.stderr
