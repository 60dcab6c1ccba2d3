"""Projection state as bytes, with the position it was folded up to.

A snapshot is a cache: it is keyed by a fingerprint of the projection and event code, so a
gpumod whose folds changed never trusts a snapshot made by different code (it refolds instead).
"""

from __future__ import annotations

import hashlib
from functools import cache
from pathlib import Path
from typing import Any

import orjson

from gpumod.projections.state import (
    Anomaly,
    ModeView,
    ServiceView,
    State,
    Step,
    SwitchTimeline,
    VramLedger,
)


@cache
def projection_version() -> str:
    """A fingerprint of the code that decides what a fold produces."""
    root = Path(__file__).resolve().parent.parent
    digest = hashlib.sha256()
    for folder in ("projections", "events/catalogue"):
        for source in sorted((root / folder).glob("*.py")):
            digest.update(source.read_bytes())
    for module in ("definitions.py", "events/registry.py", "events/base.py", "events/canonical.py",
                   "events/fold_rows.py"):
        digest.update((root / module).read_bytes())
    return digest.hexdigest()[:16]


def dump_state(state: State) -> bytes:
    return orjson.dumps(state)


def load_state(blob: bytes) -> State:
    raw: dict[str, Any] = orjson.loads(blob)
    return State(
        position=raw["position"],
        initialized=raw["initialized"],
        services={k: ServiceView(**v) for k, v in raw["services"].items()},
        modes={k: ModeView(**v) for k, v in raw["modes"].items()},
        settings=raw["settings"],
        active_mode=raw["active_mode"],
        switch_in_progress=raw["switch_in_progress"],
        vram=VramLedger(**raw["vram"]),
        switches={k: _timeline(v) for k, v in raw["switches"].items()},
        anomalies=[Anomaly(**a) for a in raw["anomalies"]],
        versions=raw["versions"],
        open_correlations=raw["open_correlations"],
    )


def _timeline(raw: dict[str, Any]) -> SwitchTimeline:
    steps = [Step(**step) for step in raw.pop("steps")]
    return SwitchTimeline(**raw, steps=steps)
