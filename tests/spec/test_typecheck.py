"""Name resolution and typing: errors name the place, what was expected and what was found."""

from __future__ import annotations

import pytest
from ftverify.spec.errors import SpecError, format_error

from tests.conftest import model_of

BASE = "spec T\nvar x: 0..3\nvar b: bool\nvar w: bv[4]\nenum E { A, B }\nvar e: E\n"


def error_of(body: str) -> str:
    with pytest.raises(SpecError) as info:
        model_of(BASE + body)
    return format_error(info.value)


@pytest.mark.parametrize(("body", "expected"), [
    ("action a { x := b }", "expected 0..3, found bool"),
    ("action big(i: 0..300, j: {p: 0..300, q: bool}) { x := 0 }",
     "big has 181,202 instances, one per value of its parameters (301 (i) x 602 (j))"),
    ("action a { w := x }", "expected bv[4], found an integer in 0..3"),
    ("action a { x := w }", "convert with int(x)"),
    ("action a { e := 1 }", "expected E, found an integer"),
    ("action a { b := x }", "expected bool, found an integer in 0..3"),
    ("action a when x { skip }", "a guard must be a boolean"),
    ("action a { x := 7 }", "7 is outside 0..3"),
    ("action a { w := 16 }", "16 does not fit in bv[4]"),
    ("action a { y := 1 }", "cannot assign to `y`: it is not declared"),
    ("action a { x := z }", "unknown name `z`"),
    ("action a when x == A { skip }", "compares values of different types"),
    ("action a { x := x & 1 }", "works on bit-vectors and sets, not integers"),
    ("action a { x := x / x }", "divisor of `/` must be a positive constant"),
    ("action a { x := x + f(1) }", "unknown function `f`"),
    ("var x: bool\naction a { skip }", "`x` is already declared"),
    ("def f(n: 0..3): bool = g(n)\ndef g(n: 0..3): bool = f(n)\naction a when f(1) { skip }", "circular definition"),
    ("type R = 3..1\naction a { skip }", "empty range 3..1"),
    ("var m: [0..3] bool\naction a { m[x].f := true }", "only a record has fields"),
    ("type R = { f: bool }\nvar r: R\naction a { r := {f: true, g: false} }", "`g` is not a field"),
    ("action a { x := if b then 1 else false }", "different types"),
    ("var s: set[0..3]\naction a { s := {} ; b := {1} == {2} }", "cannot tell the element type"),
    ("var faults: bool\naction a { skip }", "built-in name"),
    ("action a(p: 0..1, p: 0..1) { skip }", "parameter `p` appears twice"),
    ("var m: [bool] 0..1\naction a { m := [k: 0..1 |-> 0] }", "key type differs"),
])
def test_type_errors(body, expected):
    assert expected in error_of(body)


def test_error_shows_line_column_and_caret():
    text = error_of("action a { x := b }")
    first, excerpt, caret = text.splitlines()[:3]
    assert first.startswith("<test>:7:17: error:")
    assert excerpt.endswith("action a { x := b }")
    assert caret.index("^") == excerpt.index(" b }") + 1


def test_suggestions_for_misspelled_names():
    assert "did you mean flag" in error_of("var flag: bool\naction a { x := if flga then 1 else 2 }")


def test_a_spec_needs_variables_and_actions():
    with pytest.raises(SpecError, match="no state variables"):
        model_of("spec T\naction a { skip }")
    with pytest.raises(SpecError, match="no actions"):
        model_of("spec T\nvar x: bool\n")


def test_const_overrides():
    m = model_of("spec T\nconst N = 3\nvar x: 0..N\naction a { skip }", consts={"N": 7})
    assert m.var("x").type.hi == 7
    with pytest.raises(SpecError, match="no constant `M`"):
        model_of("spec T\nconst N = 3\nvar x: 0..N\naction a { skip }", consts={"M": 7})


def test_interval_typing_emits_checks_only_where_needed():
    from ftverify.spec import model as M

    m = model_of(BASE + "var m: [0..3] bool\naction a(i: 0..3) { x := i; m[i] := true }\n"
                 "action c(i: 0..4) { x := i - 1 }\n")
    a, c = m.action("a"), m.action("c")
    assert not any(isinstance(e, M.Check) for st in a.body for e in M.walk(st.value))
    assert any(isinstance(e, M.Check) for st in c.body for e in M.walk(st.value))
