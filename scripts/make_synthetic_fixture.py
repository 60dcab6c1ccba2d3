"""Write replay_fixtures/lifecycle-synthetic.jsonl: a hand-made log through the real store.

It holds what real runs will record once services run (issue 3/4): a legacy v1 CommandRejected
(upcast on load), a service's whole life, a mode switch under one correlation id, VRAM figures,
and one transition the state machine forbids (flagged as an anomaly on replay).
"""

from __future__ import annotations

import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from gpumod.events.base import NewEvent
from gpumod.events.store import EventStore
from gpumod.events.transfer import export_rows, write_jsonl

OUT = Path(__file__).resolve().parents[1] / "replay_fixtures" / "lifecycle-synthetic.jsonl"
EMB = {"id": "emb", "name": "Embedding", "driver": "vllm", "port": 8210, "vram_mb": 2500,
       "supports_sleep": True, "sleep_mode": "l1"}
CHAT = {"id": "chat", "name": "Chat", "driver": "llamacpp", "port": 7070, "vram_mb": 9000}


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        self.now += timedelta(milliseconds=250)
        return self.now


def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        store = EventStore.open(Path(folder) / "x.db", Clock())
        for number, (stream, type_name, version, data, corr) in enumerate(_events(), 1):
            meta = {"actor": "cli:alice", "correlation_id": corr, "causation_id": corr,
                    "host": "fixture", "gpumod_version": "0.1.0"}
            store.append([NewEvent(f"evt-{number:04d}", stream, type_name, version, data, meta)])
        with OUT.open("w", encoding="utf-8") as out:
            write_jsonl(export_rows(store), out)
    print(f"wrote {OUT}")


def _events() -> list[tuple[str, str, int, dict[str, Any], str]]:
    s = "switch-sw1"
    return [
        ("store", "StoreInitialized", 1, {"gpumod_version": "0.0.9"}, "c-init"),
        ("service-emb", "ServiceRegistered", 1, {"service_id": "emb", "definition": EMB}, "c-init"),
        ("service-chat", "ServiceRegistered", 1, {"service_id": "chat", "definition": CHAT},
         "c-init"),
        ("mode-rag", "ModeDefined", 1, {"mode_id": "rag", "definition": {
            "id": "rag", "name": "RAG", "services": ["emb", "chat"]}}, "c-init"),
        ("rejections", "CommandRejected", 1, {"command": "RemoveService", "arguments": {
            "service_id": "emb"}, "reason": "used by mode rag"}, "c-old"),
        ("gpu-0", "GpuDetected", 1, {"gpu_index": 0, "name": "NVIDIA GeForce RTX 4090",
                                      "total_mb": 24564, "driver_version": "550.54"}, "c-sw"),
        (s, "ModeSwitchRequested", 1, {"switch_id": "sw1", "from_mode": None, "to_mode": "rag"},
         "c-sw"),
        (s, "ModeSwitchPlanned", 1, {"switch_id": "sw1", "start": ["emb", "chat"],
                                     "needed_mb": 11500, "free_mb": 24000}, "c-sw"),
        ("service-emb", "ServiceStarting", 1, {"service_id": "emb", "backend": "process",
                                               "pid": 4242, "vram_needed_mb": 2500}, "c-sw"),
        ("service-emb", "ServiceBecameHealthy", 1, {"service_id": "emb", "elapsed_ms": 8100},
         "c-sw"),
        ("service-emb", "ServiceVramMeasured", 1, {"service_id": "emb", "vram_mb": 2310}, "c-sw"),
        ("service-chat", "ServiceStarting", 1, {"service_id": "chat", "backend": "process",
                                                "pid": 4300, "vram_needed_mb": 9000}, "c-sw"),
        ("service-chat", "ServiceBecameHealthy", 1, {"service_id": "chat", "elapsed_ms": 15000},
         "c-sw"),
        (s, "ModeSwitchCompleted", 1, {"switch_id": "sw1", "to_mode": "rag",
                                       "duration_ms": 23500}, "c-sw"),
        ("gpu-0", "VramObserved", 1, {"gpu_index": 0, "total_mb": 24564, "used_mb": 11620,
                                      "free_mb": 12944, "processes": [
                                          {"pid": 4242, "used_mb": 2310},
                                          {"pid": 4300, "used_mb": 9310}]}, "c-mon"),
        ("service-emb", "ServiceSlept", 1, {"service_id": "emb", "level": "l1"}, "c-sleep"),
        ("service-emb", "ServiceSlept", 1, {"service_id": "emb", "level": "l1"}, "c-bad"),
        ("service-emb", "ServiceWoke", 1, {"service_id": "emb", "elapsed_ms": 9}, "c-wake"),
        ("service-chat", "ServiceBecameUnhealthy", 1, {"service_id": "chat",
                                                       "consecutive_failures": 3,
                                                       "last_error": "HTTP 503"}, "c-mon"),
        ("service-chat", "ServiceRecovered", 1, {"service_id": "chat",
                                                 "consecutive_successes": 2}, "c-mon"),
        ("service-chat", "ServiceStopping", 1, {"service_id": "chat", "reason": "user"}, "c-stop"),
        ("service-chat", "ServiceStopped", 1, {"service_id": "chat", "exit_code": 0}, "c-stop"),
    ]


if __name__ == "__main__":
    main()
