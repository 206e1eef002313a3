"""Text to AST: lark's LALR parser over `grammar.lark`, then a Transformer with
one method per rule that builds the frozen nodes of `syntax.py`.

Syntax errors become SpecErrors with the location, the offending token and the
tokens the grammar expected there, spelled as the user would type them.
"""

from __future__ import annotations

import os
import sys
from copy import copy
from functools import cache
from typing import Any

import lark
from ftverify.spec import syntax as S
from ftverify.spec.errors import SourceCache, Span, SpecError
from lark import Token, Transformer, v_args
from lark.exceptions import UnexpectedCharacters
from lark.lexer import ContextualLexer, PatternStr

# Readable names for the grammar's named terminals, used in "expected ..." lists.
_TERMINAL_NAMES = {
    "NAME": "a name",
    "INT": "a number",
    "STRING": 'a "string"',
    "$END": "end of file",
}


@cache
def _lark() -> lark.Lark:
    # Beside this module in every install; importlib.resources (slower to import) otherwise.
    here = os.path.join(os.path.dirname(os.path.abspath(__file__)), "grammar.lark")
    if os.path.isfile(here):
        with open(here, encoding="utf-8") as f:
            grammar = f.read()
    else:
        from importlib import resources

        grammar = resources.files("ftverify.spec").joinpath("grammar.lark").read_text(encoding="utf-8")
    return lark.Lark(grammar, parser="lalr", propagate_positions=True, maybe_placeholders=True,
                     start=["start", "expr"], cache=_table_cache(),
                     _plugins={"ContextualLexer": _OneScannerLexer})


class _OneScannerLexer(ContextualLexer):
    """Lark's contextual lexer, with one scanner instead of one per parser state.

    The contextual lexer compiles a regular expression for every parser state a text
    reaches (~30 for a small spec: a third of the start-up of a run). In this grammar
    all that context decides is whether a word that is a keyword (`set`, `init`) may be
    read as a name where the parser cannot take the keyword; this lexer scans with the
    one scanner of all terminals and makes that choice itself. An unexpected character
    is reported with the terminals the parser could take there, as the contextual lexer
    does.
    """

    def __init__(self, conf: Any, states: Any, always_accept: Any = ()) -> None:
        # Only the scanner of all terminals: none per state (building those took ~10 ms).
        # The grammar's terminals are fixed and tested, so lark's validation of each is skipped.
        root_conf = copy(conf)
        root_conf.terminals = list(conf.terminals)
        root_conf.skip_validation = True
        self.lexers = {}
        self.root_lexer = self.BasicLexer(root_conf, None)

    def lex(self, lexer_state: Any, parser_state: Any) -> Any:
        root = self.root_lexer
        states = parser_state.parse_conf.parse_table.states
        keywords = self._keywords()
        try:
            while True:
                tok = root.next_token(lexer_state, parser_state)
                accepts = states[parser_state.position]
                if tok.type in keywords and tok.type not in accepts and "NAME" in accepts:
                    tok = Token.new_borrow_pos("NAME", tok.value, tok)
                yield tok
        except EOFError:
            pass
        except UnexpectedCharacters as e:
            e.allowed = {t for t in states[parser_state.position] if t in root.terminals_by_name}
            raise

    def _keywords(self) -> set[str]:
        kw = getattr(self, "_kw", None)
        if kw is None:
            name = self.root_lexer.terminals_by_name["NAME"].pattern.to_regexp()
            import re

            kw = self._kw = {t.name for t in self.root_lexer.terminals
                             if isinstance(t.pattern, PatternStr) and re.fullmatch(name, t.pattern.value)}
        return kw


def _table_cache() -> str | bool:
    """Where lark keeps the analysed grammar between runs: building the LALR tables takes
    most of a second, loading them a few milliseconds. The file holds pickled data, so it
    lives in the user's own cache directory (never a shared temporary one); lark checks
    the grammar's hash stored in it and rebuilds a stale one."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    folder = os.path.join(base, "ftverify")
    try:
        os.makedirs(folder, mode=0o700, exist_ok=True)
        if os.stat(folder).st_uid != os.getuid() or not os.access(folder, os.W_OK):
            return False
    except OSError:
        return False  # no cache directory: build the tables on every run
    return os.path.join(folder, f"grammar-lark{lark.__version__}.cache")


def _span_of_meta(file: str, meta: Any) -> Span:
    if getattr(meta, "empty", True):
        return Span(file, 1, 1, 1, 1)
    return Span(file, meta.line, meta.column, meta.end_line, meta.end_column)


def _span_of_token(file: str, tok: Token) -> Span:
    line = tok.line or 1
    col = tok.column or 1
    return Span(file, line, col, tok.end_line or line, tok.end_column or col + len(tok))


def _int(tok: Token) -> int:
    text = str(tok)
    if text.startswith(("0x", "0X")):
        return int(text, 16)
    if text.startswith(("0b", "0B")):
        return int(text, 2)
    return int(text)


@v_args(meta=True, inline=True)
class AstBuilder(Transformer):  # type: ignore[type-arg]
    """One method per grammar rule (or alias); each returns a syntax node."""

    def __init__(self, file: str) -> None:
        super().__init__(visit_tokens=False)
        self.file = file

    def _s(self, meta: Any) -> Span:
        return _span_of_meta(self.file, meta)

    def _t(self, tok: Token) -> Span:
        return _span_of_token(self.file, tok)

    # -- files
    def start(self, meta: Any, file: Any) -> Any:
        return file

    def spec_file(self, meta: Any, name: Token, *decls: Any) -> S.SpecFile:
        flat: list[S.Decl] = []
        for d in decls:
            flat.extend(d if isinstance(d, list) else [d])
        return S.SpecFile(self._t(name), str(name), tuple(flat))

    # -- declarations
    def import_decl(self, meta: Any, path: Token) -> S.Import:
        return S.Import(self._t(path), str(path)[1:-1])

    def const_decl(self, meta: Any, name: Token, value: S.Expr) -> S.ConstDecl:
        return S.ConstDecl(self._t(name), str(name), value)

    def type_decl(self, meta: Any, name: Token, type_: S.TypeExpr) -> S.TypeDecl:
        return S.TypeDecl(self._t(name), str(name), type_)

    def enum_decl(self, meta: Any, symmetric: Token | None, name: Token, members: list[Token]) -> S.EnumDecl:
        return S.EnumDecl(self._t(name), str(name), tuple(S.EnumMember(self._t(m), str(m)) for m in members),
                          symmetric is not None)

    def var_decl(self, meta: Any, names: list[Token], type_: S.TypeExpr) -> list[S.VarDecl]:
        return [S.VarDecl(self._t(n), str(n), type_) for n in names]

    def def_decl(self, meta: Any, name: Token, params: Any, ret: S.TypeExpr, body: S.Expr) -> S.DefDecl:
        return S.DefDecl(self._t(name), str(name), params or (), ret, body)

    def proc_decl(self, meta: Any, name: Token, params: Any, body: tuple[S.Stmt, ...]) -> S.ProcDecl:
        return S.ProcDecl(self._t(name), str(name), params or (), body)

    def init_decl(self, meta: Any, pred: S.Expr) -> S.InitDecl:
        return S.InitDecl(self._s(meta), pred)

    def action_kind(self, meta: Any, tok: Token) -> str:
        return str(tok)

    def action_decl(
        self, meta: Any, fairness: str | None, kind: str, name: Token, params: Any, budget: Any, rate: Any,
        guard: Any, body: tuple[S.Stmt, ...]
    ) -> S.ActionDecl:
        if budget is not None and kind != "fault":
            raise SpecError(self._t(name), f"action {name} has a budget: only a fault has one",
                            hint="write `fault NAME budget N ...`, or drop the budget")
        if fairness is not None and kind == "fault":
            raise SpecError(self._t(name), f"fault {name} is declared fair: a fault is never fair",
                            hint="nothing may rely on a fault happening; fairness belongs to recovery actions")
        return S.ActionDecl(self._t(name), str(name), kind == "fault", params or (), guard, body, budget, rate,
                            fairness)

    def fairness(self, meta: Any, *toks: Token) -> str:
        return "strong" if len(toks) == 2 else "weak"

    def rate_decl(self, meta: Any, name: Token, value: Token) -> S.RateDecl:
        return S.RateDecl(self._t(name), str(name), float(value))

    def rate_number(self, meta: Any, tok: Token) -> Token:
        if tok.type == "INT" and not str(tok).isdigit():
            raise SpecError(self._t(tok), f"a rate is a decimal number, not {tok}")
        return tok

    def action_rate(self, meta: Any, *factors: S.RateFactor) -> tuple[S.RateFactor, ...]:
        return factors

    def rate_factor(self, meta: Any, tok: Token) -> S.RateFactor:
        if tok.type in ("INT", "DECIMAL"):
            return S.RateFactor(self._t(tok), float(tok), None)
        return S.RateFactor(self._t(tok), None, str(tok))

    def fault_budget(self, meta: Any, value: Any) -> S.Expr | str:
        return "unbounded" if isinstance(value, Token) and value.type == "UNBOUNDED" else value

    def invariant_decl(self, meta: Any, name: Token, pred: S.Expr) -> S.PropertyDecl:
        return S.PropertyDecl(self._t(name), "invariant", str(name), pred)

    def reachable_decl(self, meta: Any, name: Token, pred: S.Expr) -> S.PropertyDecl:
        return S.PropertyDecl(self._t(name), "reachable", str(name), pred)

    def recovers_decl(self, meta: Any, name: Token, src: S.Expr, dst: S.Expr) -> S.PropertyDecl:
        return S.PropertyDecl(self._t(name), "recovers", str(name), src, dst)

    def leadsto_decl(self, meta: Any, name: Token, src: S.Expr, dst: S.Expr) -> S.PropertyDecl:
        return S.PropertyDecl(self._t(name), "leadsto", str(name), src, dst)

    def step_decl(self, meta: Any, name: Token, pred: S.Expr) -> S.PropertyDecl:
        return S.PropertyDecl(self._t(name), "step", str(name), pred)

    def eventually_decl(self, meta: Any, name: Token, dst: S.Expr) -> S.PropertyDecl:
        return S.PropertyDecl(self._t(name), "eventually", str(name), S.BoolLit(self._t(name), True), dst)

    def refinement_decl(self, meta: Any, name: Token, path: Token, *items: Any) -> S.RefinementDecl:
        maps = tuple(i for i in items if isinstance(i, S.RefineMap))
        acts = tuple(i for i in items if isinstance(i, S.RefineAction))
        invs: list[str] = []
        for i in items:
            if isinstance(i, list):
                invs += [str(t) for t in i]
        return S.RefinementDecl(self._t(name), str(name), str(path)[1:-1], maps, acts, tuple(invs))

    def refine_map(self, meta: Any, target: S.Expr, value: S.Expr) -> S.RefineMap:
        return S.RefineMap(self._s(meta), target, value)

    def refine_action(self, meta: Any, name: Token, params: Any, target: Any) -> S.RefineAction:
        abstract, args = target
        names = tuple(str(p) for p in (params or ()))
        return S.RefineAction(self._t(name), str(name), names, abstract, args)

    def refine_invariant(self, meta: Any, names: list[Token]) -> list[Token]:
        return names

    def refine_skip(self, meta: Any) -> tuple[None, tuple[()]]:
        return (None, ())

    def refine_call(self, meta: Any, name: Token, args: Any) -> tuple[str, tuple[S.Expr, ...]]:
        return (str(name), tuple(args or ()))

    def name_list(self, meta: Any, *names: Token) -> list[Token]:
        return list(names)

    def params(self, meta: Any, *ps: S.Param) -> tuple[S.Param, ...]:
        return ps

    def param(self, meta: Any, name: Token, type_: S.TypeExpr) -> S.Param:
        return S.Param(self._t(name), str(name), type_)

    # -- types
    def bool_type(self, meta: Any) -> S.BoolType:
        return S.BoolType(self._s(meta))

    def range_type(self, meta: Any, lo: S.Expr, hi: S.Expr) -> S.RangeType:
        return S.RangeType(self._s(meta), lo, hi)

    def bv_type(self, meta: Any, width: S.Expr) -> S.BVType:
        return S.BVType(self._s(meta), width)

    def named_type(self, meta: Any, name: Token) -> S.NamedType:
        return S.NamedType(self._t(name), str(name))

    def record_type(self, meta: Any, *fields: S.FieldType) -> S.RecordType:
        return S.RecordType(self._s(meta), fields)

    def tuple_type(self, meta: Any, *types: S.TypeExpr) -> S.RecordType:
        return S.RecordType(self._s(meta), tuple(S.FieldType(t.span, str(i), t) for i, t in enumerate(types, 1)))

    def tuple_lit(self, meta: Any, first: S.Expr, rest: tuple[S.Expr, ...]) -> S.RecordLit:
        return S.RecordLit(self._s(meta), tuple(S.FieldInit(x.span, str(i), x) for i, x in enumerate((first, *rest), 1)))

    def field_type(self, meta: Any, name: Token, type_: S.TypeExpr) -> S.FieldType:
        return S.FieldType(self._t(name), str(name), type_)

    def map_type(self, meta: Any, key: S.TypeExpr, value: S.TypeExpr) -> S.MapType:
        return S.MapType(self._s(meta), key, value)

    def set_type(self, meta: Any, elem: S.TypeExpr) -> S.SetType:
        return S.SetType(self._s(meta), elem)

    def queue_type(self, meta: Any, elem: S.TypeExpr, cap: S.Expr) -> S.QueueType:
        return S.QueueType(self._s(meta), elem, cap)

    # -- statements
    def block(self, meta: Any, *stmts: S.Stmt | None) -> tuple[S.Stmt, ...]:
        return tuple(s for s in stmts if s is not None)

    def no_stmt(self, meta: Any) -> None:
        return None

    def no_decl(self, meta: Any) -> list[S.Decl]:
        return []

    def assign_stmt(self, meta: Any, target: S.Expr, value: S.Expr) -> S.Assign:
        return S.Assign(self._s(meta), target, value)

    def if_stmt(self, meta: Any, cond: S.Expr, then: tuple[S.Stmt, ...], orelse: Any) -> S.If:
        if orelse is None:
            orelse = ()
        elif isinstance(orelse, S.If):
            orelse = (orelse,)
        return S.If(self._s(meta), cond, then, orelse)

    def forall_stmt(self, meta: Any, var: Token, type_: S.TypeExpr, body: tuple[S.Stmt, ...]) -> S.ForallStmt:
        return S.ForallStmt(self._s(meta), str(var), type_, body)

    def call_stmt(self, meta: Any, name: Token, args: Any) -> S.CallStmt:
        return S.CallStmt(self._s(meta), str(name), tuple(args or ()))

    def skip_stmt(self, meta: Any) -> S.Skip:
        return S.Skip(self._s(meta))

    # -- expressions
    def quant_kind(self, meta: Any, tok: Token) -> str:
        return str(tok)

    def quant_expr(self, meta: Any, kind: str, binders: tuple[S.Binder, ...], body: S.Expr) -> S.Quant:
        return S.Quant(self._s(meta), kind, binders, body)

    def binders(self, meta: Any, *bs: S.Binder) -> tuple[S.Binder, ...]:
        return bs

    def binder(self, meta: Any, name: Token, type_: S.TypeExpr) -> S.Binder:
        return S.Binder(self._t(name), str(name), type_)

    def set_binder(self, meta: Any, name: Token, source: S.Expr) -> S.SetBinder:
        return S.SetBinder(self._t(name), str(name), source)

    def let_expr(self, meta: Any, name: Token, value: S.Expr, body: S.Expr) -> S.Let:
        return S.Let(self._s(meta), str(name), value, body)

    def ite_expr(self, meta: Any, cond: S.Expr, then: S.Expr, orelse: S.Expr) -> S.Ite:
        return S.Ite(self._s(meta), cond, then, orelse)

    def _bin(self, op: str, meta: Any, left: S.Expr, right: S.Expr) -> S.Binary:
        return S.Binary(self._s(meta), op, left, right)

    def iff(self, meta: Any, a: S.Expr, b: S.Expr) -> S.Binary:
        return self._bin("<->", meta, a, b)

    def implies(self, meta: Any, a: S.Expr, b: S.Expr) -> S.Binary:
        return self._bin("->", meta, a, b)

    def or_(self, meta: Any, a: S.Expr, b: S.Expr) -> S.Binary:
        return self._bin("||", meta, a, b)

    def and_(self, meta: Any, a: S.Expr, b: S.Expr) -> S.Binary:
        return self._bin("&&", meta, a, b)

    def not_(self, meta: Any, a: S.Expr) -> S.Unary:
        return S.Unary(self._s(meta), "!", a)

    def cmp_op(self, meta: Any, tok: Token) -> str:
        return str(tok)

    def compare(self, meta: Any, a: S.Expr, op: str, b: S.Expr) -> S.Binary:
        return self._bin(op, meta, a, b)

    def member(self, meta: Any, a: S.Expr, b: S.Expr) -> S.Binary:
        return self._bin("in", meta, a, b)

    def bitor(self, meta: Any, a: S.Expr, b: S.Expr) -> S.Binary:
        return self._bin("|", meta, a, b)

    def bitxor(self, meta: Any, a: S.Expr, b: S.Expr) -> S.Binary:
        return self._bin("^", meta, a, b)

    def bitand(self, meta: Any, a: S.Expr, b: S.Expr) -> S.Binary:
        return self._bin("&", meta, a, b)

    def shl(self, meta: Any, a: S.Expr, b: S.Expr) -> S.Binary:
        return self._bin("<<", meta, a, b)

    def shr(self, meta: Any, a: S.Expr, b: S.Expr) -> S.Binary:
        return self._bin(">>", meta, a, b)

    def add(self, meta: Any, a: S.Expr, b: S.Expr) -> S.Binary:
        return self._bin("+", meta, a, b)

    def sub(self, meta: Any, a: S.Expr, b: S.Expr) -> S.Binary:
        return self._bin("-", meta, a, b)

    def mul(self, meta: Any, a: S.Expr, b: S.Expr) -> S.Binary:
        return self._bin("*", meta, a, b)

    def div(self, meta: Any, a: S.Expr, b: S.Expr) -> S.Binary:
        return self._bin("/", meta, a, b)

    def mod(self, meta: Any, a: S.Expr, b: S.Expr) -> S.Binary:
        return self._bin("%", meta, a, b)

    def neg(self, meta: Any, a: S.Expr) -> S.Unary:
        return S.Unary(self._s(meta), "-", a)

    def bitnot(self, meta: Any, a: S.Expr) -> S.Unary:
        return S.Unary(self._s(meta), "~", a)

    def index(self, meta: Any, base: S.Expr, idx: S.Expr) -> S.Index:
        return S.Index(self._s(meta), base, idx)

    def field(self, meta: Any, base: S.Expr, name: Token) -> S.Field:
        return S.Field(self._s(meta), base, str(name))

    def int_lit(self, meta: Any, tok: Token) -> S.IntLit:
        return S.IntLit(self._t(tok), _int(tok))

    def true_lit(self, meta: Any) -> S.BoolLit:
        return S.BoolLit(self._s(meta), True)

    def false_lit(self, meta: Any) -> S.BoolLit:
        return S.BoolLit(self._s(meta), False)

    def name(self, meta: Any, tok: Token) -> S.Name:
        return S.Name(self._t(tok), str(tok))

    def call(self, meta: Any, name: Token, args: Any) -> S.Call:
        return S.Call(self._s(meta), str(name), tuple(args or ()))

    def primed(self, meta: Any, name: Token) -> S.Primed:
        return S.Primed(self._s(meta), str(name))

    def bv_cast(self, meta: Any, width: S.Expr, arg: S.Expr) -> S.BVCast:
        return S.BVCast(self._s(meta), width, arg)

    def empty_set(self, meta: Any) -> S.SetLit:
        return S.SetLit(self._s(meta), ())

    def empty_queue(self, meta: Any) -> S.EmptyQueue:
        return S.EmptyQueue(self._s(meta))

    def set_lit(self, meta: Any, elems: tuple[S.Expr, ...]) -> S.SetLit:
        return S.SetLit(self._s(meta), tuple(elems))

    def set_comp(self, meta: Any, elem: S.Expr, binder: S.Binder | S.SetBinder, cond: S.Expr | None) -> S.SetComp:
        return S.SetComp(self._s(meta), elem, binder, cond)

    def record_lit(self, meta: Any, *fields: S.FieldInit) -> S.RecordLit:
        return S.RecordLit(self._s(meta), fields)

    def field_init(self, meta: Any, name: Token, value: S.Expr) -> S.FieldInit:
        return S.FieldInit(self._t(name), str(name), value)

    def map_table(self, meta: Any, *entries: tuple[S.Expr, S.Expr]) -> S.MapTable:
        return S.MapTable(self._s(meta), entries)

    def table_entry(self, meta: Any, key: S.Expr, value: S.Expr) -> tuple[S.Expr, S.Expr]:
        return (key, value)

    def map_lit(self, meta: Any, var: Token, key: S.TypeExpr, body: S.Expr) -> S.MapLit:
        return S.MapLit(self._s(meta), str(var), key, body)

    def args(self, meta: Any, *exprs: S.Expr) -> tuple[S.Expr, ...]:
        return exprs

    # -- proof scripts
    def proof_file(self, meta: Any, name: Token, *decls: Any) -> S.ProofFile:
        uses = tuple(d for d in decls if isinstance(d, S.UseDecl))
        thms = tuple(d for d in decls if isinstance(d, S.Theorem))
        return S.ProofFile(self._t(name), str(name), uses, thms)

    def use_decl(self, meta: Any, path: Token, alias: Token, *binds: Any) -> S.UseDecl:
        return S.UseDecl(self._t(alias), str(path)[1:-1], str(alias), tuple(b for b in binds if b is not None))

    def const_bind(self, meta: Any, name: Token, value: int | bool) -> tuple[str, int | bool]:
        return (str(name), value)

    def const_value(self, meta: Any, *toks: Token) -> int | bool:
        text = "".join(str(t) for t in toks)
        return {"true": True, "false": False}[text] if text in ("true", "false") else int(text, 0)

    def method_name(self, meta: Any, tok: Token) -> str:
        return str(tok)

    def verdict_name(self, meta: Any, tok: Token) -> str:
        return str(tok)

    def by_method(self, meta: Any, method: str, depth: Any, using: Any) -> tuple[Any, ...]:
        return ("by", method, _int(depth) if depth is not None else None, tuple(str(u) for u in using or ()))

    def under_faults(self, meta: Any, *items: tuple[str | None, int | None]) -> tuple[Any, ...]:
        return ("faults", budget_spec(items, self._s(meta)))

    def shared_budget(self, meta: Any, n: Token) -> tuple[str | None, int | None]:
        return (None, _int(n))

    def own_budget(self, meta: Any, name: Token, n: Token) -> tuple[str | None, int | None]:
        return (str(name), None if n.type == "UNBOUNDED" else _int(n))

    def expect_verdict(self, meta: Any, v: str) -> tuple[Any, ...]:
        return ("expect", v)

    def theorem_decl(self, meta: Any, name: Token, model: Token, prop: Token, *clauses: Any) -> S.Theorem:
        method, depth, using, faults, expect = "auto", None, (), None, None
        span = self._t(name)
        seen: set[str] = set()
        for clause in clauses:
            if clause[0] in seen:
                raise SpecError(span, f"theorem {name} has more than one `{clause[0]}` clause")
            seen.add(clause[0])
            if clause[0] == "by":
                _, method, depth, using = clause
            elif clause[0] == "faults":
                faults = clause[1]
            else:
                expect = clause[1]
        return S.Theorem(span, str(name), str(model), str(prop), method, depth, using, faults, expect)


def budget_spec(items: Any, span: Span) -> S.BudgetSpec:
    """Budget items (None, n) for the shared budget and (fault, n or None) for a fault's own."""
    shared: int | None = None
    own: dict[str, int | None] = {}
    for name, n in items:
        if name is None:
            if shared is not None:
                raise SpecError(span, "the shared fault budget is given twice")
            shared = n
        elif name in own:
            raise SpecError(span, f"the budget of fault {name} is given twice")
        else:
            own[name] = n
    return S.BudgetSpec(shared, tuple(own.items()))


def parse_budget(text: str) -> S.BudgetSpec:
    """`--faults` as written on the command line: `2`, `crash=1,lose=3` or `2,lose=unbounded`."""
    items: list[tuple[str | None, int | None]] = []
    span = Span("--faults", 1, 1, 1, len(text) + 1)
    for part in text.split(","):
        name, eq, value = (x.strip() for x in part.partition("="))
        try:
            if not eq:
                items.append((None, int(name, 0)))
            elif not name.isidentifier():
                raise ValueError
            else:
                items.append((name, None if value == "unbounded" else int(value, 0)))
        except ValueError:
            raise SpecError(span, f"--faults {text}: expected N, FAULT=N or FAULT=unbounded, separated by commas",
                            hint="for example --faults 1, --faults crash=1,lose=3 or --faults 2,lose=unbounded") \
                from None
    return budget_spec(items, span)


def _expected_list(parser: lark.Lark, expected: set[str]) -> str:
    names = []
    for term in sorted(expected):
        if term in _TERMINAL_NAMES:
            names.append(_TERMINAL_NAMES[term])
            continue
        try:
            pattern = parser.get_terminal(term).pattern
        except KeyError:
            names.append(term)
            continue
        if isinstance(pattern, lark.lexer.PatternStr):
            names.append(f"`{pattern.value}`")
        else:
            names.append(term.lower())
    names = sorted(set(names))
    if len(names) > 12:
        names = [*names[:12], "..."]
    return ", ".join(names)


def _deepest_point(text: str) -> tuple[int, int]:
    """Line and column of the most deeply nested bracket: where 'too deep' is reported."""
    depth = best = 0
    where = (1, 1)
    line, col = 1, 0
    for ch in text:
        col += 1
        if ch == "\n":
            line, col = line + 1, 0
        elif ch in "([{":
            depth += 1
            if depth > best:
                best, where = depth, (line, col)
        elif ch in ")]}":
            depth -= 1
    return where


_COMPARISONS = {"==", "!=", "<=", ">=", "<", ">"}


def parse_text(text: str, file: str = "<input>") -> S.SpecFile | S.ProofFile:
    """Parse the text of a spec or proof script; raises SpecError on bad input."""
    return _parse(text, file, "start")  # type: ignore[return-value]


def parse_expr(text: str, file: str = "<expression>") -> S.Expr:
    """Parse one expression (a helper invariant, a refinement map, ...)."""
    return _parse(text, file, "expr")  # type: ignore[return-value]


_PARSED: dict[tuple[str, str, str], Any] = {}  # the syntax tree is immutable: one parse per text


def _parse(text: str, file: str, start: str) -> Any:
    SourceCache.put(file, text)
    key = (text, file, start)
    if key not in _PARSED:
        _PARSED[key] = _parse_fresh(text, file, start)
    return _PARSED[key]


def _parse_fresh(text: str, file: str, start: str) -> Any:
    parser = _lark()
    try:
        tree = parser.parse(text, start=start)
    except lark.exceptions.UnexpectedCharacters as e:
        span = Span(file, e.line, e.column, e.line, e.column + 1)
        ch = text[e.pos_in_stream] if 0 <= e.pos_in_stream < len(text) else "?"
        raise SpecError(span, f"unexpected character {ch!r}",
                        hint=f"expected one of: {_expected_list(parser, set(e.allowed or ()))}") from None
    except lark.exceptions.UnexpectedToken as e:
        tok = e.token
        if tok.type == "$END":
            lines = text.splitlines() or [""]
            span = Span(file, max(1, len(lines)), len(lines[-1]) + 1, max(1, len(lines)), len(lines[-1]) + 2)
            what = "end of file"
        else:
            span = _span_of_token(file, tok)
            what = f"`{tok}`"
        hint = f"expected one of: {_expected_list(parser, set(e.expected))}"
        if str(tok) in _COMPARISONS and {"RPAR", "THEN", "ELSE"} <= set(e.expected):
            # an expression has just ended, so this is `a < b <= c`
            hint = "comparisons do not chain: parenthesise one side, as in `(a < b) == c`, or write `a < b && b <= c`"
        raise SpecError(span, f"unexpected {what}", hint=hint) from None
    except lark.exceptions.UnexpectedEOF as e:
        lines = text.splitlines() or [""]
        span = Span(file, max(1, len(lines)), len(lines[-1]) + 1, max(1, len(lines)), len(lines[-1]) + 2)
        raise SpecError(span, "unexpected end of file",
                        hint=f"expected one of: {_expected_list(parser, set(e.expected))}") from None
    except RecursionError:
        line, col = _deepest_point(text)
        raise SpecError(Span(file, line, col, line, col + 1), "expression nested too deeply") from None
    try:
        return AstBuilder(file).transform(tree)  # type: ignore[no-any-return]
    except lark.exceptions.VisitError as e:
        if isinstance(e.orig_exc, SpecError):
            raise e.orig_exc from None
        if isinstance(e.orig_exc, RecursionError):
            line, col = _deepest_point(text)
            raise SpecError(Span(file, line, col, line, col + 1), "expression nested too deeply") from None
        raise
    except RecursionError:
        line, col = _deepest_point(text)
        raise SpecError(Span(file, line, col, line, col + 1), "expression nested too deeply") from None


def parse_file(path: str) -> S.SpecFile | S.ProofFile:
    """Read and parse a file; an unreadable file is a SpecError located at the path."""
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError as e:
        raise SpecError(Span(path, 1, 1, 1, 1), f"cannot read file: {e.strerror or e}") from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        line = data.count(b"\n", 0, e.start) + 1
        col = len(data[data.rfind(b"\n", 0, e.start) + 1:e.start].decode("utf-8", errors="replace")) + 1
        SourceCache.put(path, data.decode("utf-8", errors="replace"))
        raise SpecError(Span(path, line, col, line, col + 1),
                        f"the file is not UTF-8 text: byte 0x{data[e.start]:02x} cannot start or continue a character",
                        hint="save the file as UTF-8") from None
    return parse_text(text, path)


def too_deep(file: str) -> SpecError:
    """An expression of `file` is nested too deeply to process: located at its deepest bracket."""
    line, col = _deepest_point(SourceCache.text(file) or "")
    return SpecError(Span(file, line, col, line, col + 1), "expression nested too deeply",
                     hint="split it with `def`s or `let`s")


# Deeply nested input recurses in lark's transformer; allow a sensible depth.
if sys.getrecursionlimit() < 4000:
    sys.setrecursionlimit(4000)
