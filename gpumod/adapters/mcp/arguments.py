"""Tool arguments as types with bounds and descriptions: they become each tool's input schema.

An optional argument carries its description outside the `| None`, so that the schema shows it
on the property itself (clients read it there), with the bounds on the non-null branch.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from gpumod.definitions import ID_PATTERN

Id = Annotated[str, Field(pattern=ID_PATTERN.pattern, max_length=64)]
Ids = Annotated[list[Id], Field(max_length=64)]
Correlation = Annotated[str, Field(pattern=r"^[A-Za-z0-9._:-]+$", min_length=1, max_length=100)]
Moment = Annotated[str, Field(min_length=1, max_length=64)]
TypeNames = Annotated[list[Annotated[str, Field(pattern=r"^[A-Za-z]{1,64}$")]],
                      Field(max_length=30)]
WHEN = ("an ISO 8601 time (2026-11-22T09:30+00:00; without a zone, the gpumod machine's local "
        "time) or an age: 90s, 15m, 2h, 3d, 1w")
CORRELATION = ("the correlation id of one operation (in every event's metadata, and in each "
               "acting tool's result), or the switch id of a mode switch")

ServiceId = Annotated[Id, Field(
    description="A registered service id, e.g. qwen3-coder (list_services shows them).")]
ModeId = Annotated[Id, Field(
    description="A defined mode id, e.g. code (list_modes shows them).")]
ModelId = Annotated[str, Field(
    min_length=1, max_length=200,
    description="A model id as presets name it, e.g. Qwen/Qwen3-Coder-30B-A3B-Instruct-GGUF "
                "(gpumod://models lists them).")]
CorrelationId = Annotated[Correlation, Field(description=f"The operation: {CORRELATION}.")]
Limit = Annotated[int, Field(ge=1, le=1000, description="At most this many events (1 to 1000).")]
SleepLevel = Annotated[Literal["l1", "l2", "router"] | None, Field(
    description="l1 (fast wake), l2 (frees the weights too) or router (llama.cpp unloads the "
                "model); default: the level the preset names.")]
Rollback = Annotated[bool, Field(
    description="If a step fails, put back the mode that was active before (default true).")]
ReleaseTimeout = Annotated[float, Field(
    ge=0.1, le=3600, description="Seconds (0.1 to 3600) to wait for stopped services' VRAM to "
                                 "be freed before the switch fails.")]

# Optional arguments: filters, alternatives, additions.
ServiceFilter = Annotated[Id | None, Field(description="Only events about this service id.")]
ModeFilter = Annotated[Id | None, Field(description="Only events about this mode id.")]
TypesFilter = Annotated[TypeNames | None, Field(
    description="Only these event types (at most 30), e.g. [\"ServiceStarting\", "
                "\"CommandRejected\"]; gpumod://help lists them.")]
ActorFilter = Annotated[Annotated[str, Field(min_length=1, max_length=100)] | None, Field(
    description="Only events by this actor: 'cli', 'cli:alice', 'mcp', 'mcp:claude-code', "
                "'monitor'. A name without ':' matches every actor of that kind.")]
Since = Annotated[Moment | None, Field(description=f"Only events from this time: {WHEN}.")]
Until = Annotated[Moment | None, Field(description=f"Only events up to this time: {WHEN}.")]
At = Annotated[Moment | None, Field(description=f"The time to replay to: {WHEN}.")]
CorrelationFilter = Annotated[Correlation | None, Field(
    description=f"Only one operation: {CORRELATION}.")]
Incident = Annotated[Correlation | None, Field(
    description=f"The operation to explain: {CORRELATION}. Default: the latest failure.")]
After = Annotated[Annotated[int, Field(ge=0)] | None, Field(
    description="Only events after this position, oldest first (to page forward).")]
Position = Annotated[Annotated[int, Field(ge=1)] | None, Field(
    description="The position to replay to (1 is the first event).")]
AddServices = Annotated[Ids | None, Field(
    description="Service ids to simulate in addition to the mode's.")]
RemoveServices = Annotated[Ids | None, Field(
    description="Service ids of the mode to leave out of the simulation.")]
Contexts = Annotated[dict[str, Annotated[int, Field(ge=1, le=10_000_000)]] | None, Field(
    description="Service id -> context size in tokens to simulate it with, e.g. "
                "{\"qwen3-coder\": 16384} (its preset must give kv_cache_per_1k).")]
