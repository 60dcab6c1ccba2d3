"""`python -m gpumod.adapters.standins KIND --port P --service-id ID --vram-mb N ...`"""

from __future__ import annotations

import importlib
import sys

KINDS = {
    "vllm": ("gpumod.adapters.standins.vllm", "VllmStandIn"),
    "llamacpp": ("gpumod.adapters.standins.llamacpp", "LlamaCppStandIn"),
    "mistralrs": ("gpumod.adapters.standins.mistralrs", "MistralRsStandIn"),
    "fastapi": ("gpumod.adapters.standins.fastapi", "FastApiStandIn"),
}


def main(argv: list[str] | None = None) -> int:
    from gpumod.adapters.standins.common import parser, run

    args = sys.argv[1:] if argv is None else argv
    kind = parser().parse_args(args).kind  # a bad command line exits 2 with the usage
    module, name = KINDS[kind]
    return run(getattr(importlib.import_module(module), name), args)


if __name__ == "__main__":
    sys.exit(main())
