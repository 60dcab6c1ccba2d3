"""Reading preset and mode YAML files, with errors that name the file and the field."""

from __future__ import annotations

from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from gpumod.commands.messages import ModeFile, ServiceFile
from gpumod.definitions import ModeDefinition, ServiceDefinition

M = TypeVar("M", bound=BaseModel)


class DefinitionError(ValueError):
    """A preset or mode file that cannot be used as it is."""


def load_service(path: Path) -> ServiceFile:
    return ServiceFile(source=str(path), definition=_load(path, ServiceDefinition))


def load_mode(path: Path) -> ModeFile:
    return ModeFile(source=str(path), definition=_load(path, ModeDefinition))


def yaml_files(folder: Path) -> list[Path]:
    """Every .yaml/.yml file under `folder`, in a stable order."""
    if not folder.is_dir():
        raise DefinitionError(f"{folder}: not a directory")
    return sorted(p for p in folder.rglob("*") if p.suffix in (".yaml", ".yml") and p.is_file())


def _load(path: Path, model: type[M]) -> M:
    raw = _read_yaml(path)
    try:
        return model.model_validate(raw)
    except ValidationError as invalid:
        raise DefinitionError(_explain(path, invalid, model)) from None


def _read_yaml(path: Path) -> dict[str, Any]:
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise DefinitionError(f"{path}: cannot read ({exc.strerror})") from None
    except yaml.YAMLError as exc:
        raise DefinitionError(f"{path}: not valid YAML ({exc})") from None
    if not isinstance(raw, dict):
        raise DefinitionError(f"{path}: expected a mapping of fields at the top level")
    return raw


def _explain(path: Path, invalid: ValidationError, model: type[BaseModel]) -> str:
    lines = []
    for error in invalid.errors():
        field = ".".join(str(part) for part in error["loc"]) or "(top level)"
        if error["type"] == "extra_forbidden":
            accepted = ", ".join(model.model_fields)
            lines.append(f"{path}: unknown field '{field}' (accepted fields: {accepted})")
        elif error["type"] == "missing":
            lines.append(f"{path}: field '{field}' is required")
        else:
            lines.append(f"{path}: field '{field}': {error['msg']}")
    return "\n".join(lines)
