"""Write the expected state of a recorded log beside it: replay_fixtures/NAME.state.json.

Usage: python scripts/record_fixture.py replay_fixtures/NAME.jsonl
The file holds the whole folded state (every projection field, timeline step details included),
not only what `gpumod replay --json` prints, so a change to any projection shows in its diff.
Read that diff before committing the file: it is what the log must replay to.
"""

from __future__ import annotations

import sys
from pathlib import Path

import orjson

from gpumod.events.chain import verify_rows
from gpumod.events.export_files import read_file
from gpumod.events.transfer import recorded
from gpumod.projections.fold import fold


def expected_path(log: Path) -> Path:
    return log.with_name(log.name.removesuffix(".jsonl") + ".state.json")


def main(log: Path) -> None:
    rows = read_file(log)
    verify_rows(rows)
    state = fold(recorded(row) for row in rows)  # orjson writes the dataclasses field by field
    out = expected_path(log)
    out.write_bytes(orjson.dumps(state, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS) + b"\n")
    print(f"wrote {out}")


if __name__ == "__main__":
    main(Path(sys.argv[1]))
