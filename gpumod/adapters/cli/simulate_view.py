"""A simulation as text: the verdict, each service's need, and the ranked alternatives."""

from __future__ import annotations

from typing import Any

from gpumod.adapters.cli.render import table

BAR_WIDTH = 40


def text(report: dict[str, Any], visual: bool) -> str:
    plan = report["plan"]
    verdict = "FITS" if report["fits"] else "DOES NOT FIT"
    lines = [
        f"{report['target']}: {verdict}",
        f"needs {plan['needed_mb']} MB + {report['margin_mb']} MB margin; would be free: "
        f"{plan['free_after_mb']} MB ({plan['free_now_mb']} MB free now + {plan['freed_mb']} MB "
        "released by what it stops or sleeps)",
        _actions(plan), "",
        table(("SERVICE", "ACTION", "PRESET MB", "MEASURED MB", "COUNTED MB"), [
            (s["id"], s["action"], s["reserved_mb"], s["measured_mb"] or "-", s["need_mb"])
            for s in report["services"]]),
    ]
    if visual:
        lines += ["", _bar(plan)]
    if report["alternatives"]:
        lines += ["", "alternatives (most useful first):", table(
            ("", "ACTION", "SAVES MB", "FITS THEN", "HOW"),
            [(i, a["action"], a["saves_mb"], "yes" if a["fits"] else "no", a["detail"])
             for i, a in enumerate(report["alternatives"], 1)])]
    return "\n".join(lines)


def _actions(plan: dict[str, Any]) -> str:
    parts = [f"{verb} {', '.join(plan[key])}" for key, verb in (
        ("stop", "stop"), ("sleep", "sleep"), ("wake", "wake"), ("start", "start"))
        if plan[key]]
    return "plan: " + ("; ".join(parts) if parts else "nothing to do")


def _bar(plan: dict[str, Any]) -> str:
    available = max(plan["free_after_mb"], 1)
    used = min(round(plan["needed_mb"] / available * BAR_WIDTH), BAR_WIDTH)
    mark = "!" if plan["needed_mb"] > available else "#"
    needed, free = int(plan["needed_mb"]), int(plan["free_after_mb"])
    return f"[{mark * used}{'.' * (BAR_WIDTH - used)}] {needed} of {free} MB that would be free"
