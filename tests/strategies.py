"""Hypothesis strategies for random, well-typed specs (shared with bench/differential.py).

The specs are small (a few variables of every kind the language has, a few
actions with guards, faults, invariants, a reachable), so that the explicit
engine explores them in milliseconds, yet they exercise what engines get wrong:
integer intervals and range errors, map indices out of their domain, bit-vector
wrap-around, sets, queues that overflow, fault budgets, short-circuit evaluation.
"""

from __future__ import annotations

from dataclasses import dataclass

from hypothesis import strategies as st

ENUM = ("A", "B", "C")


@dataclass(frozen=True)
class VarKind:
    name: str
    type: str
    kind: str  # "bool", "int", "bv", "enum", "map", "set", "queue"
    lo: int = 0
    hi: int = 0


@st.composite
def variables(draw: st.DrawFn) -> list[VarKind]:
    kinds = draw(st.lists(st.sampled_from(["bool", "int", "int", "bv", "enum", "map", "set", "queue"]),
                          min_size=2, max_size=4))
    out = []
    for i, k in enumerate(kinds):
        name = f"v{i}"
        if k == "int":
            lo = draw(st.integers(-2, 1))
            hi = lo + draw(st.integers(1, 3))
            out.append(VarKind(name, f"{lo}..{hi}", k, lo, hi))
        elif k == "bool":
            out.append(VarKind(name, "bool", k))
        elif k == "bv":
            out.append(VarKind(name, "bv[2]", k))
        elif k == "enum":
            out.append(VarKind(name, "E", k))
        elif k == "map":
            out.append(VarKind(name, "[0..1] 0..2", k, 0, 2))
        elif k == "set":
            out.append(VarKind(name, "set[0..2]", k))
        else:
            out.append(VarKind(name, "queue[0..1, 2]", k))
    return out


class Gen:
    """Expressions of each type over the given variables (and a parameter `p` in actions)."""

    def __init__(self, vs: list[VarKind], param: bool) -> None:
        self.vs = vs
        self.param = param

    def of(self, kind: str) -> list[VarKind]:
        return [v for v in self.vs if v.kind == kind]

    def int_expr(self, draw: st.DrawFn, depth: int = 0) -> str:
        leaves = [str(draw(st.integers(-2, 3)))]
        leaves += [v.name for v in self.of("int")]
        leaves += [f"{v.name}[{draw(st.sampled_from(['0', '1', 'p'] if self.param else ['0', '1']))}]"
                   for v in self.of("map")]
        if self.param:
            leaves.append("p")
        leaves += [f"len({v.name})" for v in self.of("queue")] + [f"size({v.name})" for v in self.of("set")]
        if depth >= 2 or draw(st.booleans()):
            return draw(st.sampled_from(leaves))
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

    def bv_expr(self, draw: st.DrawFn, depth: int = 0) -> str:
        leaves = [str(draw(st.integers(0, 3)))] + [v.name for v in self.of("bv")]
        if depth >= 2 or draw(st.booleans()) or not self.of("bv"):
            return draw(st.sampled_from(leaves))
        a, b = self.bv_expr(draw, depth + 1), self.bv_expr(draw, depth + 1)
        op = draw(st.sampled_from(["+", "-", "^", "&", "|", "*"]))
        if draw(st.booleans()):
            return f"(~{a})" if draw(st.booleans()) else f"({a} << 1)"
        return f"({a} {op} {b})"

    def bool_expr(self, draw: st.DrawFn, depth: int = 0) -> str:
        options = ["true", "false"] + [v.name for v in self.of("bool")]
        if depth >= 2:
            return draw(st.sampled_from(options))
        choice = draw(st.integers(0, 9))
        if choice == 0:
            return draw(st.sampled_from(options))
        if choice in (1, 2):
            op = draw(st.sampled_from(["==", "!=", "<", "<=", ">", ">="]))
            return f"({self.int_expr(draw, depth + 1)} {op} {self.int_expr(draw, depth + 1)})"
        if choice == 3 and self.of("enum"):
            return f"({draw(st.sampled_from(self.of('enum'))).name} == {draw(st.sampled_from(ENUM))})"
        if choice == 4 and self.of("bv"):
            op = draw(st.sampled_from(["==", "!=", "<", ">="]))
            return f"({self.bv_expr(draw, depth + 1)} {op} {self.bv_expr(draw, depth + 1)})"
        if choice == 5 and self.of("set"):
            return f"({draw(st.integers(0, 2))} in {draw(st.sampled_from(self.of('set'))).name})"
        if choice == 6:
            op = draw(st.sampled_from(["&&", "||", "->"]))
            return f"({self.bool_expr(draw, depth + 1)} {op} {self.bool_expr(draw, depth + 1)})"
        if choice == 7:
            return f"!({self.bool_expr(draw, depth + 1)})"
        if choice == 8 and self.of("map"):
            m = draw(st.sampled_from(self.of("map"))).name
            q = draw(st.sampled_from(["forall", "exists"]))
            return f"({q} i: 0..1. {m}[i] <= {draw(st.integers(0, 2))})"
        if choice == 9 and self.of("queue"):
            q = draw(st.sampled_from(self.of("queue"))).name
            return f"(len({q}) > 0 && head({q}) == {draw(st.integers(0, 1))})"
        return draw(st.sampled_from(options))

    def assignment(self, draw: st.DrawFn) -> str:
        v = draw(st.sampled_from(self.vs))
        if v.kind == "int":
            return f"{v.name} := {self.int_expr(draw)}"
        if v.kind == "bool":
            return f"{v.name} := {self.bool_expr(draw)}"
        if v.kind == "bv":
            return f"{v.name} := {self.bv_expr(draw)}"
        if v.kind == "enum":
            return f"{v.name} := {draw(st.sampled_from(ENUM))}"
        if v.kind == "map":
            idx = draw(st.sampled_from(["0", "1", "p"] if self.param else ["0", "1"]))
            return f"{v.name}[{idx}] := {self.int_expr(draw)}"
        if v.kind == "set":
            op = draw(st.sampled_from(["|", "-"]))
            return f"{v.name} := {v.name} {op} {{{draw(st.integers(0, 2))}}}"
        if draw(st.booleans()):
            return f"{v.name} := push({v.name}, {draw(st.integers(0, 1))})"
        return f"{v.name} := pop({v.name})"


def _init_value(draw: st.DrawFn, v: VarKind) -> str | None:
    if draw(st.integers(0, 3)) == 0:
        return None  # left free: every value is initial
    if v.kind == "int":
        return f"{v.name} == {draw(st.integers(v.lo, v.hi))}"
    if v.kind == "bool":
        return f"{v.name} == {draw(st.sampled_from(['true', 'false']))}"
    if v.kind == "bv":
        return f"{v.name} == {draw(st.integers(0, 3))}"
    if v.kind == "enum":
        return f"{v.name} == {draw(st.sampled_from(ENUM))}"
    if v.kind == "map":
        return f"{v.name}[0] == {draw(st.integers(0, 2))} && {v.name}[1] == 0"
    if v.kind == "set":
        return f"{v.name} == {{}}"
    return f"len({v.name}) == 0"


@st.composite
def specs(draw: st.DrawFn) -> str:
    vs = draw(variables())
    lines = ["spec Generated", f"enum E {{ {', '.join(ENUM)} }}"]
    lines += [f"var {v.name}: {v.type}" for v in vs]
    inits = [x for x in (_init_value(draw, v) for v in vs) if x is not None]
    if inits:
        lines.append("init { " + " && ".join(inits) + " }")
    for i in range(draw(st.integers(1, 3))):
        param = draw(st.booleans())
        g = Gen(vs, param)
        guard = g.bool_expr(draw)
        body = "; ".join(g.assignment(draw) for _ in range(draw(st.integers(1, 2))))
        lines.append(f"action a{i}{'(p: 0..1)' if param else ''} when {guard} {{ {body} }}")
    for i in range(draw(st.integers(0, 2))):
        g = Gen(vs, False)
        lines.append(f"fault f{i} when {g.bool_expr(draw)} {{ {g.assignment(draw)} }}")
    g = Gen(vs, False)
    for i in range(draw(st.integers(1, 2))):
        lines.append(f"invariant inv{i}: {g.bool_expr(draw)}")
    if draw(st.booleans()):
        lines.append(f"reachable goal: {g.bool_expr(draw)}")
    return "\n".join(lines) + "\n"
