"""Given a log / when the post-mortem is asked for by id or as the last failure / then the report
(the entry point the CLI and the MCP server call)."""

from __future__ import annotations

import json

import pytest

from gpumod.bootstrap import App
from gpumod.commands.machine import ActionFailed
from gpumod.commands.postmortem import NoSuchIncident, postmortem_report
from gpumod.commands.recorder import Origin, Recorder
from gpumod.commands.sagas.start import start_with_dependencies
from gpumod.events import catalogue as ev
from tests.fake_machine import fake_machine
from tests.unit.test_lifecycle_sagas import recorder, register, svc
from tests.unit.test_monitor import Poller, monitor_of, running


def test_the_last_failure_is_a_start_that_ran_out_of_memory(app: App) -> None:
    register(app, svc("emb", 2000), svc("qwen", 9000))
    machine, backend, _, _ = fake_machine(polls_to_ready=1)
    start_with_dependencies(recorder(app), machine, "emb")
    backend.on_start["qwen"] = {"running": False, "exit_code": 1,
                                "log": ["cudaMalloc failed: out of memory"]}
    with pytest.raises(ActionFailed):
        start_with_dependencies(recorder(app), machine, "qwen")

    result = postmortem_report(app.store, None)

    assert result["command"] == "StartService"
    assert [s["type"] for s in result["steps"]] == [
        "ServiceStarting", "ServiceProcessLaunched", "ServiceStartFailed", "OomDetected"]
    assert result["failure"]["log_tail"] == ["cudaMalloc failed: out of memory"]
    assert result["oom"][0]["processes"] == [{"pid": 1001, "used_mb": 2000, "name": "emb"}]
    assert result["steps"][-1]["free_mb"] == 24576 - 2000
    json.dumps(result)  # ready for tools as it is


def test_the_last_failure_is_a_crash_the_monitor_found_with_oom_in_the_log(app: App) -> None:
    machine, backend, _, _ = running(app, "qwen", vram=9000)
    poll = Poller(monitor_of(app, machine))
    poll()
    proc = backend.processes["qwen"]
    proc.running, proc.exit_code = False, 1
    proc.log = ["torch.OutOfMemoryError: CUDA out of memory. Tried to allocate 2.00 GiB"]
    poll()

    result = postmortem_report(app.store, None)

    assert [s["type"] for s in result["steps"]] == ["ServiceCrashed", "OomDetected"]
    assert result["outcome"] == "crashed" and result["failure"]["oom"]
    assert result["failure"]["log_tail"] == proc.log


def test_a_switch_id_finds_its_switch(app: App) -> None:
    rec = Recorder(app.store, app.bus.new_id, "SwitchMode", {}, Origin("cli:tester"))
    rec.fact(ev.ModeSwitchRequested(switch_id="s-42", from_mode=None, to_mode="code"))

    result = postmortem_report(app.store, "s-42")

    assert result["correlation_id"] == rec.correlation_id
    assert result["switch"]["status"] == "in progress"


def test_an_unknown_id_is_a_clear_error(app: App) -> None:
    with pytest.raises(NoSuchIncident, match="no events with correlation id 'nope'"):
        postmortem_report(app.store, "nope")


def test_asking_for_the_last_failure_of_a_log_without_one_is_a_clear_error(app: App) -> None:
    with pytest.raises(NoSuchIncident, match="no failure is recorded"):
        postmortem_report(app.store, None)
