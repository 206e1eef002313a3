"""Hypothesis strategies for random, well-typed specs (shared with bench/differential.py).

The specs are small (a few variables of every kind the language has, a few
actions with guards, faults, invariants, a reachable), so that the explicit
engine explores them in milliseconds, yet they exercise what engines get wrong:
integer intervals and range errors, map indices out of their domain, bit-vector
wrap-around, sets, queues that overflow, fault budgets, short-circuit evaluation;
and what an encoding's choice of integer widths gets wrong: shifts and products
by large constants, literals wider than every variable, negative ranges, more
than 64 action instances or actions, more than 48 bits of state, several
parameters of several types; and faults with budgets of their own. Some carry
rates (`rate r0 = 2.5`, `action a0 rate r0 * 3 ...`), which every engine but the
Markov chain of `dependability` ignores; `specs(rated=True)` gives one to most
actions and faults, for the chain's own differential test. Actions may be `fair` or
`strong fair`, and `leadsto`/`eventually` properties use that fairness. Some have a step
property (`always step`, over `x'` and `taken(...)`) and `enabled(...)` in an invariant.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from hypothesis import strategies as st

ENUM = ("A", "B", "C")
# F shares B and C with E: a bare `B` takes its enum from the other operand, `F.B` says it.
ENUM2 = ("B", "C", "D")


@dataclass(frozen=True)
class VarKind:
    name: str
    type: str
    kind: str  # "bool", "int", "bv", "enum", "enum2", "map", "map2" (of maps), "set", "rset" (of records), "rec",
    #            "tup", "queue"
    lo: int = 0
    hi: int = 0


@st.composite
def variables(draw: st.DrawFn) -> list[VarKind]:
    kinds = draw(st.lists(st.sampled_from(["bool", "int", "int", "bv", "enum", "enum2", "map", "map2", "set", "rset",
                                           "rec", "tup", "queue"]),
                          min_size=2, max_size=4))
    out = []
    for i, k in enumerate(kinds):
        name = f"v{i}"
        if k == "int":
            # mostly small ranges near 0; sometimes far from it, negative or wide
            lo = draw(st.sampled_from([-2, -1, 0, 1, -20, -300, 1000]))
            hi = lo + draw(st.sampled_from([1, 2, 3, 3, 5]))
            out.append(VarKind(name, f"{lo}..{hi}", k, lo, hi))
        elif k == "bool":
            out.append(VarKind(name, "bool", k))
        elif k == "bv":
            out.append(VarKind(name, "bv[2]", k))
        elif k == "enum":
            out.append(VarKind(name, "E", k))
        elif k == "enum2":  # an enum that shares members with E
            out.append(VarKind(name, "F", k))
        elif k == "map":
            out.append(VarKind(name, "[0..1] 0..2", k, 0, 2))
        elif k == "map2":  # a map of maps (rows 0..1, columns 0..2), like the kernel's ghost ancestry
            out.append(VarKind(name, "[0..1] [0..2] bool", k))
        elif k == "set":
            out.append(VarKind(name, "set[0..2]", k))
        elif k == "rset":
            out.append(VarKind(name, f"set[{REC}]", k))
        elif k == "rec":  # a record variable (packed), met by the sets' records (keys)
            out.append(VarKind(name, REC, k))
        elif k == "tup":
            out.append(VarKind(name, "tuple[0..2, bool]", k))
        else:
            out.append(VarKind(name, "queue[0..1, 2]", k))
    return out


# A record type for sets of records (its values are indices to the engines: see types.KeyT).
REC = "{k: E, n: 0..1, b: bool}"


# Action parameters: name, type, values (three of them give 96 instances).
PARAMS = (("p", "0..1", ["0", "1"]), ("q", "-2..1", ["-2", "0"]), ("r", "0..11", ["3", "11"]))
# Constants that no variable's range covers: shifts, products and divisions by them
# are where a bit-vector encoding's widths can wrap.
BIG = ("1000", "-700", "4096", "65537")


class Gen:
    """Expressions of each type over the given variables (and parameters in actions)."""

    def __init__(self, vs: list[VarKind], params: int) -> None:
        self.vs = vs
        self.params = PARAMS[:params]
        self.param = params > 0

    def of(self, kind: str) -> list[VarKind]:
        return [v for v in self.vs if v.kind == kind]

    def int_expr(self, draw: st.DrawFn, depth: int = 0) -> str:
        leaves = [str(draw(st.integers(-2, 3)))]
        leaves += [v.name for v in self.of("int")]
        leaves += [f"{v.name}[{draw(st.sampled_from(['0', '1', 'p'] if self.param else ['0', '1']))}]"
                   for v in self.of("map")]
        leaves += [name for name, _, _ in self.params]
        leaves += [f"len({v.name})" for v in self.of("queue")] + [f"size({v.name})" for v in self.of("set")]
        leaves += [f"int({v.name})" for v in self.of("bv")]
        leaves += [f"tbl[{v.name} % 3]" for v in self.of("int")]  # a constant table
        if depth >= 2 or draw(st.booleans()):
            return draw(st.sampled_from(leaves))
        if draw(st.integers(0, 4)) == 0:
            return self.wide_int(draw, depth)
        choice = draw(st.integers(0, 8))
        a = self.int_expr(draw, depth + 1)
        b = self.int_expr(draw, depth + 1)
        if choice == 0:
            return f"({a} + {b})"
        if choice == 1:
            return f"({a} - {b})"
        if choice == 2:
            return f"({a} * 2)"
        if choice == 3:
            return f"({a} / 2)"
        if choice == 4:
            return f"({a} % 3)"
        if choice == 5:
            return f"(if {self.bool_expr(draw, depth + 1)} then {a} else {b})"
        if choice == 6 and self.of("map"):
            # an index that may leave the map's keys: a run-time check
            return f"{draw(st.sampled_from(self.of('map'))).name}[{a}]"
        if choice == 7:
            return f"min({a}, {b})"
        return f"(count i: 0..1. {self.bool_expr(draw, depth + 1).replace('p', 'i') if not self.param else 'i <= ' + a})"

    def row(self, draw: st.DrawFn) -> str:
        """A row index of a map of maps: a constant, or the action's parameter."""
        return draw(st.sampled_from(["0", "1", "p"] if self.param else ["0", "1"]))

    def wide_int(self, draw: st.DrawFn, depth: int) -> str:
        """An integer expression whose intermediate values leave every variable's range."""
        a = self.int_expr(draw, depth + 1)
        choice = draw(st.integers(0, 6))
        if choice == 0:
            return f"({a} >> {draw(st.sampled_from([1, 3, 8, 20, 40]))})"
        if choice == 1:
            return f"({a} << {draw(st.sampled_from([1, 5, 12, 33]))})"
        if choice == 2:
            return f"({a} * {draw(st.sampled_from(BIG))})"
        if choice == 3:
            return f"({a} / {draw(st.sampled_from(['300', '4096', '65537']))})"
        if choice == 4:
            return f"({a} % {draw(st.sampled_from(['257', '4096']))})"
        if choice == 5:
            return f"(({a} + {draw(st.sampled_from(BIG))}) - {draw(st.sampled_from(BIG))})"
        return f"abs({a} - {draw(st.sampled_from(BIG))})"

    def bv_expr(self, draw: st.DrawFn, depth: int = 0) -> str:
        leaves = [str(draw(st.integers(0, 3)))] + [v.name for v in self.of("bv")]
        if depth >= 2 or draw(st.booleans()) or not self.of("bv"):
            return draw(st.sampled_from(leaves))
        a, b = self.bv_expr(draw, depth + 1), self.bv_expr(draw, depth + 1)
        op = draw(st.sampled_from(["+", "-", "^", "&", "|", "*"]))
        if draw(st.booleans()):
            choice = draw(st.integers(0, 3))
            if choice == 0:
                return f"(~{a})"
            if choice == 1:  # shifts by as much as the width or more
                return f"({a} {draw(st.sampled_from(['<<', '>>']))} {draw(st.sampled_from([1, 2, 3]))})"
            if choice == 2:  # an integer far outside the width, taken modulo 2^2
                return f"bv[2]({self.int_expr(draw, depth + 1)} * {draw(st.sampled_from(BIG))})"
            return f"({a} << 1)"
        return f"({a} {op} {b})"

    def bool_expr(self, draw: st.DrawFn, depth: int = 0) -> str:
        options = ["true", "false"] + [v.name for v in self.of("bool")]
        options += [f"{v.name}[{self.row(draw)}][{draw(st.integers(0, 2))}]" for v in self.of("map2")]
        if depth >= 2:
            return draw(st.sampled_from(options))
        choice = draw(st.integers(0, 9))
        if choice == 0:
            return draw(st.sampled_from(options))
        if choice in (1, 2):
            op = draw(st.sampled_from(["==", "!=", "<", "<=", ">", ">="]))
            return f"({self.int_expr(draw, depth + 1)} {op} {self.int_expr(draw, depth + 1)})"
        if choice == 3 and self.of("enum"):
            return f"({draw(st.sampled_from(self.of('enum'))).name} == {self.member(draw, 'E', ENUM)})"
        if choice == 3 and self.of("enum2"):
            v, m = draw(st.sampled_from(self.of("enum2"))).name, self.member(draw, "F", ENUM2)
            return f"({v} != {m})" if draw(st.booleans()) else f"({m} == {v})"
        if choice == 4 and self.of("bv"):
            op = draw(st.sampled_from(["==", "!=", "<", ">="]))
            return f"({self.bv_expr(draw, depth + 1)} {op} {self.bv_expr(draw, depth + 1)})"
        if choice == 5 and self.of("set"):
            v = draw(st.sampled_from(self.of("set"))).name
            form = draw(st.integers(0, 4))
            if form == 1:  # a quantifier over the members of a set
                q = draw(st.sampled_from(["forall", "exists"]))
                src = draw(st.sampled_from([_source(v), f"({v} - {{{draw(st.integers(0, 2))}}})"]))
                return f"({q} x in {src}. {self.elem_cond(draw, depth)})"
            if form == 2:
                return f"((count x in {_source(v)}. {self.elem_cond(draw, depth)}) <= {draw(st.integers(0, 2))})"
            if form == 3:
                return f"(size({self.comprehension(draw, v, depth)}) >= {draw(st.integers(1, 2))})"
            return f"({draw(st.integers(0, 2))} in {v})"
        if choice == 6:
            op = draw(st.sampled_from(["&&", "||", "->"]))
            return f"({self.bool_expr(draw, depth + 1)} {op} {self.bool_expr(draw, depth + 1)})"
        if choice == 7:
            return f"!({self.bool_expr(draw, depth + 1)})"
        if choice == 8 and self.of("map"):
            m = draw(st.sampled_from(self.of("map"))).name
            q = draw(st.sampled_from(["forall", "exists"]))
            return f"({q} i: 0..1. {m}[i] <= {draw(st.integers(0, 2))})"
        if choice == 8 and self.of("map2"):
            m = draw(st.sampled_from(self.of("map2"))).name
            form = draw(st.integers(0, 2))
            if form == 0:  # rows compared whole
                return f"({m}[0] {draw(st.sampled_from(['==', '!=']))} {m}[1])"
            if form == 1:  # a closure-like condition over every place
                return f"(forall i: 0..1, j: 0..2. {m}[i][j] -> {m}[1 - i][j] || j == {draw(st.integers(0, 2))})"
            return f"(exists j: 0..2. {m}[{self.row(draw)}][j])"
        if choice == 9 and self.of("rset") and draw(st.booleans()):
            v = draw(st.sampled_from(self.of("rset"))).name
            form = draw(st.integers(0, 3))
            if form == 0:
                rec = self.record(draw) if not self.of("rec") or draw(st.booleans()) \
                    else draw(st.sampled_from(self.of("rec"))).name
                return f"({rec} in {v})"
            if form == 1:
                q = draw(st.sampled_from(["forall", "exists"]))
                return f"({q} m in {_source(v)}. {self.record_cond(draw, 'm', depth)})"
            if form == 2:  # a bound of a record type
                return f"(exists m: {REC}. m in {v} && {self.record_cond(draw, 'm', depth)})"
            return f"(size({v}) <= {draw(st.integers(0, 3))})"
        if choice == 9 and self.of("tup") and draw(st.booleans()):
            v = draw(st.sampled_from(self.of("tup"))).name
            return draw(st.sampled_from([f"{v}[2]", f"({v}[1] <= {self.int_expr(draw, depth + 1)})",
                                         f"({v} == ({draw(st.integers(0, 2))}, {draw(st.sampled_from(['true', 'false']))}))",
                                         f"(({v}[1], !{v}[2]) != {v})"]))
        if choice == 9 and self.of("queue"):
            q = draw(st.sampled_from(self.of("queue"))).name
            return f"(len({q}) > 0 && head({q}) == {draw(st.integers(0, 1))})"
        return draw(st.sampled_from(options))

    def member(self, draw: st.DrawFn, enum: str, members: tuple[str, ...]) -> str:
        """A member, sometimes qualified (`F.B`)."""
        m = draw(st.sampled_from(members))
        return f"{enum}.{m}" if draw(st.integers(0, 2)) == 0 else m

    def elem_cond(self, draw: st.DrawFn, depth: int) -> str:
        """A condition on a set element `x` (0..2)."""
        op = draw(st.sampled_from(["<=", "!=", "=="]))
        return f"x {op} {self.int_expr(draw, depth + 1)}"

    def comprehension(self, draw: st.DrawFn, set_var: str, depth: int) -> str:
        """A set of 0..2 built by a comprehension: filter a type or a set, or map a set."""
        cond = f" if {self.elem_cond(draw, depth)}" if draw(st.booleans()) else ""
        form = draw(st.integers(0, 2))
        if form == 0:
            return f"{{x for x: 0..2{cond}}}"
        if form == 1:
            return f"{{x for x in {set_var}{cond}}}"
        return f"{{(x + {draw(st.integers(1, 2))}) % 3 for x in {set_var}{cond}}}"

    def record(self, draw: st.DrawFn) -> str:
        """A record literal of REC, its fields constants or expressions."""
        n = draw(st.sampled_from(["0", "1", f"({self.int_expr(draw, 2)} % 2)"]))
        b = draw(st.sampled_from(["true", "false", self.bool_expr(draw, 2)]))
        return f"{{k: {self.member(draw, 'E', ENUM)}, n: {n}, b: {b}}}"

    def record_cond(self, draw: st.DrawFn, m: str, depth: int) -> str:
        form = draw(st.integers(0, 3))
        if form == 0:
            return f"{m}.k == {self.member(draw, 'E', ENUM)}"
        if form == 1:
            return f"{m}.n <= {self.int_expr(draw, depth + 1)}"
        if form == 2:
            return f"({m}.b -> {m}.n == 1)"
        if self.of("rec") and draw(st.booleans()):
            return f"{m} == {draw(st.sampled_from(self.of('rec'))).name}"
        return f"{m} != {self.record(draw)}"

    def assignment(self, draw: st.DrawFn) -> str:
        v = draw(st.sampled_from(self.vs))
        if v.kind == "int":
            return f"{v.name} := {self.int_expr(draw)}"
        if v.kind == "bool":
            return f"{v.name} := {self.bool_expr(draw)}"
        if v.kind == "bv":
            return f"{v.name} := {self.bv_expr(draw)}"
        if v.kind == "enum":
            return f"{v.name} := {self.member(draw, 'E', ENUM)}"
        if v.kind == "enum2":
            return f"{v.name} := {self.member(draw, 'F', ENUM2)}"
        if v.kind == "map":
            idx = draw(st.sampled_from(["0", "1", "p"] if self.param else ["0", "1"]))
            return f"{v.name}[{idx}] := {self.int_expr(draw)}"
        if v.kind == "map2":
            form, i = draw(st.integers(0, 3)), self.row(draw)
            if form == 0:  # one place
                return f"{v.name}[{i}][{draw(st.integers(0, 2))}] := {self.bool_expr(draw, 1)}"
            if form == 1:  # a row from another one, as the kernel's insert does
                return f"{v.name}[{i}] := [x: 0..2 |-> x == {draw(st.integers(0, 2))} || {v.name}[1 - {i}][x]]"
            if form == 2:  # a row copied
                return f"{v.name}[{i}] := {v.name}[{self.row(draw)}]"
            # a column moved, as the kernel's move does
            a, b = draw(st.integers(0, 2)), draw(st.integers(0, 2))
            return f"forall x: 0..1 {{ {v.name}[x][{a}] := {v.name}[x][{b}]; {v.name}[x][{b}] := false }}"
        if v.kind == "set":
            if draw(st.integers(0, 2)) == 0:
                return f"{v.name} := {self.comprehension(draw, v.name, 0)}"
            op = draw(st.sampled_from(["|", "-"]))
            return f"{v.name} := {v.name} {op} {{{draw(st.integers(0, 2))}}}"
        if v.kind == "tup":
            form = draw(st.integers(0, 2))
            if form == 0:
                return f"{v.name} := (({self.int_expr(draw, 1)}) % 3, {self.bool_expr(draw, 1)})"
            if form == 1:
                return f"{v.name}[2] := !{v.name}[2]"
            return f"{v.name}[1] := {self.int_expr(draw, 1)}"  # may leave 0..2: type_ok
        if v.kind == "rec":
            if draw(st.booleans()):
                return f"{v.name} := {self.record(draw)}"
            if self.of("rset") and draw(st.booleans()):  # a set's element, chosen
                s = draw(st.sampled_from(self.of("rset"))).name
                return f"if exists m in {s}. m.b {{ {v.name}.n := {v.name}.n }} else {{ {v.name}.b := !{v.name}.b }}"
            return f"{v.name}.n := {self.int_expr(draw, 1)} % 2"
        if v.kind == "rset":
            form = draw(st.integers(0, 3))
            if form == 0:
                rec = self.record(draw) if not self.of("rec") or draw(st.booleans()) \
                    else draw(st.sampled_from(self.of("rec"))).name
                return f"{v.name} := {v.name} | {{{rec}}}"
            if form == 1:
                return f"{v.name} := {v.name} - {{{self.record(draw)}}}"
            if form == 2:
                return f"{v.name} := {{m for m in {v.name} if {self.record_cond(draw, 'm', 0)}}}"
            return f"{v.name} := {{{{k: m.k, n: 1 - m.n, b: !m.b}} for m in {v.name}}}"
        if draw(st.booleans()):
            return f"{v.name} := push({v.name}, {draw(st.integers(0, 1))})"
        return f"{v.name} := pop({v.name})"


def _args(draw: st.DrawFn, params: tuple[int, bool]) -> str:
    """Arguments of `taken(...)`/`enabled(...)` for an action with that many of PARAMS, and a set last or not."""
    count, with_set = params
    args = [draw(st.sampled_from([*vals, "_"])) for _, _, vals in PARAMS[:count]]
    if with_set:
        args.append(draw(st.sampled_from(["{}", "{1}", "_"])))
    return ", ".join(args)


def _source(v: str) -> str:
    """A set to quantify over: a name, or parenthesised (`(v0')` after a step)."""
    return f"({v})" if v.endswith("'") else v


def _init_value(draw: st.DrawFn, v: VarKind) -> str | None:
    if draw(st.integers(0, 3)) == 0 and v.kind != "rset":
        return None  # left free: every value is initial (4,096 of them for a set of records: not that)
    if v.kind == "int":
        return f"{v.name} == {draw(st.integers(v.lo, v.hi))}"
    if v.kind == "bool":
        return f"{v.name} == {draw(st.sampled_from(['true', 'false']))}"
    if v.kind == "bv":
        return f"{v.name} == {draw(st.integers(0, 3))}"
    if v.kind == "enum":
        return f"{v.name} == {draw(st.sampled_from(ENUM))}"
    if v.kind == "enum2":
        return f"{v.name} == F.{draw(st.sampled_from(ENUM2))}"
    if v.kind == "map":
        return f"{v.name}[0] == {draw(st.integers(0, 2))} && {v.name}[1] == 0"
    if v.kind == "map2":
        return f"(forall i: 0..1, j: 0..2. {v.name}[i][j] == (i == 1 && j == {draw(st.integers(0, 2))}))"
    if v.kind == "set":
        return f"{v.name} == {{}}"
    if v.kind == "rec":
        return f"{v.name} == {{k: A, n: 0, b: true}}"
    if v.kind == "tup":
        return f"{v.name} == (0, false)"
    if v.kind == "rset":
        return f"{v.name} == {{}}" if draw(st.booleans()) else f"{v.name} == {{{{k: B, n: 1, b: false}}}}"
    return f"len({v.name}) == 0"


RATES = ("0.5", "2", "1e-2", "3.25")


def _rate(draw: st.DrawFn, rated: bool) -> str:
    """A rate clause (or none: an immediate action), over the named rates r0 and r1."""
    if not draw(st.integers(0, 4 if rated else 1)):
        return ""
    factors = draw(st.lists(st.sampled_from(["r0", "r1", "2", "0.5", "K"]), min_size=1, max_size=2))
    return " rate " + " * ".join(factors)


@st.composite
def specs(draw: st.DrawFn, rated: bool | None = None) -> str:
    vs = draw(variables())
    lines = ["spec Generated", f"enum E {{ {', '.join(ENUM)} }}", f"enum F {{ {', '.join(ENUM2)} }}",
             f"def tbl: [0..2] -1..2 = [0 |-> {draw(st.integers(-1, 2))}, 1 |-> 2, 2 |-> {draw(st.integers(-1, 2))}]"]
    if rated is None:
        rated = draw(st.integers(0, 3)) == 0 or None
    if rated is not None:
        lines += [f"rate r0 = {draw(st.sampled_from(RATES))}", f"rate r1 = {draw(st.sampled_from(RATES))}",
                  f"const K = {draw(st.integers(1, 3))}"]
    lines += [f"var {v.name}: {v.type}" for v in vs]
    inits = [x for x in (_init_value(draw, v) for v in vs) if x is not None]
    if draw(st.integers(0, 5)) == 0:
        # 64 bits of state that never change: more than any small-model shortcut allows
        lines.append("var pad: [0..15] bv[4]")
        inits.append("(forall i: 0..15. pad[i] == 0)")
    if inits:
        lines.append("init { " + " && ".join(inits) + " }")
    if draw(st.integers(0, 7)) == 0:
        # 64 actions before the real ones: the action selector needs 7 bits or more
        g = Gen(vs, 0)
        lines += [f"action idle{i} when {g.bool_expr(draw, 2)} {{ skip }}" for i in range(64)]
    arities = []
    for i in range(draw(st.integers(1, 3))):
        nparams = draw(st.sampled_from([0, 0, 1, 1, 2, 3]))
        arities.append((nparams, False))
        g = Gen(vs, nparams)
        guard = g.bool_expr(draw)
        body = "; ".join(g.assignment(draw) for _ in range(draw(st.integers(1, 2))))
        params = ", ".join(f"{n}: {t}" for n, t, _ in g.params)
        if g.of("set") and draw(st.integers(0, 3)) == 0:  # a set-valued parameter: one instance per subset
            target = draw(st.sampled_from(g.of("set"))).name
            params += f"{', ' if params else ''}ss: set[0..2]"
            guard = f"(size(ss) <= {draw(st.integers(1, 2))} && !({draw(st.integers(0, 2))} in ss)) && ({guard})"
            body += f"; {target} := {target} {draw(st.sampled_from(['|', '-', '&']))} ss"
            arities[-1] = (nparams, True)
        rate = _rate(draw, rated) if rated is not None else ""
        fair = draw(st.sampled_from(["", "", "fair ", "strong fair "]))
        lines.append(f"{fair}action a{i}{f'({params})' if params else ''}{rate} when {guard} {{ {body} }}")
    for i in range(draw(st.integers(0, 2))):
        g = Gen(vs, False)
        # a fault draws on the shared budget, or has a budget of its own (a count, or none at all)
        budget = draw(st.sampled_from(["", "", "", " budget 1", " budget 2", " budget unbounded"]))
        rate = _rate(draw, rated) if rated is not None else ""
        lines.append(f"fault f{i}{budget}{rate} when {g.bool_expr(draw)} {{ {g.assignment(draw)} }}")
    g = Gen(vs, False)
    for i in range(draw(st.integers(1, 2))):
        lines.append(f"invariant inv{i}: {g.bool_expr(draw)}")
    if draw(st.booleans()):
        lines.append(f"reachable goal: {g.bool_expr(draw)}")
    if draw(st.integers(0, 2)) == 0:  # a property of steps: over the variables before and after
        primed = Gen(vs + [replace(v, name=v.name + "'") for v in vs], False)
        i = draw(st.integers(0, len(arities) - 1))
        args = _args(draw, arities[i])
        taken = draw(st.sampled_from([f"taken(a{i})", f"!taken(a{i}({args}))" if args else f"!taken(a{i})"]))
        lines.append(f"always step step: {primed.bool_expr(draw)} || {taken}")
    if draw(st.integers(0, 3)) == 0:  # enabled(...) in a state property
        i = draw(st.integers(0, len(arities) - 1))
        args = _args(draw, arities[i])
        lines.append(f"invariant en: enabled(a{i}{f'({args})' if args and draw(st.booleans()) else ''}) "
                     f"|| {g.bool_expr(draw)}")
    # what fault campaigns read: a recovery obligation, a detection, a notion of being up
    if draw(st.integers(0, 2)) == 0:
        lines.append(f"recovers rec: from {g.bool_expr(draw)} to {g.bool_expr(draw)}")
    if draw(st.integers(0, 2)) == 0:  # liveness under the actions' fairness
        lines.append(f"leadsto live: {g.bool_expr(draw)} ~> {g.bool_expr(draw)}")
    if draw(st.integers(0, 4)) == 0:
        lines.append(f"eventually ev: {g.bool_expr(draw)}")
    if draw(st.integers(0, 2)) == 0:
        lines.append(f"def detected: bool = {g.bool_expr(draw)}")
    if rated or draw(st.integers(0, 3)) == 0:
        lines.append(f"def up: bool = {g.bool_expr(draw)}")
    return "\n".join(lines) + "\n"


@st.composite
def chain_specs(draw: st.DrawFn) -> str:
    """Small specs with rates whose chains are rich: most actions move, some are immediate
    (vanishing states, random choices between them), several bottom components, up and down
    states (for the Markov chain's differential test)."""
    lines = ["spec Chain", "enum E { A, B, C }", f"rate r0 = {draw(st.sampled_from(RATES))}",
             f"rate r1 = {draw(st.sampled_from(RATES))}", "var x: 0..3", "var y: E",
             f"init {{ x == {draw(st.integers(0, 3))} && y == {draw(st.sampled_from(ENUM))} }}"]

    def guard() -> str:
        parts = [f"x {draw(st.sampled_from(['==', '!=', '<', '>']))} {draw(st.integers(0, 3))}",
                 f"y {draw(st.sampled_from(['==', '!=']))} {draw(st.sampled_from(ENUM))}", "true"]
        return draw(st.sampled_from(parts)) + (f" && {draw(st.sampled_from(parts))}" if draw(st.booleans()) else "")

    def body(param: bool) -> str:
        x = draw(st.sampled_from(["(x + 1) % 4", "(x + 3) % 4", "0", "3", "p" if param else "2"]))
        y = draw(st.sampled_from([*ENUM, "if x > 1 then A else B"]))
        return draw(st.sampled_from([f"x := {x}", f"y := {y}", f"x := {x}; y := {y}"]))

    for i in range(draw(st.integers(2, 5))):
        kind = draw(st.sampled_from(["action", "action", "fault"]))
        param = draw(st.integers(0, 3)) == 0
        rate = "" if draw(st.integers(0, 3)) == 0 else " rate " + draw(st.sampled_from(["r0", "r1", "2 * r0", "0.5"]))
        lines.append(f"{kind} a{i}{'(p: 0..3)' if param else ''}{rate} when {guard()} {{ {body(param)} }}")
    lines.append(f"def up: bool = {guard()}")
    return "\n".join(lines) + "\n"


@st.composite
def symmetric_specs(draw: st.DrawFn) -> str:
    """Specs over a symmetric enum P that never name its members: per-member maps and sets, a
    set of records with a P field, a queue and a variable of P, actions with P parameters,
    properties with quantifiers and counts (for the check that symmetry reduction changes no
    verdict). Some have a fault."""
    n = draw(st.integers(2, 4))
    members = ", ".join(f"p{i}" for i in range(n))
    lines = ["spec Sym", f"symmetric enum P {{ {members} }}", "enum Mode { Off, On }",
             "var level: [P] 0..2", "var marked: set[P]", "var mode: [P] Mode",
             "var msgs: set[{to: P, hot: bool}]", "var owner: P", "var q: queue[P, 2]", "var tick: 0..2",
             "var groups: set[set[P]]"]
    lines.append("init { (forall x: P. level[x] == 0 && mode[x] == Off) && marked == {} && msgs == {} "
                 "&& len(q) == 0 && tick == 0 && groups == {} }")  # owner: any member (init stays symmetric)

    def cond(x: str) -> str:
        options = [f"level[{x}] < 2", f"level[{x}] > 0", f"{x} in marked", f"!({x} in marked)",
                   f"mode[{x}] == On", f"mode[{x}] == Off", f"{x} == owner", f"{x} != owner",
                   f"{{to: {x}, hot: true}} in msgs", f"(exists m in msgs. m.to == {x})",
                   f"(count y: P. level[y] == level[{x}]) <= {draw(st.integers(1, 3))}",
                   "len(q) < 2", "tick < 2", "size(marked) <= 1", f"(len(q) > 0 && head(q) == {x})"]
        return " && ".join(draw(st.lists(st.sampled_from(options), min_size=1, max_size=2)))

    def update(x: str) -> str:
        options = [f"level[{x}] := level[{x}] + 1", f"level[{x}] := 0", f"marked := marked | {{{x}}}",
                   f"marked := marked - {{{x}}}", f"mode[{x}] := On", f"mode[{x}] := Off", f"owner := {x}",
                   f"msgs := msgs | {{{{to: {x}, hot: level[{x}] > 0}}}}", f"msgs := {{m for m in msgs if m.to != {x}}}",
                   f"q := push(q, {x})", "q := pop(q)", "tick := tick + 1", "tick := 0",
                   "marked := {y for y: P if level[y] == 2}"]
        return "; ".join(draw(st.lists(st.sampled_from(options), min_size=1, max_size=3, unique=True)))

    for i in range(draw(st.integers(2, 4))):
        lines.append(f"action a{i}(x: P) when {cond('x')} {{ {update('x')} }}")
    if draw(st.booleans()):
        lines.append(f"action b when tick < 2 && (forall y: P. {cond('y')}) {{ tick := tick + 1 }}")
    if draw(st.booleans()):
        lines.append(f"fault f(x: P) when {cond('x')} {{ {update('x')} }}")
    if draw(st.booleans()):  # a set-valued parameter, and a set of sets
        lines.append(f"action g(s: set[P]) when size(s) == {draw(st.integers(1, 2))} && !(s in groups) "
                     "{ groups := groups | {s}; marked := marked | s }")
    props = [f"(forall y: P. {cond('y')})", f"(exists y: P. {cond('y')})", "size(marked) < 2",
             f"(count y: P. mode[y] == On) <= {draw(st.integers(0, 2))}", "len(q) <= 1", "owner in marked",
             "(forall g in groups. g <= marked)", "size(groups) < 2",
             "(forall m in msgs. m.hot -> level[m.to] > 0)"]
    for i in range(draw(st.integers(1, 3))):
        lines.append(f"invariant inv{i}: {draw(st.sampled_from(props))} || {draw(st.sampled_from(props))}")
    lines.append(f"reachable goal: {draw(st.sampled_from(props))} && {draw(st.sampled_from(props))}")
    if draw(st.booleans()):
        lines.append(f"recovers rec: from {draw(st.sampled_from(props))} to {draw(st.sampled_from(props))}")
    return "\n".join(lines) + "\n"
