"""The licence policy CI applies to every installed dependency (scripts/check_licences.py)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "check_licences.py"
spec = importlib.util.spec_from_file_location("check_licences", SCRIPT)
assert spec and spec.loader
policy = importlib.util.module_from_spec(spec)
spec.loader.exec_module(policy)


@pytest.mark.parametrize("expression", [
    "MIT", "MIT License", "BSD-3-Clause", "BSD License", "Apache Software License",
    "Apache-2.0", "ISC License (ISCL)", "Mozilla Public License 2.0 (MPL 2.0)", "PSF-2.0",
    "MPL-2.0 AND (Apache-2.0 OR MIT)", "Apache-2.0 OR BSD-2-Clause", "GPL-3.0-only OR MIT",
    "Apache Software License; BSD License",
])
def test_permissive_licences_pass(expression: str) -> None:
    assert policy.allowed(expression)


@pytest.mark.parametrize("expression", [
    "GPL-3.0", "LGPL-2.1-or-later", "AGPL-3.0", "UNKNOWN", "", "GPL-2.0 AND MIT",
    "MIT AND (GPL-3.0 OR LGPL-3.0)", "Commercial", "SSPL-1.0",
])
def test_anything_else_fails(expression: str) -> None:
    assert not policy.allowed(expression)
