"""A command refused by validation: the reason, and a short code tools can match on."""

from __future__ import annotations


class Rejected(Exception):
    def __init__(self, code: str, reason: str) -> None:
        super().__init__(reason)
        self.code, self.reason = code, reason
