"""Given events / when command / then events or error: removing services."""

from __future__ import annotations

import pytest

from gpumod.commands.configuration import remove_service
from gpumod.commands.errors import Rejected
from gpumod.commands.messages import RemoveService
from gpumod.events import catalogue as ev
from tests.helpers import given

QWEN = {"id": "qwen", "name": "Qwen", "driver": "llamacpp", "vram_mb": 20000}


def test_a_stopped_unused_service_is_removed() -> None:
    state = given(ev.ServiceRegistered(service_id="qwen", definition=QWEN))

    assert remove_service(RemoveService("qwen"), state) == [ev.ServiceRemoved(service_id="qwen")]


def test_a_service_used_by_a_mode_is_refused_naming_the_mode() -> None:
    state = given(
        ev.ServiceRegistered(service_id="qwen", definition=QWEN),
        ev.ModeDefined(mode_id="code", definition={"id": "code", "name": "C",
                                                   "services": ["qwen"]}),
    )

    with pytest.raises(Rejected, match="used by mode\\(s\\) code") as refused:
        remove_service(RemoveService("qwen"), state)
    assert refused.value.code == "service_in_use"


def test_a_running_service_is_refused() -> None:
    state = given(
        ev.ServiceRegistered(service_id="qwen", definition=QWEN),
        ev.ServiceStarting(service_id="qwen", backend="process", vram_needed_mb=20000),
        ev.ServiceBecameHealthy(service_id="qwen", elapsed_ms=900),
    )

    with pytest.raises(Rejected, match="RUNNING"):
        remove_service(RemoveService("qwen"), state)
