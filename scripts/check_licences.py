"""Fail when an installed dependency's licence is outside the project's allowed list.

pip-licenses reads the licence of every installed distribution; this script decides. A licence
is an SPDX-style expression ("MPL-2.0 AND (Apache-2.0 OR MIT)") or a list of trove classifiers
joined by "; " (read as alternatives). AND needs every part allowed, OR needs one.
See docs/adr/0005-licence-check.md.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys

ALLOWED = {"MIT", "Apache-2.0", "BSD", "ISC", "MPL-2.0", "PSF"}
NAMES = [  # (pattern over one licence name, canonical name)
    (r"mit( license)?|mit-0|mit no attribution", "MIT"),
    (r"apache( software license| license)?([ ,-]*(version )?2(\.0)?)?|apache-2\.0", "Apache-2.0"),
    (r"(new |simplified |modified )?bsd.*|\d-clause bsd.*|0bsd", "BSD"),
    (r"isc( license)?( \(iscl\))?", "ISC"),
    (r"mpl[- ]2\.0|mozilla public license 2\.0( \(mpl 2\.0\))?", "MPL-2.0"),
    (r"psf(-2\.0)?|python software foundation( license)?|psf license", "PSF"),
]
IGNORED = {"gpumod", "pip", "setuptools", "wheel"}


def canonical(name: str) -> str | None:
    text = name.strip().lower()
    for pattern, result in NAMES:
        if re.fullmatch(pattern, text):
            return result
    return None


def allowed(expression: str) -> bool:
    """Whether an SPDX-like expression can be satisfied by allowed licences only."""
    if ";" in expression:
        return any(allowed(part) for part in expression.split(";"))
    if canonical(expression) is not None:  # a plain name, parentheses and all
        return canonical(expression) in ALLOWED
    tokens = [t.strip() for t in re.split(r"(\(|\)|\bAND\b|\bOR\b)", expression) if t.strip()]
    value, rest = _or(tokens)
    return value and not rest


def _or(tokens: list[str]) -> tuple[bool, list[str]]:
    value, tokens = _and(tokens)
    while tokens and tokens[0] == "OR":
        right, tokens = _and(tokens[1:])
        value = value or right
    return value, tokens


def _and(tokens: list[str]) -> tuple[bool, list[str]]:
    value, tokens = _atom(tokens)
    while tokens and tokens[0] == "AND":
        right, tokens = _atom(tokens[1:])
        value = value and right
    return value, tokens


def _atom(tokens: list[str]) -> tuple[bool, list[str]]:
    if not tokens:
        return False, tokens
    if tokens[0] == "(":
        value, rest = _or(tokens[1:])
        return value, rest[1:] if rest and rest[0] == ")" else rest
    return canonical(tokens[0]) in ALLOWED, tokens[1:]


def main() -> int:
    listing = subprocess.run(
        [sys.executable, "-m", "piplicenses", "--format=json", "--from=mixed"],
        check=True, capture_output=True, text=True,
    ).stdout
    refused = [p for p in json.loads(listing)
               if p["Name"].lower() not in IGNORED and not allowed(p["License"])]
    for package in refused:
        print(f"licence not allowed: {package['Name']} {package['Version']}: "
              f"{package['License']!r} (allowed: {', '.join(sorted(ALLOWED))})")
    if refused:
        return 1
    print(f"licences ok: every installed dependency is {', '.join(sorted(ALLOWED))}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
