"""How much of a symbolic check is our code, and how much is Z3 itself.

For BMC to depth 20 and PDR on the classic models and the scalable models, the
share of wall time spent outside `Solver.check` / `Fixedpoint.query` (encoding,
substitution, reading traces back, replaying them, printing invariants; the
independent re-checks are solver calls and count as solver time). Then
incremental BMC against re-encoding with a fresh solver at every depth.

    .venv/bin/python bench/symbolic_overhead.py [--depth 20] [--fresh-depth 30]
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import z3
from ftverify.checker.engines.bmc import bmc, fresh_bmc_time
from ftverify.checker.engines.pdr import pdr
from ftverify.spec.typecheck import load_model

ROOT = Path(__file__).resolve().parent.parent
SOLVER_TIME = [0.0]


def _timed(method: Callable[..., Any]) -> Callable[..., Any]:
    def wrapper(*args: Any, **kw: Any) -> Any:
        t = time.perf_counter()
        try:
            return method(*args, **kw)
        finally:
            SOLVER_TIME[0] += time.perf_counter() - t
    return wrapper


z3.Solver.check = _timed(z3.Solver.check)  # type: ignore[method-assign]
z3.Fixedpoint.query = _timed(z3.Fixedpoint.query)  # type: ignore[method-assign]

CASES = [
    ("classic/peterson.ftv", 0, "mutex", {}),
    ("classic/twophase.ftv", 0, "consistent", {}),
    ("classic/tcommit.ftv", 0, "consistent", {}),
    ("classic/tmr.ftv", 1, "masked", {}),
    ("bench:token_ring.ftv", 0, "mutex", {"N": 6}),
    ("bench:token_ring.ftv", 0, "mutex", {"N": 10}),
    ("bench:token_ring.ftv", 0, "mutex", {"N": 14}),
]


def load(path: str, consts: dict[str, int]) -> Any:
    if path.startswith("bench:"):
        return load_model(str(ROOT / "bench" / path[6:]), consts)
    return load_model(str(ROOT / "models" / path), consts)


def measure(run: Callable[[], Any]) -> tuple[float, float]:
    SOLVER_TIME[0] = 0.0
    t = time.perf_counter()
    run()
    total = time.perf_counter() - t
    return total, SOLVER_TIME[0]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--depth", type=int, default=20)
    ap.add_argument("--fresh-depth", type=int, default=30)
    args = ap.parse_args()
    print("| model | engine | wall s | in Z3 s | outside Z3 |")
    print("|---|---|---|---|---|")
    worst = 0.0
    for path, budget, prop, consts in CASES:
        model = load(path, consts)
        label = path.split("/")[-1].split(":")[-1] + (f" N={consts['N']}" if consts else "")
        runs: list[tuple[str, Callable[[], Any]]] = [
            ("bmc", lambda m=model, b=budget, p=prop: bmc(m, b, args.depth, [p])),
            ("pdr", lambda m=model, b=budget, p=prop: pdr(m, b, p, timeout=120)),
        ]
        for engine, run in runs:
            total, solver = measure(run)
            share = 1 - solver / total if total else 0.0
            worst = max(worst, share)
            print(f"| {label} | {engine}{' ' + str(args.depth) if engine == 'bmc' else ''} | {total:.3f} | "
                  f"{solver:.3f} | {share:.1%} |", flush=True)
    print(f"\nlargest share of time outside Z3: {worst:.1%} (target < 15%)\n")
    print("| model | incremental BMC s | fresh solver per depth s | ratio |")
    print("|---|---|---|---|")
    for path, budget, prop, consts in CASES[:5]:
        model = load(path, consts)
        label = path.split("/")[-1].split(":")[-1] + (f" N={consts['N']}" if consts else "")
        t = time.perf_counter()
        bmc(model, budget, args.fresh_depth, [prop])
        inc = time.perf_counter() - t
        fresh = fresh_bmc_time(model, budget, args.fresh_depth, [prop])
        print(f"| {label} | {inc:.3f} | {fresh:.3f} | {fresh / inc:.1f}x |", flush=True)
    print(f"\nBMC to depth {args.fresh_depth}; ratio = fresh / incremental (target >= 3x)")


if __name__ == "__main__":
    main()
