"""What a service (preset) and a mode are: the YAML format of existing gpumod installs.

Unknown fields are errors, so a typo never silently drops a setting. Definitions are stored in
events exactly as written (`as_stored`), so nothing the user wrote is lost and nothing is invented.
"""

from __future__ import annotations

import re
from enum import StrEnum
from typing import Any

import orjson
from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

ID_PATTERN = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}$")
ID_RULE = "lowercase letters, digits, '.', '_' or '-', starting with a letter or digit, at most 64"


class Driver(StrEnum):
    VLLM = "vllm"
    LLAMACPP = "llamacpp"
    MISTRALRS = "mistralrs"
    FASTAPI = "fastapi"
    DOCKER = "docker"


class SleepMode(StrEnum):
    NONE = "none"
    L1 = "l1"
    L2 = "l2"
    ROUTER = "router"


def check_id(value: str) -> str:
    if not ID_PATTERN.fullmatch(value):  # fullmatch: `$` alone lets "id\n" through
        raise ValueError(f"{value!r} is not a valid id ({ID_RULE})")
    return value


class ServiceDefinition(BaseModel):
    """A service preset, e.g. `presets/llm/qwen3-coder.yaml`."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str
    name: str
    driver: Driver
    port: int | None = Field(default=None, ge=1, le=65535)
    vram_mb: int = Field(ge=0)
    context_size: int | None = Field(default=None, ge=1)
    kv_cache_per_1k: int | None = Field(default=None, ge=0)
    model_id: str | None = None
    model_path: str | None = None
    health_endpoint: str = "/health"
    startup_timeout: int = Field(default=120, ge=1)
    supports_sleep: bool = False
    sleep_mode: SleepMode = SleepMode.NONE
    depends_on: list[str] = []
    unit_template: str | None = None
    unit_vars: dict[str, Any] = {}
    # A container's settings (image, ports, volumes, ...), read by the docker driver alone.
    extra_config: dict[str, Any] = {}

    _check_id = field_validator("id")(check_id)

    @field_validator("extra_config")
    @classmethod
    def _container(cls, value: dict[str, Any], info: ValidationInfo) -> dict[str, Any]:
        if info.data.get("driver") != Driver.DOCKER:
            raise ValueError("only driver 'docker' reads extra_config; other drivers take "
                             "their settings from unit_vars")
        # Checked here so `service add` refuses what the start would; a docker preset without
        # extra_config is refused at start.
        from gpumod.adapters.drivers.docker_preset import check_preset

        check_preset({**info.data, "extra_config": value})
        return value

    @field_validator("health_endpoint")
    @classmethod
    def _path(cls, value: str) -> str:
        if not value.startswith("/"):
            raise ValueError("must be a URL path starting with '/'")
        return value

    def as_stored(self) -> dict[str, Any]:
        return self.model_dump(mode="json", exclude_unset=True)


class ModeDefinition(BaseModel):
    """A mode, e.g. `modes/code.yaml`: a named set of services that run together."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str
    name: str
    description: str | None = None
    services: list[str] = []
    total_vram_mb: int | None = Field(default=None, ge=0)

    _check_id = field_validator("id")(check_id)

    def as_stored(self) -> dict[str, Any]:
        return self.model_dump(mode="json", exclude_unset=True)


def diff(old: dict[str, Any], new: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """Fields set or changed in `new`, and fields present in `old` but gone from `new`."""
    changed = {key: value for key, value in new.items()
               if key not in old or not _same(old[key], value)}
    removed = sorted(key for key in old if key not in new)
    return changed, removed


def _same(a: Any, b: Any) -> bool:
    # Not `==`: 1 == 1.0 == True, but in a file they are different values. Compare as JSON.
    option = orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS
    return orjson.dumps(a, option=option) == orjson.dumps(b, option=option)


def patch(old: dict[str, Any], changed: dict[str, Any], removed: list[str]) -> dict[str, Any]:
    result = {key: value for key, value in old.items() if key not in removed}
    result.update(changed)
    return result


def previous(old: dict[str, Any], changed: dict[str, Any], removed: list[str]) -> dict[str, Any]:
    """The old values of what a diff touches, so history can show 'from -> to'."""
    return {key: old[key] for key in [*changed, *removed] if key in old}
