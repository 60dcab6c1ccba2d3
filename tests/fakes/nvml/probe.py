"""Prints, as JSON, what gpumod's GPU adapter reports for the spec in argv[1]."""

from __future__ import annotations

import dataclasses
import json
import sys
import tempfile
from pathlib import Path

from gpumod.adapters.gpu.base import GpuUnavailable
from gpumod.adapters.gpu.select import open_gpu


def main(spec: str) -> None:
    try:
        gpu = open_gpu(spec, Path(tempfile.gettempdir()))
        print(json.dumps({"snapshot": dataclasses.asdict(gpu.snapshot())}))
    except GpuUnavailable as error:
        print(json.dumps({"unavailable": str(error)}))


if __name__ == "__main__":
    main(sys.argv[1])
