"""Models as the registered presets name them: which services serve each, in which modes."""

from __future__ import annotations

from gpumod.adapters.mcp.errors import ArgumentError
from gpumod.adapters.mcp.outputs import ModelInfo, ModelService
from gpumod.projections.state import ServiceView, State


def model_ids(state: State) -> list[str]:
    return sorted({_model_of(view) for view in state.services.values()} - {""})


def model_info(state: State, model_id: str) -> ModelInfo:
    views = [v for _, v in sorted(state.services.items()) if _model_of(v) == model_id]
    if not views:
        known = model_ids(state)
        raise ArgumentError("model_id", f"no registered service serves {model_id!r} (models: "
                            f"{', '.join(known[:40]) or 'none'}{', …' if len(known) > 40 else ''})")
    ids = {v.id for v in views}
    modes = sorted(m.id for m in state.modes.values()
                   if ids & set(m.definition.get("services", [])))
    paths = sorted({str(v.definition["model_path"]) for v in views
                    if v.definition.get("model_path")})
    return {"model_id": model_id, "services": [_service(v) for v in views], "modes": modes,
            "model_paths": paths}


def models(state: State) -> list[ModelInfo]:
    return [model_info(state, model_id) for model_id in model_ids(state)]


def _model_of(view: ServiceView) -> str:
    return str(view.definition.get("model_id") or "")


def _service(view: ServiceView) -> ModelService:
    d = view.definition
    return {"id": view.id, "driver": d.get("driver"), "vram_mb": d.get("vram_mb"),
            "measured_vram_mb": view.measured_vram_mb, "context_size": d.get("context_size"),
            "state": view.state}
