"""Dependability forecasting: a spec with rates as a continuous-time Markov chain.

The reachable graph (the explicit engine's, with every fault unbounded: faults recur, and
no fault counter is part of a state) becomes a CTMC: each step of an action with a rate
(`action restart rate mu ...`) is a transition at that rate, one per action instance.
An action without a rate is *immediate*, as in generalised stochastic Petri nets: a state
where one is enabled is left at once (no time passes there, and rated steps from it never
happen), by one of its enabled immediate steps chosen uniformly. Such *vanishing* states
are eliminated: each rated step into one goes on to the *tangible* states (those without
an immediate step) with the probabilities of the immediate paths from it.

Over the tangible states, with `up` telling which are up, scipy's sparse solvers give:
- availability: the long-run fraction of time up, from the initial states (uniformly
  distributed): each bottom strongly connected component's stationary distribution, weighted
  by the probability of ending in it;
- failure frequency f (up-to-down transitions per unit of time in the long run), MTTR =
  (1 - A) / f and mean up time A / f;
- MTTF: the mean time to the first down state from the initial states;
- reliability R(t): the probability of no down state until t (`expm_multiply` on the chain
  with the down states absorbing).
"""

from __future__ import annotations

import math
import sys
import warnings
from dataclasses import dataclass, field
from typing import TextIO

import numpy as np
import scipy.sparse as sp
import scipy.sparse.csgraph as csgraph
import scipy.sparse.linalg as spla
from ftverify.checker.engines.explicit import Limits, explore
from ftverify.spec import model as M
from ftverify.spec.budget import FaultBudget
from ftverify.spec.compile import EvalError
from ftverify.spec.errors import SpecError
from ftverify.spec.interp import Interpreter
from ftverify.spec.typecheck import parse_expression
from ftverify.spec.types import BOOL, format_value


class ChainError(Exception):
    """The spec does not define a Markov chain (no rates, a timeless loop, a step that fails)."""


class Incomplete(Exception):
    """The exploration stopped early (Ctrl-C, the time limit, --max-states): no chain to solve."""


def recurring(model: M.Model) -> FaultBudget:
    """Every fault unbounded: a quantitative analysis has no fault budget."""
    return FaultBudget(0, tuple((a.name, None) for a in model.actions if a.is_fault), False)


def rate_values(model: M.Model, overrides: dict[str, float] | None = None) -> dict[str, float]:
    """The named rates' values, with `overrides` (`--rate NAME=VALUE`) checked and applied."""
    rates = dict(model.rates)
    for name, v in (overrides or {}).items():
        if name not in rates:
            raise ChainError(f"--rate {name}: spec {model.name} declares no rate `{name}` "
                             f"(its rates: {', '.join(rates) or 'none'})")
        if not (v > 0 and math.isfinite(v)):
            raise ChainError(f"--rate {name}={v:g}: a rate must be positive and finite")
        rates[name] = v
    return rates


@dataclass
class Chain:
    """The CTMC of a spec, kept so that new rate values re-weight it without exploring again."""

    model: M.Model
    interp: Interpreter
    states: list[int]  # the tangible states (packed), in breadth-first order
    up: np.ndarray  # bool, per tangible state
    init: np.ndarray  # the initial distribution over the tangible states
    edge_source: np.ndarray  # per rated step out of a tangible state: its source (tangible index),
    edge_instance: np.ndarray  # its action instance (whose rate it has),
    edge_target: sp.csr_matrix  # and where it leads: a distribution over tangible states (one row each)
    instance_rate: list[M.Rate | None]  # each action instance's rate (None: immediate)
    reachable: int  # reachable states, vanishing ones included
    transitions: int
    seconds: float = 0.0
    stats: dict[str, int] = field(default_factory=dict)

    def generator(self, rates: dict[str, float]) -> sp.csr_matrix:
        """The off-diagonal part of the generator: Q[s, t] = the rate from s to t (s != t)."""
        n = len(self.states)
        per_instance = np.array([0.0 if x is None else x.value(rates) for x in self.instance_rate])
        r = per_instance[self.edge_instance]
        src = sp.csr_matrix((r, (self.edge_source, np.arange(len(r)))), shape=(n, len(r)))
        q = (src @ self.edge_target).tocsr()
        q.setdiag(0)
        q.eliminate_zeros()
        return q


def build(model: M.Model, up: str = "up", limits: Limits | None = None,
          progress: TextIO | None = sys.stderr) -> Chain:
    """Explore the spec with recurring faults and build its chain; `up`: an expression over the
    state (a `def up: bool` by default). Raises ChainError, Incomplete or SpecError."""
    up_expr = check(model, up)
    interp = Interpreter(model, recurring(model))
    ex = explore(interp, limits, record_edges=True, check_properties=False, stop_when_decided=False,
                 progress=progress)
    if ex.type_error is not None:
        s, label, message = ex.type_error
        raise ChainError(f"a step fails to evaluate ({label or 'a guard'}: {message}) in the reachable "
                         f"{_show(interp, s)} (with faults recurring, a counter may outgrow its type): "
                         "the chain is not defined")
    if not ex.complete:
        raise Incomplete(f"the state space was not explored completely ({ex.reason}): no chain to solve")
    assert ex.edges is not None
    packed = list(ex.parent)
    ids = {s: i for i, s in enumerate(packed)}
    n = len(packed)
    rate_of = [inst.action.rate for inst in interp.instances]
    src = np.fromiter((ids[s] for s, _, _ in ex.edges), dtype=np.int64, count=len(ex.edges))
    dst = np.fromiter((ids[t] for _, t, _ in ex.edges), dtype=np.int64, count=len(ex.edges))
    inst = np.fromiter((k for _, _, k in ex.edges), dtype=np.int64, count=len(ex.edges))
    immediate = np.array([r is None for r in rate_of], dtype=bool)[inst] if len(inst) else np.zeros(0, bool)
    moves = src != dst  # a self-loop changes nothing: at a rate it is invisible, immediate it is chosen again
    vanishing = np.zeros(n, dtype=bool)
    vanishing[src[immediate]] = True
    trap = vanishing.copy()
    trap[src[immediate & moves]] = False
    if trap.any():
        raise ChainError(f"{_show(interp, packed[int(np.flatnonzero(trap)[0])])}: only immediate steps that "
                         "change nothing are enabled, so time never passes: give an action there a rate")
    tangible = np.flatnonzero(~vanishing)
    vids = np.flatnonzero(vanishing)
    tpos = np.full(n, -1, dtype=np.int64)
    tpos[tangible] = np.arange(len(tangible))
    vpos = np.full(n, -1, dtype=np.int64)
    vpos[vids] = np.arange(len(vids))
    nt, nv = len(tangible), len(vids)
    # Where each state leads, as a distribution over tangible states: itself if tangible, the
    # immediate paths' outcome if vanishing: X = (I - P_vv)^-1 P_vt.
    lead_t = sp.csr_matrix((np.ones(nt), (tangible, np.arange(nt))), shape=(n, nt))
    if nv:
        e = immediate & moves
        out_deg = np.bincount(src[e], minlength=n).astype(float)
        w = 1.0 / out_deg[src[e]]
        to_v = vanishing[dst[e]]
        p_vv = sp.csr_matrix((w[to_v], (vpos[src[e][to_v]], vpos[dst[e][to_v]])), shape=(nv, nv))
        p_vt = sp.csr_matrix((w[~to_v], (vpos[src[e][~to_v]], tpos[dst[e][~to_v]])), shape=(nv, nt))
        # (no way out to a tangible state at all: the immediate steps loop for ever)
        x = _solve(sp.identity(nv, format="csc") - p_vv.tocsc(), p_vt.tocsc()) if p_vt.nnz else None
        if x is not None and not sp.issparse(x):  # one tangible state: spsolve returns a vector
            x = sp.csr_matrix(np.asarray(x).reshape(nv, nt))
        if x is None or not np.allclose(np.asarray(x.sum(axis=1)).ravel(), 1.0, atol=1e-9):
            raise ChainError("immediate steps can cycle forever without time passing (a loop of actions "
                             "without rates): give one action on the loop a rate")
        xc = sp.coo_matrix(x)
        lead = lead_t + sp.csr_matrix((xc.data, (vids[xc.row], xc.col)), shape=(n, nt))
    else:
        lead = lead_t
    keep = ~immediate & moves & ~vanishing[src]
    edge_target = lead[dst[keep]]
    init_ids = [ids[s] for s, p in ex.parent.items() if p is None]
    init = np.asarray(lead[init_ids].sum(axis=0)).ravel() / len(init_ids)
    states = [packed[i] for i in tangible]
    up_fn = interp.predicate(up_expr)
    try:
        up_mask = np.fromiter((bool(up_fn(s)) for s in states), dtype=bool, count=nt)
    except EvalError as e:
        raise ChainError(f"`{up}` fails to evaluate in a reachable state: {e.message}") from None
    return Chain(model, interp, states, up_mask, init, tpos[src[keep]], inst[keep], sp.csr_matrix(edge_target),
                 rate_of, n, ex.transitions, ex.seconds,
                 {"vanishing": nv, "tangible": nt})


def check(model: M.Model, up: str = "up") -> M.Expr:
    """What `build` needs before it explores: some rate, and `up` as a bool expression (returned)."""
    if all(a.rate is None for a in model.actions):
        raise ChainError(f"spec {model.name} gives no action a rate: write `rate NAME = NUMBER` and "
                         "`action NAME rate NAME ...` (docs/language.md, Rates)")
    return _up(model, up)


def _up(model: M.Model, text: str) -> M.Expr:
    try:
        e = parse_expression(model, text, "--up")
    except SpecError as err:
        if text == "up" and "up" not in dict(model.decl_spans):
            raise ChainError(f"spec {model.name} does not say when it is up: declare `def up: bool = ...` "
                             "or pass --up EXPR") from None
        raise err
    if e.type != BOOL:
        raise ChainError(f"--up {text}: expected a bool expression, found {e.type}")
    return e


def _show(interp: Interpreter, s: int) -> str:
    return "state " + ", ".join(f"{k} = {format_value(v)}" for k, v in interp.decode(s).items())


DIRECT_MAX = 200_000  # unknowns up to which systems are solved by sparse LU (exact; fill-in grows beyond)


def _solve(a: sp.spmatrix, b: sp.spmatrix | np.ndarray) -> sp.spmatrix | np.ndarray | None:
    """a x = b; None when `a` is singular. Sparse LU up to DIRECT_MAX unknowns; beyond, BiCGSTAB
    with a Jacobi preconditioner (a million-state chain in seconds, where LU takes ten times as
    long), falling back to LU if it does not converge to a residual of 1e-13 of b's."""
    a = sp.csc_matrix(a)
    if a.shape[0] > DIRECT_MAX and not sp.issparse(b):
        diag = a.diagonal()
        if np.all(diag != 0):
            pre = spla.LinearOperator(a.shape, lambda v: v / diag)  # type: ignore[arg-type,operator]
            x, info = spla.bicgstab(a, b, M=pre, rtol=1e-13, atol=0.0, maxiter=20_000)
            if info == 0 and np.all(np.isfinite(x)) and \
                    np.abs(a @ x - b).max() <= 1e-12 * max(float(np.abs(b).max()), 1e-300):
                return x
    with warnings.catch_warnings():
        warnings.simplefilter("error", spla.MatrixRankWarning)
        try:
            x = spla.spsolve(a, b, permc_spec="MMD_AT_PLUS_A")
        except (spla.MatrixRankWarning, RuntimeError):
            return None
    data = x.data if sp.issparse(x) else x
    return x if np.all(np.isfinite(data)) else None


# ---------------------------------------------------------------- measures
@dataclass
class Measures:
    availability: float  # long-run fraction of time up
    unavailability: float  # its complement, summed over the down states (not 1 - A: five nines stay exact)
    failure_frequency: float  # long-run up-to-down transitions per unit of time
    mttf: float  # mean time to the first down state, from the initial states (inf: possibly never)
    mttr: float  # (1 - A) / f: mean time down per failure in the long run (nan: no failures)
    mean_up: float  # A / f: mean time up between failures in the long run (nan: no failures)


class Unreliable(ChainError):
    """A solution that fails its own check: no figure is printed from it."""


def _balanced(q: sp.csr_matrix, pi: np.ndarray) -> None:
    """The long-run distribution must be a distribution and stationary (pi Q = 0), checked on the
    generator itself: whatever solver produced it, a wrong one is not printed."""
    exit_rate = np.asarray(q.sum(axis=1)).ravel()
    flow = pi @ q - pi * exit_rate  # pi Q
    scale = max(float((pi * exit_rate).max(initial=0.0)), 1e-300)
    if abs(pi.sum() - 1.0) > 1e-9 or pi.min(initial=0.0) < -1e-12 or np.abs(flow).max(initial=0.0) > 1e-9 * scale:
        raise Unreliable("the long-run distribution fails its balance check (pi Q = 0, sum 1): the chain is too "
                         "ill-conditioned for the solver; no figures are given")


def measures(chain: Chain, rates: dict[str, float]) -> Measures:
    q = chain.generator(rates)
    pi = long_run(q, chain.init)
    _balanced(q, pi)
    up = chain.up
    a, u = float(pi[up].sum()), float(pi[~up].sum())
    to_down = np.asarray(q[:, ~up].sum(axis=1)).ravel()
    f = float((pi * to_down)[up].sum())
    if f > 0:
        mttr, mean_up = u / f, a / f
    else:  # no failures in the long run: down for ever after one (u > 0), or never down
        mttr, mean_up = (math.inf if u > 0 else math.nan), (math.inf if a > 0 else math.nan)
    return Measures(a, u, f, mttf(q, chain.init, up), mttr, mean_up)


def long_run(q: sp.csr_matrix, init: np.ndarray) -> np.ndarray:
    """The long-run distribution from `init`: each bottom SCC's stationary distribution, weighted by
    the probability of ending in it (the flow into it: occupation times of the transient states)."""
    n = q.shape[0]
    ncomp, comp = csgraph.connected_components(q, directed=True, connection="strong")
    coo = q.tocoo()
    leaves = comp[coo.row] != comp[coo.col]
    bottom = np.ones(ncomp, dtype=bool)
    bottom[comp[coo.row[leaves]]] = False
    in_bottom = bottom[comp]
    exit_rate = np.asarray(q.sum(axis=1)).ravel()
    trans = np.flatnonzero(~in_bottom)
    inflow = init.copy()
    if len(trans):
        # z (D - Q)_TT = init_T: the expected time spent in each transient state
        m = (sp.diags(exit_rate[trans]) - q[trans][:, trans]).T
        z = _solve(m, init[trans])
        if z is None:
            raise ChainError("the chain's transient part is singular (an internal inconsistency)")
        z = np.atleast_1d(np.asarray(z, dtype=float))
        flow = q[trans].T @ z
        inflow = inflow + flow
        inflow[trans] = 0.0
    pi = np.zeros(n)
    for c in np.flatnonzero(bottom):
        members = np.flatnonzero(comp == c)
        mass = float(inflow[members].sum())
        if mass <= 0:
            continue
        pi[members] = mass * stationary(q[members][:, members], exit_rate[members])
    return pi


def stationary(q: sp.csr_matrix, exit_rate: np.ndarray) -> np.ndarray:
    """The stationary distribution of an irreducible chain: pi Q = 0, sum pi = 1. One balance
    equation is redundant: fix pi of the state left most often (the best-conditioned pivot) to 1,
    solve the others' (a sparse system, where a row of ones for the normalisation would fill
    the LU factors in), then normalise."""
    k = q.shape[0]
    if k == 1:
        return np.ones(1)
    pin = int(np.argmax(exit_rate))
    rest = np.r_[0:pin, pin + 1:k]
    # pi_rest (D - Q)_rest,rest = pi_pin Q_pin,rest, transposed
    a = (sp.diags(exit_rate[rest]) - q[rest][:, rest]).T
    b = np.asarray(q[pin].toarray()).ravel()[rest]
    x = _solve(a, b)
    if x is None:
        raise ChainError("a bottom component's balance equations are singular (an internal inconsistency)")
    pi = np.empty(k)
    pi[pin] = 1.0
    pi[rest] = np.asarray(x, dtype=float)
    return pi / pi.sum()


def mttf(q: sp.csr_matrix, init: np.ndarray, up: np.ndarray) -> float:
    """Mean time to the first down state from `init` (down states absorbing); inf when the
    chain may stay up forever."""
    if not (~up).any():
        return math.inf
    ups = np.flatnonzero(up)
    n = q.shape[0]
    # up states that can reach a down state (backwards from a node standing for all of them)
    back = sp.csr_matrix(q.T)
    down_ids = np.flatnonzero(~up)
    g = sp.vstack([sp.hstack([back, sp.csr_matrix((n, 1))]),
                   sp.csr_matrix((np.ones(len(down_ids)), (np.zeros(len(down_ids), dtype=np.int64), down_ids)),
                                 shape=(1, n + 1))]).tocsr()
    can_fail = np.zeros(n + 1, dtype=bool)
    can_fail[csgraph.breadth_first_order(g, n, directed=True, return_predecessors=False)] = True
    # up states reachable from the initial ones without going down
    within = q[ups][:, ups]
    start = np.flatnonzero(init[ups] > 0)
    seen = np.zeros(len(ups), dtype=bool)
    for s in start:
        if not seen[s]:
            seen[csgraph.breadth_first_order(within, s, directed=True, return_predecessors=False)] = True
    if not can_fail[ups[seen]].all():
        return math.inf
    region = ups[seen]
    if not len(region):
        return 0.0
    exit_rate = np.asarray(q[region].sum(axis=1)).ravel()
    a = sp.diags(exit_rate) - q[region][:, region]
    m = _solve(a, np.ones(len(region)))
    if m is None:
        raise ChainError("the mean-time-to-failure equations are singular (an internal inconsistency)")
    m = np.atleast_1d(np.asarray(m, dtype=float))
    scale = max(float((exit_rate * np.abs(m)).max()), 1.0)  # rounding grows with the rates times the times
    if np.abs(a @ m - 1.0).max() > 1e-9 * scale or m.min() < 0:  # checked on the equations themselves
        raise Unreliable("the mean time to failure fails its check ((D - Q) m = 1, m >= 0): no figures are given")
    return float(init[region] @ m)


def reliability(chain: Chain, rates: dict[str, float], times: np.ndarray) -> np.ndarray:
    """R(t) at each of `times`: the probability of no down state up to t."""
    q = chain.generator(rates)
    ups = np.flatnonzero(chain.up)
    if not len(ups):
        return np.zeros(len(times))
    exit_rate = np.asarray(q[ups].sum(axis=1)).ravel()
    sub = (q[ups][:, ups] - sp.diags(exit_rate)).T.tocsc()
    p0 = chain.init[ups]
    steps = np.diff(times)
    if len(times) > 2 and np.allclose(steps, steps[0]):  # evenly spaced: one call steps through them
        out = spla.expm_multiply(sub, p0, start=float(times[0]), stop=float(times[-1]), num=len(times),
                                 endpoint=True)
        return np.clip(np.asarray(out).sum(axis=1), 0.0, 1.0)
    return np.array([min(1.0, max(0.0, float(spla.expm_multiply(sub * float(t), p0).sum()))) for t in times])


def explicit_files(chain: Chain, rates: dict[str, float]) -> tuple[str, str]:
    """The chain in the explicit format of PRISM and Storm: the transitions (`.tra`: `ctmc`, then
    `source target rate`) and the labels (`.lab`: `init` for the initial states, `up`)."""
    q = chain.generator(rates).tocoo()
    order = np.lexsort((q.col, q.row))
    tra = ["ctmc"] + [f"{q.row[k]} {q.col[k]} {float(q.data[k])!r}" for k in order]
    lab = ["#DECLARATION", "init up", "#END"]
    for i in range(len(chain.states)):
        labels = (["init"] if chain.init[i] > 0 else []) + (["up"] if chain.up[i] else [])
        if labels:
            lab.append(f"{i} {' '.join(labels)}")
    return "\n".join(tra) + "\n", "\n".join(lab) + "\n"
