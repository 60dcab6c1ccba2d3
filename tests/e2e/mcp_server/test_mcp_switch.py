"""A mode switch through MCP on the simulated GPU with stand-ins: progress notifications for each
step, the timeline through get_switch, a switch refused before anything is touched, and the
post-mortem that explains it."""

from __future__ import annotations

from tests.e2e.conftest import Gpumod
from tests.e2e.mcp_server.support import Steps, call, mcp_session, refused, run


def test_switch_reports_each_step_and_a_refusal_is_explained(box: Gpumod) -> None:
    steps = Steps()

    async def body() -> None:
        async with mcp_session(box) as session:
            switched = await session.call_tool("switch_mode", {"mode_id": "mcp-pair"},
                                               progress_callback=steps)
            assert not switched.is_error and switched.structured_content is not None
            switch = switched.structured_content
            assert switch["result"] == "completed", (switch["reason"], switch["steps"])
            timeline = await call(session, "get_switch", correlation_id=switch["switch_id"])
            assert timeline["switch"]["status"] == "completed"
            assert len(timeline["events"]) == len(steps) == len(switch["steps"])
            assert (await call(session, "gpu_status"))["active_mode"] == "mcp-pair"

            message = await refused(session, "switch_mode", mode_id="mcp-too-big")
            assert "insufficient_vram" in message and "nothing was touched" in message
            report = await call(session, "postmortem")
            assert report["outcome"] == "refused" and report["command"] == "SwitchMode"
            assert (await call(session, "gpu_status"))["active_mode"] == "mcp-pair"

    run(body)
    assert "ModeSwitchRequested" in steps[0] and "ModeSwitchPlanned" in steps[1]
    assert any("ServiceBecameHealthy (service-mcp-chat)" in s for s in steps)
    assert "ModeSwitchCompleted" in steps[-1]
    (refusal,) = box.history("--type", "CommandRejected")
    assert refusal["metadata"]["actor"] == "mcp:pytest-agent"
    assert refusal["data"]["arguments"]["mode_id"] == "mcp-too-big"
