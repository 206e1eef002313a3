"""Breadth-first search one layer at a time, with numpy: the explicit engine's fast path.

The scalar explorer (`explicit.explore`) starts every search. When a layer grows
past `explicit.HANDOFF` states and the model compiles to vector operations
(`vectorize.VectorModel`), the rest of the search runs here: each chunk of the
frontier is one block of packed states, every action instance's guard and update
run over the whole block at once, the successors are sorted and made unique, and
a numpy hash set of the visited states picks out the new ones. Properties are
checked on each new block, and the counts (states, transitions, depth,
deadlocks) are exactly the scalar engine's.

Memory is what makes large models fit: a state costs its 8 bytes in its layer
and a slot or two of the hash set; no parent link is kept. A trace is rebuilt on
demand by searching, layer by layer backwards, for a state of the previous layer
with a step to the one at hand (`LayeredParents`), which gives a shortest path
as a parent map would. Every state the search reports (a violation, a witness, a
failing step, a deadlock) is re-evaluated on the reference interpreter before it
is believed.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from ftverify.checker.engines import control
from ftverify.checker.engines.vectorize import U64, Lanes, Unsupported, VectorModel
from ftverify.spec.compile import EvalError
from ftverify.spec.interp import Interpreter

CHUNK = 1 << 16  # frontier states per block
EMPTY = U64(0xFFFFFFFFFFFFFFFF)  # never a state: states fit 63 bits
GOLDEN = U64(0x9E3779B97F4A7C15)
MAX_LOAD = 0.5


class EngineBug(AssertionError):
    """The vector engine and the reference interpreter disagree about a state."""


def vector_model(interp: Interpreter) -> VectorModel | None:
    """The model compiled to vector operations, or None when this engine cannot run it."""
    if interp.layout.width > 63:
        return None  # one uint64 per state (and the hash set's empty mark above every state)
    try:
        return VectorModel(interp)
    except Unsupported:
        return None


class VisitedSet:
    """An open-addressing hash set of uint64 states (linear probing, a multiplicative hash)."""

    def __init__(self, bits: int = 16) -> None:
        self.bits = bits
        self.table = np.full(1 << bits, EMPTY, dtype=U64)
        self.count = 0

    def nbytes(self) -> int:
        return int(self.table.nbytes)

    def add(self, keys: np.ndarray) -> np.ndarray:
        """Insert distinct keys; returns the mask of those that were not in the set."""
        if self.count + keys.size > MAX_LOAD * self.table.size:
            self._grow(self.count + keys.size)
        fresh = self._insert(keys)
        self.count += int(np.count_nonzero(fresh))
        return fresh

    def _grow(self, need: int) -> None:
        old = self.table[self.table != EMPTY]
        del self.table  # the keys alone are smaller than the table they came from
        while need > MAX_LOAD * (1 << self.bits):
            self.bits += 1
        self.table = np.full(1 << self.bits, EMPTY, dtype=U64)
        for lo in range(0, old.size, CHUNK):  # in slices: probing temporaries cost several words a key
            self._insert(old[lo:lo + CHUNK])

    def _insert(self, keys: np.ndarray) -> np.ndarray:
        table = self.table
        mask = (1 << self.bits) - 1
        slot = ((keys * GOLDEN) >> U64(64 - self.bits)).astype(np.intp)
        fresh = np.zeros(keys.size, dtype=bool)
        pending = np.arange(keys.size)
        while pending.size:
            at = slot[pending]
            cur = table[at]
            mine = keys[pending]
            empty = cur == EMPTY
            # Claim the empty slots: of several keys writing one slot, the one read back wins.
            claim, claim_at = pending[empty], at[empty]
            table[claim_at] = mine[empty]
            won = table[claim_at] == mine[empty]
            fresh[claim[won]] = True
            taken = ~empty & (cur != mine)  # someone else's: probe the next slot
            moved = pending[taken]
            slot[moved] = (slot[moved] + 1) & mask
            pending = np.concatenate((moved, claim[~won]))
        return fresh


@dataclass
class Handoff:
    """Where the scalar search stopped: everything it found, and the frontier to go on from."""

    frontier: list[int]
    depth: int
    pending_inv: list[str]
    pending_reach: list[str]
    deadline: float | None
    timeout_text: str
    max_depth: int | None
    stop_when_decided: bool
    progress: bool
    type_pending: bool  # type_ok is asked for and not safe by construction
    start: float
    ever_enabled: set[int] = field(default_factory=set)
    lefts_true: set[str] = field(default_factory=set)


def run(ex: Any, vm: VectorModel, h: Handoff) -> None:
    """Continue the search of `ex` (an `explicit.Exploration`) layer by layer; fills it in place."""
    interp = vm.interp
    ctl = control.current()
    prefix: dict[int, int | None] = ex.parent
    parents = LayeredParents(prefix, vm, np.array(h.frontier, dtype=U64))
    ex.parent = parents
    visited = VisitedSet(max(16, (2 * len(prefix)).bit_length()))
    visited.add(np.fromiter(prefix, dtype=U64, count=len(prefix)))

    hot = vm.ordered
    invariants = [(name, vm.properties[name]) for name in h.pending_inv]
    reachables = [(name, vm.properties[name]) for name in h.pending_reach]
    lefts = [(name, f) for name, f in vm.lefts.items() if name not in h.lefts_true]
    ever_enabled = h.ever_enabled
    never = [vi for vi in vm.instances if vi.index not in ever_enabled]

    # What the scalar search saw is judged by the same vector functions, for vacuity.
    if prefix and (never or lefts):
        states = np.fromiter(prefix, dtype=U64, count=len(prefix))
        for lo in range(0, states.size, CHUNK):
            L = Lanes(states[None, lo:lo + CHUNK])
            never = note_enabled(never, L, ever_enabled)
            lefts = note_lefts(lefts, L, h.lefts_true)

    frontier = parents.handoff
    depth = h.depth
    transitions = ex.transitions
    try:
        while frontier.size:
            if h.max_depth is not None and depth >= h.max_depth:
                ex.reason = f"depth bound {h.max_depth} reached"
                break
            parts: list[np.ndarray] = []
            parents.layers.append(parts)  # filled as chunks go, so a stop keeps what was found
            for lo in range(0, frontier.size, CHUNK):
                block = frontier[lo:lo + CHUNK]
                L = Lanes(block[None, :])
                never = note_enabled(never, L, ever_enabled)
                succ, _, alive, failed = step_block(hot, block, L)
                transitions += sum(t.size for t in succ)
                dead = ~alive
                if dead.any():
                    if ex.first_deadlock is None:
                        ex.first_deadlock = int(block[np.argmax(dead)])
                    ex.deadlocks += int(np.count_nonzero(dead))
                if failed is not None:
                    _note_failures(ex, vm, block, failed)
                new = _distinct(np.concatenate(succ)) if succ else np.zeros(0, dtype=U64)
                new = new[visited.add(new)]
                parts.append(new)
                if new.size and (invariants or reachables or lefts):
                    N = Lanes(new[None, :])
                    invariants = judge(ex, interp, invariants, N, new, want=False)
                    reachables = judge(ex, interp, reachables, N, new, want=True)
                    lefts = note_lefts(lefts, N, h.lefts_true)
                _between_chunks(ex, ctl, h, parents, depth, transitions)
            layer = np.concatenate(parts) if parts else np.zeros(0, dtype=U64)
            layer.sort()
            parents.layers[-1] = [layer]
            frontier = layer
            if frontier.size:
                depth += 1
            ex.depth, ex.transitions = depth, transitions
            if h.stop_when_decided and _decided(ex, h, invariants, reachables):
                ex.reason = "all properties decided"
                break
        else:
            ex.complete = True
    except _Stop as stop:
        ex.reason = stop.reason
    except KeyboardInterrupt as e:
        ex.reason = control.interrupted_message(e)
        if ctl.stopped is None:
            ctl.stopped = ex.reason
    parents.seal()
    ex.depth, ex.transitions = depth, transitions
    ex.ever_enabled = ever_enabled
    ex.lefts_true = h.lefts_true


def step_block(instances: list[Any], block: np.ndarray, L: Lanes) -> tuple[
        list[np.ndarray], list[np.ndarray], np.ndarray, np.ndarray | None]:
    """Every step of `instances` from a block of states: per instance that takes one, the
    successors and the lanes (indices into the block) they come from; which states have a
    non-fault step; and which have a step that fails to evaluate (None: none)."""
    n = block.size
    alive = np.zeros(n, dtype=bool)
    failed = None
    succ: list[np.ndarray] = []
    sources: list[np.ndarray] = []
    for vi in instances:
        en, failing = vi.guard(L)
        if failing.any():
            failed = failing if failed is None else failed | failing
        lanes = np.flatnonzero(en)
        if not lanes.size:
            continue
        sub = L if lanes.size == n else Lanes(block[None, lanes])
        words, err = vi.apply(sub)
        t = words[0]
        if t.shape != lanes.shape:
            t = np.broadcast_to(t, lanes.shape)
        if err is not None and err.any():
            bad = np.zeros(n, dtype=bool)
            bad[lanes[err]] = True
            failed = bad if failed is None else failed | bad
            keep = ~np.broadcast_to(err, lanes.shape)
            lanes, t = lanes[keep], t[keep]
        if not vi.is_fault:
            alive[lanes] = True
        succ.append(t)
        sources.append(lanes)
    return succ, sources, alive, failed


class _Stop(Exception):
    def __init__(self, reason: str) -> None:
        self.reason = reason


def _between_chunks(ex: Any, ctl: Any, h: Handoff, parents: LayeredParents, depth: int, transitions: int) -> None:
    now = time.monotonic()
    ex.depth, ex.transitions = depth, transitions
    if h.progress:
        n = len(parents)
        rate = n / (now - h.start) if now > h.start else 0.0
        ctl.note(f"{n:,} states, depth {depth}, {rate:,.0f} states/s")
    if h.deadline is not None and now >= h.deadline:
        raise _Stop(h.timeout_text)
    if ctl.stopped is not None:
        raise _Stop(ctl.stopped)


def _decided(ex: Any, h: Handoff, invariants: list[Any], reachables: list[Any]) -> bool:
    """The scalar search's rule: stop once every property asked for is decided early."""
    return (bool(ex.violations or ex.witnesses or ex.type_error) and not invariants and not reachables
            and (not h.type_pending or ex.type_error is not None))


def note_enabled(never: list[Any], L: Lanes, ever: set[int]) -> list[Any]:
    """Instances still never enabled, after looking at block L (a guard that fails counts as enabled)."""
    if not never:
        return never
    keep = []
    for vi in never:
        en, failing = vi.guard(L)
        if en.any() or failing.any():
            ever.add(vi.index)
        else:
            keep.append(vi)
    return keep


def note_lefts(lefts: list[Any], L: Lanes, true: set[str]) -> list[Any]:
    keep = []
    for name, f in lefts:
        v, err = f(L)
        if (v & ~err).any():
            true.add(name)
        else:
            keep.append((name, f))
    return keep


def judge(ex: Any, interp: Interpreter, props: list[Any], L: Lanes, states: np.ndarray, *,
           want: bool) -> list[Any]:
    """Invariants (want=False: look for a violation) or `reachable`s (want=True: a witness) on a
    block of new states; what is found is confirmed on the interpreter."""
    keep = []
    for name, f in props:
        v, err = f(L)
        hit = (v & ~err) if want else (~v | err)
        if not hit.any():
            keep.append((name, f))
            continue
        s = int(states[np.argmax(hit)])
        fn = interp.properties[name]
        try:
            value, message = bool(fn(s)), None
        except EvalError as e:
            value, message = False, e.message
        if value != want:
            raise EngineBug(f"vector and reference evaluation of {name} differ at state {s:#x}")
        if want:
            ex.witnesses[name] = s
        else:
            ex.violations[name] = s
            if message is not None:
                ex.eval_errors[name] = message
    return keep


def _note_failures(ex: Any, vm: VectorModel, block: np.ndarray, failed: np.ndarray) -> None:
    bad = block[failed]
    ex.failing.update(int(s) for s in bad)
    if ex.type_error is not None:
        return
    s = int(bad[0])
    # The first failing step in the scalar search's order, and its message, from the interpreter.
    for inst in (vm.interp.instances[vi.index] for vi in vm.ordered):
        try:
            if inst.guard is None or inst.guard(s):
                inst.apply(s)
        except EvalError as e:
            ex.type_error = (s, inst.label, e.message)
            return
    raise EngineBug(f"the vector engine found a failing step at state {s:#x}; the interpreter finds none")


class LayeredParents(Mapping[int, "int | None"]):
    """The parent map of a layered search, computed on demand.

    The states the scalar search found keep their recorded parents (`prefix`); the
    rest are stored per layer, sorted. The parent of a state in layer k is the
    first state of layer k-1 (in sorted order, instances in the engine's order)
    with a step to it, found by running the vector model over layer k-1 again.
    """

    def __init__(self, prefix: dict[int, int | None], vm: VectorModel, handoff: np.ndarray) -> None:
        self.prefix = prefix
        self.vm = vm
        self.handoff = handoff  # the scalar search's last layer, which the first layer here steps from
        self.layers: list[list[np.ndarray]] = []
        self._size = len(prefix)
        self._sealed = False

    def seal(self) -> None:
        """The search is over: every layer becomes one sorted array."""
        sealed = []
        for parts in self.layers:
            layer = np.concatenate(parts) if parts else np.zeros(0, dtype=U64)
            layer.sort()
            if layer.size:
                sealed.append([layer])
        self.layers = sealed
        self._sealed = True

    def _layer(self, k: int) -> np.ndarray:
        parts = self.layers[k]
        return parts[0] if len(parts) == 1 else np.concatenate(parts)

    def __len__(self) -> int:
        return len(self.prefix) + sum(p.size for parts in self.layers for p in parts)

    def __iter__(self) -> Iterator[int]:
        yield from self.prefix
        for k in range(len(self.layers)):
            yield from (int(s) for s in self._layer(k))

    def last(self, n: int) -> list[int]:
        """The last n states found (the deepest layers first), without walking the others."""
        out: list[int] = []
        if n <= 0:
            return out
        for k in range(len(self.layers) - 1, -1, -1):
            layer = self._layer(k)
            out += [int(s) for s in layer[-(n - len(out)):]]
            if len(out) >= n:
                return out
        return out + list(self.prefix)[-(n - len(out)):]

    def nbytes(self) -> int:
        return sum(p.nbytes for parts in self.layers for p in parts)

    def _find(self, s: int) -> int | None:
        """The layer index of s (-1 for the scalar part), or None."""
        if s in self.prefix:
            return -1
        if not 0 <= s < 1 << 63:
            return None
        key = U64(s)
        for k in range(len(self.layers)):
            for part in self.layers[k]:
                if part.size and _sorted_contains(part, key):
                    return k
        return None

    def __contains__(self, s: object) -> bool:
        return isinstance(s, int) and self._find(s) is not None

    def __getitem__(self, s: int) -> int | None:
        k = self._find(s)
        if k is None:
            raise KeyError(s)
        if k == -1:
            return self.prefix[s]
        before = self.handoff if k == 0 else self._layer(k - 1)
        return self._predecessor(before, s)

    def _predecessor(self, before: np.ndarray, s: int) -> int:
        target = U64(s)
        hot = self.vm.ordered
        for lo in range(0, before.size, CHUNK):
            block = before[lo:lo + CHUNK]
            L = Lanes(block[None, :])
            best = None
            for vi in hot:
                en, _ = vi.guard(L)
                lanes = np.flatnonzero(en)
                if not lanes.size:
                    continue
                words, err = vi.apply(L if lanes.size == block.size else Lanes(block[None, lanes]))
                t = np.broadcast_to(words[0], lanes.shape)
                hit = t == target
                if err is not None:
                    hit &= ~np.broadcast_to(err, lanes.shape)
                if hit.any():
                    lane = int(lanes[np.argmax(hit)])
                    best = lane if best is None else min(best, lane)
            if best is not None:
                return int(block[best])
        raise EngineBug(f"no predecessor of state {s:#x} in the layer before it")


def _distinct(a: np.ndarray) -> np.ndarray:
    """The distinct values of a, sorted (np.unique's hash-based path is several times slower here)."""
    a.sort()
    if a.size < 2:
        return a
    keep = np.empty(a.size, dtype=bool)
    keep[0] = True
    np.not_equal(a[1:], a[:-1], out=keep[1:])
    return a[keep]


def _sorted_contains(a: np.ndarray, key: Any) -> bool:
    i = int(np.searchsorted(a, key))
    return i < a.size and a[i] == key
