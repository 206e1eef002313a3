"""Golden error messages: each tests/golden/errors/NAME.ftv gives exactly NAME.txt.

Regenerate with FTVERIFY_UPDATE_GOLDEN=1 after a deliberate change to a message.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.conftest import run_cli

GOLDEN = Path(__file__).resolve().parent.parent / "golden" / "errors"
CASES = sorted(GOLDEN.glob("*.ftv"))


@pytest.mark.parametrize("path", CASES, ids=lambda p: p.stem)
def test_golden_error(path, monkeypatch):
    monkeypatch.chdir(GOLDEN)
    code, out, err = run_cli("check", path.name)
    assert code == 2 and out == ""
    expected = path.with_suffix(".txt")
    if os.environ.get("FTVERIFY_UPDATE_GOLDEN"):
        expected.write_text(err)
    assert err == expected.read_text()
