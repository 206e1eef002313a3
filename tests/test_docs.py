"""Every code example of the README and of docs/ is run: specs type-check and explore, proof
script lines are the shipped ones, command lines are valid invocations, Python compiles, and the
README's example output is what the command prints."""

from __future__ import annotations

import glob
import re
import shlex

import click
import pytest
from ftverify.checker.commands.cli import cli
from ftverify.checker.engines import explicit
from ftverify.spec.interp import Interpreter
from ftverify.spec.parser import parse_text
from ftverify.spec.typecheck import check_text

from tests.conftest import ROOT, run_cli

DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


def blocks() -> list[tuple[str, int, str, str]]:
    """(file, line, language, text) of every fenced code block."""
    out = []
    for path in DOCS:
        text = path.read_text(encoding="utf-8")
        for m in re.finditer(r"^```(\w*)\n(.*?)^```", text, re.S | re.M):
            out.append((path.name, text.count("\n", 0, m.start()) + 1, m.group(1), m.group(2)))
    return out


def first_line(text: str) -> str:
    return next((ln.strip() for ln in text.splitlines() if ln.strip() and not ln.strip().startswith("#")), "")


BLOCKS = blocks()


def ids(b: tuple[str, int, str, str]) -> str:
    return f"{b[0]}:{b[1]}"


@pytest.mark.parametrize("block", [b for b in BLOCKS if first_line(b[3]).startswith("spec ")], ids=ids)
def test_every_spec_in_the_docs_type_checks_and_explores(block: tuple[str, int, str, str]) -> None:
    m = check_text(block[3], f"{block[0]}:{block[1]}")
    ex = explicit.explore(Interpreter(m), explicit.Limits(max_states=100_000), progress=None)
    assert ex.parent  # it has initial states


@pytest.mark.parametrize("block", [b for b in BLOCKS if first_line(b[3]).startswith(("proof ", "refinement "))],
                         ids=ids)
def test_every_proof_script_and_refinement_in_the_docs_parses(block: tuple[str, int, str, str]) -> None:
    text = block[3] if first_line(block[3]).startswith("proof ") else "spec Fragment\n" + block[3]
    parse_text(text, f"{block[0]}:{block[1]}")


@pytest.mark.parametrize("block", [b for b in BLOCKS if first_line(b[3]).startswith("theorem ")], ids=ids)
def test_theorems_quoted_in_the_docs_are_the_shipped_ones(block: tuple[str, int, str, str]) -> None:
    shipped = "\n".join(p.read_text() for p in (ROOT / "proofs").glob("*.ftv"))
    for line in block[3].splitlines():
        if line.strip():
            assert line.strip() in shipped, line


def commands() -> list[tuple[str, list[str]]]:
    out = []
    for name, line, lang, text in BLOCKS:
        if lang:
            continue
        for ln in text.splitlines():
            for part in re.split(r"&&", ln.strip().removeprefix("$ ")):
                if not part.split() or not part.split()[0].endswith("ftverify"):
                    continue  # not a command (a spec's `x'` is no shell quote)
                words = shlex.split(part.strip())
                if words and words[0].endswith("ftverify"):
                    out.append((f"{name}:{line}", words[1:]))
    return out


@pytest.mark.parametrize("where, args", commands(), ids=[w for w, _ in commands()])
def test_every_command_line_in_the_docs_is_valid(where: str, args: list[str]) -> None:
    """Parsed as the CLI parses it (options, their values, their checks), without running it."""
    expanded = [x for a in args for x in (sorted(glob.glob(str(ROOT / a))) if "*" in a else [a])]
    cmd = cli.get_command(click.Context(cli), expanded[0])
    assert cmd is not None, where
    with cmd.make_context(expanded[0], expanded[1:]):
        pass


@pytest.mark.parametrize("block", [b for b in BLOCKS if b[2] == "python"], ids=ids)
def test_python_in_the_docs_compiles(block: tuple[str, int, str, str]) -> None:
    compile(block[3], f"{block[0]}:{block[1]}", "exec")


def test_the_readme_example_output_is_what_the_command_prints() -> None:
    text = (ROOT / "README.md").read_text()
    m = re.search(r"^\$ ftverify (prove models/classic/tmr\.ftv[^\n]*)\n(.*?)^```", text, re.S | re.M)
    assert m is not None
    code, out, _ = run_cli(*shlex.split(m.group(1)), "--quiet")
    shown = [ln for ln in m.group(2).splitlines() if ln.strip()]
    printed = [ln for ln in out.splitlines() if ln.strip()]
    drop_time = re.compile(r"\d+\.\d+ s")
    assert [drop_time.sub("", ln) for ln in printed] == [drop_time.sub("", ln) for ln in shown]
    assert code == 1

