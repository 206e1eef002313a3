"""The capability kernel's proofs at growing configurations, each with a time budget.

    PYTHONPATH=. .venv/bin/python bench/kernel_scaling.py [--budget 60] [--sizes 3x2 4x2 4x3] [--depth 12]

For each size (threads x slots per thread): the inductiveness check of each
family of kernel invariants as proofs/kernel.ftv proves them (one check per
family, re-check included), the parity-protected kernel's confinement and
integrity under a flip of capability storage, BMC of all the invariants at once,
and the refinement of the abstract kernel by the concrete one (its three parts,
re-checks included). The specs keep the derivation tree's ancestry as ghost state
and prove it exact, so the invariants mean the same at every size. A run that does
not finish in the budget is `unknown`.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from ftverify.checker.engines import refine
from ftverify.checker.engines.portfolio import EngineOptions, prove_property
from ftverify.spec.budget import budget_for
from ftverify.spec.typecheck import load_model

KERNEL = Path(__file__).resolve().parent.parent / "models" / "kernel"
SPEC = KERNEL / "abstract.ftv"
FAMILIES = {
    "derivation tree (cdt_valid, cdt_acyclic, ancestry, no_amplification)":
        ({}, ["cdt_valid", "cdt_acyclic", "ancestry", "no_amplification", "anc_valid", "anc_transitive",
              "canonical"]),
    "confined, integrity": ({}, ["confined", "integrity", "canonical"]),
    "revoke_complete": ({}, ["revoke_complete"]),
    "with parity, one flip in capability storage: confined, integrity":
        ({"CAP_FAULTS": True, "PARITY": True}, ["confined", "integrity", "canonical", "parity_bounded"]),
}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--budget", type=float, default=60.0)
    ap.add_argument("--sizes", nargs="+", default=["3x2", "4x2", "4x3"])
    ap.add_argument("--depth", type=int, default=12, help="BMC depth")
    args = ap.parse_args()
    print("| threads x slots | check | verdict | seconds |")
    print("|---|---|---|---|")
    for size in args.sizes:
        threads, per = map(int, size.split("x"))
        consts = {"THREADS": threads, "SLOTS_PER_THREAD": per}
        for label, (extra, family) in FAMILIES.items():
            model = load_model(str(SPEC), {**consts, **extra})
            helpers = [(h, model.property(h).pred) for h in family[1:]]
            t0 = time.perf_counter()
            r = prove_property(model, 1, family[0], "induction", EngineOptions(timeout=args.budget, progress=None),
                               helpers)
            print(f"| {size} | induction: {label} | {r.verdict} | {time.perf_counter() - t0:.1f} |", flush=True)
        model = load_model(str(SPEC), consts)
        t0 = time.perf_counter()
        r = prove_property(model, 1, "kernel_safe", "bmc",
                           EngineOptions(depth=args.depth, timeout=args.budget, progress=None))
        print(f"| {size} | BMC to depth {args.depth}, every invariant at once | {r.verdict} | "
              f"{time.perf_counter() - t0:.1f} |", flush=True)
        concrete = load_model(str(KERNEL / "concrete.ftv"), consts)
        t0 = time.perf_counter()
        rep = refine.check(concrete, refine.find(concrete), budget_for(concrete, None), timeout=args.budget)
        print(f"| {size} | refinement: the concrete kernel refines the abstract one | {rep.verdict} | "
              f"{time.perf_counter() - t0:.1f} |", flush=True)


if __name__ == "__main__":
    main()
