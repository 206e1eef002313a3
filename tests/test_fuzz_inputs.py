"""Random and mutated spec text never gives a traceback: a clean error or a valid spec.

Each input goes through `ftverify check` in-process; an exit code 2 must come
with a `file:line:col: error:` line, and no input may raise out of the CLI or
print an internal error.
"""

from __future__ import annotations

import re
from pathlib import Path

from click.testing import CliRunner
from ftverify.checker.commands.cli import cli
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import CLASSIC

SEEDS = [p.read_text() for p in sorted(CLASSIC.glob("*.ftv"))]
TOKENS = ["spec", "var", "action", "fault", "init", "{", "}", "(", ")", "[", "]", ":", ":=", "==", "->", "&&",
          "forall", "exists", "..", ".", ",", "0", "1", "99999999999", "bv[4]", "set[", "queue[", "x", "when",
          "invariant", "def", "proc", "if", "then", "else", "let", "in", "|->", "\n", " ", "#", '"', "import",
          "-", "<<", "type", "enum", "const", "recovers", "from", "to", "reachable", "faults", "budget", "for",
          "symmetric", "tuple[", "set[{a: bool}]"]
LOCATION = re.compile(r"^[^\n]*:\d+:\d+: error: ", re.M)


def run_check(tmp: Path, text: str) -> None:
    path = tmp / "fuzz.ftv"
    path.write_text(text, encoding="utf-8", errors="surrogatepass")
    result = CliRunner().invoke(cli, ["check", str(path)])
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    assert "Traceback" not in result.output and "internal error" not in result.stderr, result.stderr
    assert result.exit_code in (0, 2), (result.exit_code, result.stderr)
    if result.exit_code == 2:
        assert LOCATION.search(result.stderr), result.stderr


@st.composite
def mutated(draw: st.DrawFn) -> str:
    text = draw(st.sampled_from(SEEDS))
    for _ in range(draw(st.integers(1, 4))):
        i = draw(st.integers(0, max(0, len(text) - 1)))
        j = min(len(text), i + draw(st.integers(0, 12)))
        kind = draw(st.sampled_from(["delete", "insert", "replace", "duplicate"]))
        if kind == "delete":
            text = text[:i] + text[j:]
        elif kind == "insert":
            text = text[:i] + draw(st.sampled_from(TOKENS)) + text[i:]
        elif kind == "replace":
            text = text[:i] + draw(st.sampled_from(TOKENS)) + text[j:]
        else:
            text = text[:j] + text[i:j] + text[j:]
    return text


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(mutated())
def test_mutated_models_give_clean_errors(tmp_path, text):
    run_check(tmp_path, text)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.sampled_from(TOKENS), max_size=40).map(" ".join))
def test_token_soup_gives_clean_errors(tmp_path, text):
    run_check(tmp_path, "spec Fuzz\n" + text)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.text(max_size=200))
def test_arbitrary_text_gives_clean_errors(tmp_path, text):
    run_check(tmp_path, text)
