"""Shared helpers: in-memory specs, expression evaluation and the CLI runner."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from ftverify.checker.commands.cli import cli
from ftverify.spec.interp import Interpreter
from ftverify.spec.model import Model
from ftverify.spec.typecheck import check_text, parse_expression

# Every test proves afresh (and child processes inherit this): a verdict served from the proof
# cache would hide what a test runs; tests/checker/test_proofcache.py turns it on where it is tested.
os.environ["FTVERIFY_PROOF_CACHE"] = "off"



def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The long tests (marked slow) first: the parallel workers start them at once and fill in
    around them with the short ones, instead of one of them finishing the suite alone."""
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)


ROOT = Path(__file__).resolve().parent.parent
MODELS = ROOT / "models"
CLASSIC = MODELS / "classic"


def model_of(text: str, budget: int | None = None, consts: dict[str, int] | None = None) -> Model:
    return check_text(text, "<test>", consts)


def evaluate(decls: str, expr: str, state: dict[str, Any] | None = None) -> Any:
    """The value of `expr` in a spec made of `decls`, in `state` (defaults: all zero)."""
    m = model_of(f"spec T\n{decls}\nvar unused_: bool\naction noop {{ skip }}\n")
    it = Interpreter(m, 0)
    e = parse_expression(m, expr)
    values = {v.name: 0 for v in m.vars}
    values.update(state or {})
    s = it.layout.encode(values) if state is not None else 0
    return it.compiler.fn(e, {})(s)


def run_cli(*args: str) -> tuple[int, str, str]:
    runner = CliRunner()
    result = runner.invoke(cli, list(args), catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture
def cli_run():
    return run_cli


def verdict_rows(out: str) -> list[list[str]]:
    """A proof report's obligation rows without the time and detail columns."""
    return [line.split()[:6] for line in out.splitlines() if line.startswith("  ") and "." in line.split()[1:2][0]
            and len(line.split()) > 6]
