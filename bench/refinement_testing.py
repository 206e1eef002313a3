"""Refinement testing of the executable kernel: checked calls per second, the depth the
bounded exhaustive check reaches in 60 s, against the raw cost of the calls alone, and how
long the default settings take to find each seeded bug (tests/kernel_impl/mutants.py).

    PYTHONPATH=. .venv/bin/python bench/refinement_testing.py [--budget 60] [--seeds 4]

The raw baseline performs the same calls on the kernel without abstracting or checking,
so the ratio is what checking every step against the spec costs.
"""

from __future__ import annotations

import argparse
import random
import time

from ftverify.checker.engines import conformance as C
from ftverify.kernel_impl import KernelAdapter

from tests.kernel_impl import mutants as Mu


def raw_calls_per_second(n: int = 20000) -> float:
    calls = KernelAdapter.all_calls()
    rng = random.Random(1)
    start = time.perf_counter()
    done = 0
    while done < n:
        a = KernelAdapter()
        for _ in range(30):
            a.perform(rng.choice(calls))
            done += 1
    return done / (time.perf_counter() - start)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--budget", type=float, default=60.0, help="seconds for the exhaustive check")
    ap.add_argument("--seeds", type=int, default=4, help="seeds per seeded bug")
    args = ap.parse_args()
    raw = raw_calls_per_second()
    chk = C.Checker(KernelAdapter)
    for label in ("fresh", "second run, spec answers remembered"):
        out = C.random_test(KernelAdapter, checker=chk)
        print(f"default refinement test ({label}): {out.calls:,} calls in {out.runs:,} runs, {out.seconds:.1f} s = "
              f"{out.calls_per_second:,.0f} checked calls/s (raw kernel calls: {raw:,.0f}/s, "
              f"ratio {raw / out.calls_per_second:.1f}x)")
    for mutant in Mu.ALL:
        times = []
        for seed in range(args.seeds):
            found = C.random_test(C.bind(KernelAdapter, mutant, mutant.__name__), seed=seed)
            times.append(f"{found.found_after:.1f} s ({len(found.divergence.calls)} calls)"
                         if found.divergence is not None else "not found")
        print(f"  {mutant.__name__}: " + ", ".join(times))
    depth, last = 1, None
    while True:
        ex = C.exhaustive_test(KernelAdapter, depth, timeout=args.budget, checker=chk)
        if not ex.complete:
            break
        last = ex
        print(f"exhaustive depth {depth}: {ex.states:,} distinct spec states, {ex.calls:,} calls, "
              f"{ex.seconds:.1f} s, {ex.calls_per_second:,.0f} calls/s")
        if ex.seconds * 8 > args.budget:  # the next depth would not finish in the budget
            break
        depth += 1
    if last is not None:
        print(f"deepest complete exhaustive check within {args.budget:g} s: depth {last.depth}")


if __name__ == "__main__":
    main()
