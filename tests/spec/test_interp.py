"""The reference interpreter, construct by construct."""

from __future__ import annotations

import pytest
from ftverify.spec.compile import EvalError
from ftverify.spec.interp import Interpreter
from ftverify.spec.types import MapValue

from tests.conftest import evaluate, model_of


def test_integer_arithmetic_is_unbounded_with_floor_division():
    assert evaluate("", "7 / 2") == 3
    assert evaluate("", "-7 / 2") == -4
    assert evaluate("", "-7 % 3") == 2
    assert evaluate("", "2 * 3 - 10") == -4
    assert evaluate("", "min(3, -1) + max(2, 5) + abs(-4)") == 8
    assert evaluate("", "1 << 4") == 16


def test_bit_vectors_wrap():
    decls = "var w: bv[4]"
    assert evaluate(decls, "w + 15", {"w": 3}) == 2
    assert evaluate(decls, "w - 4", {"w": 3}) == 15
    assert evaluate(decls, "w * 6", {"w": 3}) == 2
    assert evaluate(decls, "~w", {"w": 3}) == 12
    assert evaluate(decls, "w ^ 5", {"w": 3}) == 6
    assert evaluate(decls, "w << 3", {"w": 3}) == 8
    assert evaluate(decls, "w >> 1", {"w": 3}) == 1
    assert evaluate(decls, "-w", {"w": 3}) == 13
    assert evaluate(decls, "int(w) + 20", {"w": 3}) == 23
    assert evaluate(decls, "bv[4](int(w) + 20)", {"w": 3}) == 7
    assert evaluate(decls, "w < 4 && w >= 3", {"w": 3}) is True


def test_booleans_short_circuit_around_errors():
    decls = "var m: [0..2] bool\nvar i: 0..3"
    # m[i] is an error for i = 3, but is never evaluated there.
    assert evaluate(decls, "i < 3 && m[i]", {"m": {0: True, 1: False, 2: False}, "i": 3}) is False
    assert evaluate(decls, "i == 3 || m[i]", {"m": {0: True, 1: False, 2: False}, "i": 3}) is True
    with pytest.raises(EvalError, match="index of m"):
        evaluate(decls, "m[i]", {"m": {0: True, 1: False, 2: False}, "i": 3})


def test_enums_records_and_maps():
    decls = "enum Color { Red, Green }\ntype P = { c: Color, n: 1..3 }\nvar m: [Color] P"
    state = {"m": MapValue({"Red": {"c": "Green", "n": 3}, "Green": {"c": "Red", "n": 1}})}
    assert evaluate(decls, "m[Red].n + m[Green].n", state) == 4
    assert evaluate(decls, "m[Red].c == Green", state) is True
    assert evaluate(decls, "m[Red] == {c: Green, n: 3}", state) is True
    assert evaluate(decls, "m == [k: Color |-> if k == Red then {c: Green, n: 3} else {c: Red, n: 1}]", state)


def test_sets():
    decls = "type R = 1..4\nvar s: set[R]"
    state = {"s": frozenset({1, 3})}
    assert evaluate(decls, "3 in s && !(2 in s)", state) is True
    assert evaluate(decls, "9 in s", state) is False  # outside the element type: not a member
    assert evaluate(decls, "size(s | {4}) == 3 && size(s & {1, 2}) == 1 && size(s - {1}) == 1", state)
    assert evaluate(decls, "{1} <= s && s <= {1, 2, 3} && !(s <= {1})", state)
    assert evaluate(decls, "s == {3, 1}", state)


def test_queues_are_fifo_and_bounded():
    decls = "var q: queue[0..9, 2]"
    assert evaluate(decls, "head(push(push(q, 4), 7))", {"q": []}) == 4
    assert evaluate(decls, "head(pop(push(push(q, 4), 7)))", {"q": []}) == 7
    assert evaluate(decls, "len(pop(push(q, 4)))", {"q": []}) == 0
    assert evaluate(decls, "pop(push(q, 4)) == q", {"q": []})
    with pytest.raises(EvalError, match="full queue"):
        evaluate(decls, "push(push(push(q, 1), 2), 3)", {"q": []})
    with pytest.raises(EvalError, match="empty queue"):
        evaluate(decls, "head(q)", {"q": []})


def test_quantifiers_count_sum_let_and_ite():
    decls = "type I = 0..3\nvar a: [I] 0..5"
    state = {"a": {0: 1, 1: 0, 2: 5, 3: 1}}
    assert evaluate(decls, "count i: I. a[i] == 1", state) == 2
    assert evaluate(decls, "sum i: I. a[i]", state) == 7
    assert evaluate(decls, "count i: I, j: I. a[i] == a[j]", state) == 6
    assert evaluate(decls, "forall i: I. exists j: I. a[j] >= a[i]", state)
    assert evaluate(decls, "let t = a[2] + 1 in t * t", state) == 36
    assert evaluate(decls, "if a[1] == 0 then 10 else 20", state) == 10


def test_defs_are_inlined_with_their_parameter_types():
    decls = "var x: 0..9\ndef twice(n: 0..9): 0..18 = n + n\ndef f: bool = x > 2"
    assert evaluate(decls, "twice(x) + twice(1)", {"x": 4}) == 10
    assert evaluate(decls, "f && f()", {"x": 4})
    with pytest.raises(EvalError, match="argument n of twice"):
        evaluate(decls, "twice(x + 5)", {"x": 9})


def test_simultaneous_assignment_and_later_wins():
    m = model_of("spec T\nvar x: 0..9\nvar y: 0..9\ninit { x == 1 && y == 2 }\n"
                 "action swap { x := y; y := x }\naction twice { x := 5; x := 6 }\n")
    it = Interpreter(m, 0)
    (s,) = it.initial_states()
    succ = {inst.label.action: it.decode(t) for inst, t in it.successors(s)}
    assert succ["swap"] == {"x": 2, "y": 1}
    assert succ["twice"] == {"x": 6, "y": 2}


def test_if_forall_and_procs_in_actions():
    m = model_of("""spec T
type I = 0..2
var a: [I] 0..3
var flag: bool
init { !flag && forall i: I. a[i] == i }
proc bump(k: I) { if a[k] < 3 { a[k] := a[k] + 1 } else { flag := true } }
action all_up { forall i: I { a[i] := 3 - a[i] } }
action up(k: I) { bump(k) }
""")
    it = Interpreter(m, 0)
    (s,) = it.initial_states()
    succ = {str(inst.label): it.decode(t) for inst, t in it.successors(s)}
    assert succ["all_up"]["a"] == {0: 3, 1: 2, 2: 1}
    assert succ["up(k=2)"]["a"] == {0: 0, 1: 1, 2: 3}


def test_a_proc_without_parameters_runs_its_whole_body():
    # regression: only the first statement of a parameterless proc used to run
    m = model_of("spec T\nvar a: 0..3\nvar b: 0..3\ninit { a == 0 && b == 0 }\n"
                 "proc both() {\n  a := 1\n  b := 2\n}\naction go { both() }\n")
    it = Interpreter(m, 0)
    (s,) = it.initial_states()
    assert [it.decode(t) for _, t in it.successors(s)] == [{"a": 1, "b": 2}]


def test_assignment_out_of_range_is_an_evaluation_error():
    m = model_of("spec T\nvar x: 0..2\ninit { x == 2 }\naction inc { x := x + 1 }\n")
    it = Interpreter(m, 0)
    (s,) = it.initial_states()
    with pytest.raises(EvalError, match=r"assignment to x: 3 is outside 0\.\.2"):
        list(it.successors(s))


def test_guards_narrow_ranges_so_no_check_is_needed():
    from ftverify.checker.engines.explicit import statically_type_safe

    guarded = model_of("spec T\nvar x: 0..2\naction inc when x < 2 { x := x + 1 }\n")
    assert statically_type_safe(guarded)
    unguarded = model_of("spec T\nvar x: 0..2\naction inc when x < 3 { x := x + 1 }\n")
    assert not statically_type_safe(unguarded)
    branch = model_of("spec T\nvar x: 0..2\naction inc { if x == 2 { x := 0 } else { x := x + 1 } }\n")
    assert statically_type_safe(branch)


def test_initial_states_enumerate_free_variables():
    m = model_of("spec T\nvar x: 0..3\nvar b: bool\nvar y: 0..3\ninit { x == 1 && y >= 2 }\naction a { skip }\n")
    states = sorted((d["x"], d["b"], d["y"]) for d in map(Interpreter(m, 0).decode,
                                                              Interpreter(m, 0).initial_states()))
    assert states == [(1, False, 2), (1, False, 3), (1, True, 2), (1, True, 3)]


def test_initial_states_with_linked_constraints():
    m = model_of("spec T\nvar x: 0..3\nvar y: 0..3\ninit { x + y == 3 && x != 1 }\naction a { skip }\n")
    it = Interpreter(m, 0)
    assert sorted((d["x"], d["y"]) for d in map(it.decode, it.initial_states())) == [(0, 3), (2, 1), (3, 0)]


def test_an_init_that_errors_admits_no_state():
    m = model_of("spec T\nvar i: 0..3\nvar m: [0..2] bool\ninit { m[i] }\naction a { skip }\n")
    it = Interpreter(m, 0)
    assert all(it.decode(s)["i"] < 3 for s in it.initial_states())


def test_fault_budget_limits_fault_steps():
    m = model_of("spec T\nvar n: 0..5\ninit { n == 0 }\naction idle { skip }\nfault hit when n < 5 { n := n + 1 }\n")
    for budget in (0, 1, 2):
        it = Interpreter(m, budget)
        seen, frontier = set(it.initial_states()), list(it.initial_states())
        while frontier:
            nxt = []
            for s in frontier:
                for _, t in it.successors(s):
                    if t not in seen:
                        seen.add(t)
                        nxt.append(t)
            frontier = nxt
        assert max(it.decode(s)["n"] for s in seen) == budget
        assert max(it.layout.faults(s) for s in seen) == budget


def test_layout_encode_decode_round_trip():
    m = model_of("spec T\nenum E { A, B, C }\ntype R = { e: E, k: -2..2 }\nvar m: [bool] R\nvar q: queue[E, 3]\n"
                 "var s: set[E]\naction a { skip }\n")
    it = Interpreter(m, 0)
    values = {"m": MapValue({False: {"e": "C", "k": -2}, True: {"e": "A", "k": 2}}), "q": ["B", "C"],
              "s": frozenset({"A", "C"})}
    assert it.decode(it.layout.encode(values)) == values


def test_fault_counter_counts_every_fault_whatever_the_body():
    # Regression: a fault whose body is one constant assignment once or-ed the
    # counter increment into the state, so the second fault was not counted.
    m = model_of("spec T\nenum E { A, B }\nvar e: E\ninit { e == B }\naction reset { e := B }\n"
                 "fault hit { e := A }\n")
    it = Interpreter(m, 3)
    (s,) = it.initial_states()
    hit = next(i for i in it.instances if i.label.action == "hit")
    reset = next(i for i in it.instances if i.label.action == "reset")
    for expected in (1, 2, 3):
        s = reset.apply(hit.apply(s))
        assert it.layout.faults(s) == expected
    assert not hit.guard(s)  # the budget of 3 is spent
