"""`gpumod mcp` over stdio, driven by the MCP SDK's own client, against a log with real history:
the tools and resources listed, every tool called, stand-in services started, slept, woken and
stopped on the simulated GPU, and each change recorded as the assistant that asked for it."""

from __future__ import annotations

from mcp.client.session import ClientSession

from tests.e2e.conftest import Gpumod
from tests.e2e.mcp_server.support import (
    CLIENT,
    Steps,
    call,
    mcp_session,
    run,
)

READS = {"gpu_status", "list_services", "list_modes", "service_info", "model_info",
         "simulate_mode", "get_history", "get_switch", "state_at", "postmortem", "verify_audit"}
ADDS = {"start_service", "wake_service"}
REMOVES = {"stop_service", "sleep_service", "switch_mode"}
RESOURCES = {"gpumod://help", "gpumod://modes", "gpumod://services", "gpumod://models",
             "gpumod://history/recent"}
TEMPLATES = {"gpumod://modes/{mode_id}", "gpumod://services/{service_id}",
             "gpumod://events/{position}"}



def test_lists_tools_with_schemas_and_truthful_hints_and_the_resources(box: Gpumod) -> None:
    async def body() -> None:
        async with mcp_session(box) as session:
            tools = {t.name: t for t in (await session.list_tools()).tools}
            resources = {str(r.uri) for r in (await session.list_resources()).resources}
            templates = {t.uri_template
                         for t in (await session.list_resource_templates()).resource_templates}
        assert set(tools) == READS | ADDS | REMOVES
        for name, tool in tools.items():
            hints = tool.annotations
            assert hints is not None and tool.description and tool.output_schema, name
            assert hints.read_only_hint == (name in READS), name
            assert hints.destructive_hint == (name in REMOVES), name
            assert hints.idempotent_hint == (name in READS), name
            assert hints.open_world_hint is False, name
            for argument, schema in tool.input_schema.get("properties", {}).items():
                assert schema.get("description"), f"{name}.{argument} has no description"
        limit = tools["get_history"].input_schema["properties"]["limit"]
        assert (limit["minimum"], limit["maximum"]) == (1, 1000)
        assert resources == RESOURCES and templates == TEMPLATES

    run(body)


def test_read_tools_and_resources_answer_from_the_log(box: Gpumod) -> None:
    async def body() -> None:
        async with mcp_session(box) as session:
            await _reads(session)
            await _resources(session)

    run(body)


async def _reads(session: ClientSession) -> None:
    status = await call(session, "gpu_status")
    assert status["gpu"]["simulated"] and status["gpu"]["total_mb"] == 24576
    assert {"mcp-embed", "qwen3-coder"} <= {s["id"] for s in status["services"]}
    services = await call(session, "list_services")
    assert len(services["services"]) == 14 + 5
    modes = await call(session, "list_modes")
    assert {"code", "mcp-pair"} <= {m["id"] for m in modes["modes"]}
    info = await call(session, "service_info", service_id="mcp-chat")
    assert info["modes"] == ["mcp-pair"] and info["definition"]["sleep_mode"] == "l1"
    model = await call(session, "model_info", model_id="Qwen/Qwen3-VL-2B-Instruct")
    assert [s["id"] for s in model["services"]] == ["vllm-chat", "vllm-hyde"]
    fits = await call(session, "simulate_mode", mode_id="mcp-pair")
    assert fits["fits"] and fits["plan"]["start"] == ["mcp-embed", "mcp-chat"]
    too_big = await call(session, "simulate_mode", mode_id="mcp-too-big")
    assert not too_big["fits"] and too_big["alternatives"]
    history = await call(session, "get_history", types=["ModeDefined"], limit=3)
    assert [e["type"] for e in history["events"]] == ["ModeDefined"] * 3 and history["more"]
    first = await call(session, "state_at", position=1)
    assert first["position"] == 1 and first["services"] == {}
    later = await call(session, "state_at", time="1s")  # nothing recorded in the last second
    assert len(later["services"]) == 14 + 5
    audit = await call(session, "verify_audit")
    assert audit["intact"] and audit["events_checked"] == history["head_position"]


async def _resources(session: ClientSession) -> None:
    async def read(uri: str) -> str:
        contents = (await session.read_resource(uri)).contents
        return "".join(getattr(c, "text", "") for c in contents)

    help_text = await read("gpumod://help")
    assert all(f"`{name}`" in help_text for name in READS | ADDS | REMOVES)
    assert "mcp-pair" in await read("gpumod://modes")
    assert '"service_states"' in await read("gpumod://modes/mcp-pair")
    assert '"mcp-rerank"' in await read("gpumod://services")
    assert '"definition"' in await read("gpumod://services/mcp-chat")
    assert "BAAI/bge-large-en-v1.5" in await read("gpumod://models")
    assert '"ModeDefined"' in await read("gpumod://history/recent")
    assert '"position": 1' in await read("gpumod://events/1")


def test_lifecycle_of_stand_ins_is_recorded_as_the_assistant(box: Gpumod) -> None:
    steps = Steps()
    ids: dict[str, str] = {}

    async def body() -> None:
        async with mcp_session(box) as session:
            started = await session.call_tool("start_service", {"service_id": "mcp-chat"},
                                              progress_callback=steps)
            assert not started.is_error and started.structured_content is not None
            assert started.structured_content["service"]["state"] == "RUNNING"
            ids["start_service"] = started.structured_content["correlation_id"]
            for tool, extra in (("sleep_service", {"level": "l1"}), ("wake_service", {}),
                                ("stop_service", {})):
                done = await call(session, tool, service_id="mcp-chat", **extra)
                ids[tool] = done["correlation_id"]
            timeline = await call(session, "get_switch", correlation_id=ids["start_service"])
            types = [e["type"] for e in timeline["events"]]
            assert types[0] == "ServiceStarting" and "ServiceBecameHealthy" in types
            mine = await call(session, "get_history", actor="mcp", limit=100)
            assert {e["metadata"]["correlation_id"] for e in mine["events"]} == set(ids.values())

    run(body)
    assert any("ServiceStarting" in s for s in steps) and any("Healthy" in s for s in steps)
    by_cli = box.history("--actor", f"mcp:{CLIENT}")
    assert [e["type"] for e in by_cli if e["metadata"]["correlation_id"] == ids["sleep_service"]
            ] == ["ServiceSlept"]
    assert by_cli[0]["metadata"]["command"] == {"name": "StartService",
                                                "arguments": {"service_id": "mcp-chat"}}
    assert box.ok("service", "status", "mcp-chat", "--json").json()["state"] == "STOPPED"
