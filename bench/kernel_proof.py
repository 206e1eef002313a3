"""The bounded proof of the executable kernel (`refine --impl ... --prove`): each handler's
paths, solver queries and time, the whole proof's wall time with 1 and 2 worker processes,
and the time to refute each seeded bug (tests/kernel_impl/mutants.py) in its handler.

    PYTHONPATH=. .venv/bin/python bench/kernel_proof.py [--jobs 2] [--skip-serial]
"""

from __future__ import annotations

import argparse
import time

from ftverify.checker.commands.jobs import prove_handlers
from ftverify.checker.engines import conformance as C
from ftverify.checker.engines import implproof as IP
from ftverify.kernel_impl import KernelAdapter

from tests.kernel_impl import mutants as Mu
from tests.kernel_impl.test_prove import WHERE


def row(r: IP.HandlerResult) -> str:
    return f"  {r.handler:<12} {r.calls:>5} calls {r.paths:>7,} paths {r.queries:>8,} queries {r.seconds:>7.1f} s  " \
           f"{r.verdict}"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--skip-serial", action="store_true", help="only the parallel run")
    args = ap.parse_args()
    names = IP.handler_names(KernelAdapter)
    if not args.skip_serial:
        t0 = time.perf_counter()
        rep = IP.prove(KernelAdapter, on_result=lambda r: print(row(r), flush=True))
        serial = time.perf_counter() - t0
        print(f"every handler, one process: {serial:.0f} s, "
              f"{sum(r.verdict == 'proved' for r in rep.results)} of {len(names)} proved")
    t0 = time.perf_counter()
    rep = prove_handlers("ftverify.kernel_impl:Kernel", None, {}, names, args.jobs,
                         (lambda r: None) if not args.skip_serial else (lambda r: print(row(r), flush=True)))
    print(f"every handler, {args.jobs} processes: {time.perf_counter() - t0:.0f} s, "
          f"{sum(r.verdict == 'proved' for r in rep.results)} of {len(names)} proved")
    for mutant in Mu.ALL:
        t0 = time.perf_counter()
        (r,) = IP.prove(C.bind(KernelAdapter, mutant, mutant.__name__), handlers=[WHERE[mutant.__name__]]).results
        call = r.counterexample.call if r.counterexample else None
        print(f"  {mutant.__name__}: {r.verdict} in {time.perf_counter() - t0:.1f} s ({r.handler}, {call})")


if __name__ == "__main__":
    main()
