"""An independent computation of what checker/engines/ctmc.py computes, for the differential
test: its own breadth-first search over the interpreter's successors, dense matrices, networkx
for the bottom components, least squares for the stationary distributions, the absorption
probabilities of each bottom component separately, and a dense matrix exponential for R(t).
Small chains only."""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass

import networkx as nx
import numpy as np
import scipy.linalg
from ftverify.spec import model as M
from ftverify.spec.budget import FaultBudget
from ftverify.spec.compile import EvalError
from ftverify.spec.interp import Interpreter
from ftverify.spec.typecheck import parse_expression


@dataclass
class Figures:
    availability: float
    mttf: float
    reliability: list[float]  # at the times asked for


def figures(model: M.Model, times: list[float], rates: dict[str, float], limit: int = 400) -> Figures | None:
    """None when the spec has no chain (no rate, a step that fails, timeless loops) or is too big."""
    if all(a.rate is None for a in model.actions):
        return None
    interp = Interpreter(model, FaultBudget(0, tuple((a.name, None) for a in model.actions if a.is_fault), False))
    up_fn = interp.predicate(parse_expression(model, "up"))
    try:
        inits = interp.initial_states()
        seen = {s: None for s in inits}
        queue = deque(inits)
        steps: dict[int, list[tuple[int, float | None]]] = {}
        while queue:
            s = queue.popleft()
            steps[s] = []
            for inst, t in interp.successors(s):
                rate = None if inst.action.rate is None else inst.action.rate.value(rates)
                steps[s].append((t, rate))
                if t not in seen:
                    seen[t] = None
                    queue.append(t)
                    if len(seen) > limit:
                        return None
        up = {s: bool(up_fn(s)) for s in seen}
    except EvalError:
        return None
    states = list(seen)
    vanishing = [s for s in states if any(r is None for _, r in steps[s])]
    tangible = [s for s in states if s not in set(vanishing)]
    vi = {s: i for i, s in enumerate(vanishing)}
    ti = {s: i for i, s in enumerate(tangible)}
    nv, nt = len(vanishing), len(tangible)
    p_vv, p_vt = np.zeros((nv, nv)), np.zeros((nv, nt))
    for s in vanishing:
        moves = [t for t, r in steps[s] if r is None and t != s]
        if not moves:
            return None  # only immediate self-loops: time never passes
        for t in moves:
            if t in vi:
                p_vv[vi[s], vi[t]] += 1 / len(moves)
            else:
                p_vt[vi[s], ti[t]] += 1 / len(moves)
    x = np.zeros((nv, nt))
    if nv:
        if abs(np.linalg.det(np.eye(nv) - p_vv)) < 1e-12:
            return None  # immediate steps can cycle forever
        x = np.linalg.solve(np.eye(nv) - p_vv, p_vt)

    def lead(t: int) -> np.ndarray:
        row = np.zeros(nt)
        if t in ti:
            row[ti[t]] = 1.0
        else:
            row = x[vi[t]].copy()
        return row

    q = np.zeros((nt, nt))
    for s in tangible:
        for t, r in steps[s]:
            if t != s and r is not None:
                q[ti[s]] += r * lead(t)
    np.fill_diagonal(q, 0.0)
    gen = q - np.diag(q.sum(axis=1))
    init = sum(lead(s) for s in inits) / len(inits)
    ups = np.array([up[s] for s in tangible], dtype=bool)

    # long run: for each bottom component, the probability of ending there times its stationary share up
    g = nx.DiGraph()
    g.add_nodes_from(range(nt))
    g.add_edges_from((i, j) for i in range(nt) for j in range(nt) if q[i, j] > 0)
    cond = nx.condensation(g)
    bottoms = [sorted(cond.nodes[c]["members"]) for c in cond.nodes if cond.out_degree(c) == 0]
    in_bottom = {i for b in bottoms for i in b}
    trans = [i for i in range(nt) if i not in in_bottom]
    availability = 0.0
    for b in bottoms:
        k = len(b)
        sub = gen[np.ix_(b, b)]
        pi = np.linalg.lstsq(np.vstack([sub.T, np.ones(k)]), np.r_[np.zeros(k), 1.0], rcond=None)[0]
        reach = init[b].sum()
        if trans:
            h = np.linalg.solve(-gen[np.ix_(trans, trans)], q[np.ix_(trans, b)].sum(axis=1))
            reach += init[trans] @ h
        availability += reach * pi[ups[b]].sum()

    # MTTF and R(t): the down states absorbing
    u = [i for i in range(nt) if ups[i]]
    sub = gen[np.ix_(u, u)]
    down_reach = set(np.flatnonzero(~ups))
    changed = True
    while changed:  # up states from which a down state can be reached
        changed = False
        for i in u:
            if i not in down_reach and any(q[i, j] > 0 and j in down_reach for j in range(nt)):
                down_reach.add(i)
                changed = True
    start = [i for i in u if init[i] > 0]
    reachable_up = set(nx.descendants(g.subgraph(u), start[0])) | {start[0]} if start else set()
    for s0 in start[1:]:
        reachable_up |= set(nx.descendants(g.subgraph(u), s0)) | {s0}
    if not (~ups).any() or not reachable_up <= down_reach:
        mttf = math.inf
    elif not u:
        mttf = 0.0
    else:  # over the up states reachable without failing: every one of them can fail
        r = sorted(reachable_up)
        mttf = float(init[r] @ np.linalg.solve(-gen[np.ix_(r, r)], np.ones(len(r))))
    rel = [float(init[u] @ scipy.linalg.expm(sub * t) @ np.ones(len(u))) if u else 0.0 for t in times]
    return Figures(float(availability), mttf, rel)
