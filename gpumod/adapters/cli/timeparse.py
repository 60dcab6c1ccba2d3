"""Times given on the command line: ISO 8601 (local time unless it says otherwise) or 'ago'."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from gpumod.adapters.cli.errors import UsageError

RELATIVE = re.compile(r"^(\d+)\s*(s|m|h|d|w)$")
UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}
ACCEPTED = ("an ISO 8601 time (2026-11-22T09:30, 2026-11-22 09:30:00+01:00) "
            "or an age (90s, 15m, 2h, 3d, 1w)")


def parse_when(text: str, option: str, now: datetime) -> str:
    """`text` as the UTC ISO string the log's recorded_at is compared with."""
    if match := RELATIVE.match(text.strip()):
        moment = now - timedelta(**{UNITS[match[2]]: int(match[1])})
    else:
        try:
            moment = datetime.fromisoformat(text.strip())
        except ValueError:
            raise UsageError(f"{option} {text!r}: expected {ACCEPTED}") from None
        if moment.tzinfo is None:
            moment = moment.astimezone()  # a time without zone is the user's local time
    return moment.astimezone(UTC).isoformat(timespec="microseconds")
