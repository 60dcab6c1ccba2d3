"""Write the expected state of a recorded log beside it: replay_fixtures/NAME.state.json.

Usage: python scripts/record_fixture.py replay_fixtures/NAME.jsonl
Read the diff of the written file before committing it: it is what the log must replay to.
"""

from __future__ import annotations

import sys
from pathlib import Path

import orjson

from gpumod.adapters.cli.state_report import as_dict
from gpumod.events.chain import verify_rows
from gpumod.events.transfer import read_file, recorded
from gpumod.projections.fold import fold


def expected_path(log: Path) -> Path:
    return log.with_name(log.name.removesuffix(".jsonl") + ".state.json")


def main(log: Path) -> None:
    rows = read_file(log)
    verify_rows(rows)
    state = as_dict(fold(recorded(row) for row in rows))
    out = expected_path(log)
    out.write_bytes(orjson.dumps(state, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS) + b"\n")
    print(f"wrote {out}")


if __name__ == "__main__":
    main(Path(sys.argv[1]))
