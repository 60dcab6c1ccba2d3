"""How each service's stand-in should behave, from a YAML file the user or a test writes.

File: $GPUMOD_STANDINS_FILE, else <state dir>/standins.yaml, mapping a service id to behaviour
keys (documented in the README), e.g. `qwen3-coder: {load_s: 2, oom: true}`.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import yaml


def behaviours_file(state_dir: Path) -> Path:
    return Path(os.environ.get("GPUMOD_STANDINS_FILE") or state_dir / "standins.yaml")


def behaviours(state_dir: Path) -> dict[str, dict[str, Any]]:
    path = behaviours_file(state_dir)
    if not path.exists():
        return {}
    raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    if not isinstance(raw, dict) or not all(isinstance(v, dict) for v in raw.values()):
        raise ValueError(f"{path}: expected a mapping of service id to behaviour settings")
    return {str(k): v for k, v in raw.items()}
