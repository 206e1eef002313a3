"""The parser: every shipped model and generated expressions survive print -> parse."""

from __future__ import annotations

from typing import Any

import lark
import msgspec
import pytest
from ftverify.spec import printer
from ftverify.spec import syntax as S
from ftverify.spec.errors import SpecError
from ftverify.spec.parser import _lark, parse_expr, parse_file, parse_text
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.conftest import MODELS, ROOT


def strip(x: Any) -> Any:
    """An AST without its spans, for comparisons."""
    if isinstance(x, msgspec.Struct):
        return (type(x).__name__, *(strip(getattr(x, f)) for f in x.__struct_fields__ if f != "span"))
    if isinstance(x, tuple | list):
        return tuple(strip(y) for y in x)
    return x


def no_trees(x: Any) -> bool:
    """A missing Transformer method leaves lark Trees in the AST."""
    if isinstance(x, lark.Tree | lark.Token):
        return False
    if isinstance(x, msgspec.Struct):
        return all(no_trees(getattr(x, f)) for f in x.__struct_fields__)
    if isinstance(x, tuple | list):
        return all(no_trees(y) for y in x)
    return True


SPECS = sorted(p for p in MODELS.rglob("*.ftv")) + sorted((ROOT / "bench").glob("*.ftv"))


@pytest.mark.parametrize("path", SPECS, ids=lambda p: p.name)
def test_models_round_trip(path):
    ast = parse_file(str(path))
    assert no_trees(ast)
    if isinstance(ast, S.SpecFile):
        again = parse_text(printer.spec(ast), "printed")
        assert strip(again) == strip(ast)


def test_spans_point_at_the_source():
    ast = parse_text("spec X\nvar flag: bool\naction a when flag { flag := false }\n", "f.ftv")
    var = ast.decls[0]
    assert (var.span.file, var.span.line, var.span.col) == ("f.ftv", 2, 5)
    action = ast.decls[1]
    assert action.guard.span.line == 3 and action.guard.span.col == 15


def test_grammar_has_one_start_for_specs_and_proofs():
    assert isinstance(parse_text("proof P\nuse \"m.ftv\" as m\ntheorem t: m.inv by pdr\n"), S.ProofFile)


def test_precedence_follows_the_reference():
    e = parse_expr("a || b && c -> d")
    assert strip(e) == strip(parse_expr("(a || (b && c)) -> d"))
    assert strip(parse_expr("x & 1 == 0")) == strip(parse_expr("(x & 1) == 0"))
    assert strip(parse_expr("p && forall i: 0..3. q || r")) == strip(parse_expr("p && (forall i: 0..3. (q || r))"))
    assert strip(parse_expr("-x.f")) == strip(parse_expr("-(x.f)"))


def test_quantifier_range_bound_is_not_a_field_access():
    e = parse_expr("forall r: 0..N-1. out[r] == 0")
    assert isinstance(e, S.Quant) and isinstance(e.body, S.Binary)


def test_let_binds_a_bit_level_value():
    e = parse_expr("let m = a + 1 in m in s")
    assert isinstance(e, S.Let) and isinstance(e.body, S.Binary) and e.body.op == "in"


def test_number_bases():
    assert parse_expr("0x1f").value == 31 and parse_expr("0b101").value == 5


def test_no_transformer_method_is_missing():
    grammar_rules = {r.origin.name for r in _lark().rules}
    aliases = {r.alias for r in _lark().rules if r.alias}
    from ftverify.spec.parser import AstBuilder

    inlined = {n for n in grammar_rules if n.startswith(("_", "__")) or n in {
        "decl", "type", "bound", "bound_term", "bound_atom", "stmt", "else_part", "lvalue", "expr",
        "iff_expr", "implies_expr", "implies_rhs", "or_expr", "or_rhs", "and_expr", "and_rhs", "not_expr",
        "not_rhs", "tail_only", "tail", "cmp_expr", "bitor_expr", "bitxor_expr", "bitand_expr", "shift_expr",
        "sum_expr", "product_expr", "unary_expr", "postfix_expr", "atom", "refine_item", "refine_target",
        "proof_decl", "method", "budget_item", "in_source", "comp_binder"}}
    for name in (grammar_rules - inlined) | aliases:
        assert hasattr(AstBuilder, name), name


# ---------------------------------------------------------------- generated expressions
NAMES = st.sampled_from(["x", "y", "flag", "q", "s1"])
LEAF = st.one_of(
    st.integers(0, 99).map(lambda v: S.IntLit(None, v)),  # type: ignore[arg-type]
    st.booleans().map(lambda b: S.BoolLit(None, b)),  # type: ignore[arg-type]
    NAMES.map(lambda n: S.Name(None, n)),  # type: ignore[arg-type]
)
BINOPS = ["<->", "->", "||", "&&", "==", "!=", "<", "<=", ">", ">=", "in", "|", "^", "&", "<<", ">>", "+",
          "-", "*", "/", "%"]


def _extend(children: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    n = None
    rng = S.RangeType(n, S.IntLit(n, 0), S.IntLit(n, 3))  # type: ignore[arg-type]
    return st.one_of(
        st.builds(lambda op, a, b: S.Binary(n, op, a, b), st.sampled_from(BINOPS), children, children),
        st.builds(lambda op, a: S.Unary(n, op, a), st.sampled_from(["-", "~", "!"]), children),
        st.builds(lambda a, b: S.Index(n, a, b), NAMES.map(lambda x: S.Name(n, x)), children),
        st.builds(lambda a, f: S.Field(n, a, f), NAMES.map(lambda x: S.Name(n, x)), NAMES),
        st.builds(lambda c, a, b: S.Ite(n, c, a, b), children, children, children),
        st.builds(lambda k, v, b: S.Quant(n, k, (S.Binder(n, v, rng),), b),
                  st.sampled_from(["forall", "exists", "count", "sum"]), NAMES, children),
        st.builds(lambda k, v, src, b: S.Quant(n, k, (S.SetBinder(n, v, src),), b),
                  st.sampled_from(["forall", "exists"]), NAMES, children, children),
        st.builds(lambda e, v, src, c: S.SetComp(n, e, S.SetBinder(n, v, src) if src else S.Binder(n, v, rng), c),
                  children, NAMES, st.one_of(st.none(), children), st.one_of(st.none(), children)),
        st.builds(lambda v, a, b: S.Let(n, v, a, b), NAMES, children, children),
        st.builds(lambda f, args: S.Call(n, f, tuple(args)), st.sampled_from(["f", "min"]),
                  st.lists(children, min_size=1, max_size=2)),
        st.builds(lambda xs: S.SetLit(n, tuple(xs)), st.lists(children, min_size=1, max_size=2)),
        st.builds(lambda xs: S.RecordLit(n, tuple(S.FieldInit(n, str(i), x) for i, x in enumerate(xs, 1))),
                  st.lists(children, min_size=2, max_size=3)),  # a tuple
        st.builds(lambda v, b: S.MapLit(n, v, rng, b), NAMES, children),
    )


EXPRS = st.recursive(LEAF, _extend, max_leaves=12)


@settings(max_examples=300, deadline=None)
@given(EXPRS)
def test_generated_expressions_round_trip(e):
    text = printer.expr(e)
    try:
        again = parse_expr(text)
    except SpecError as err:  # pragma: no cover - a printer bug
        raise AssertionError(f"printed expression does not parse: {text}\n{err}") from None
    assert strip(again) == strip(e), text
