"""The capability kernel's proofs at growing configurations, each with a time budget.

    PYTHONPATH=. .venv/bin/python bench/kernel_scaling.py [--budget 60] [--threads 3 4]

For 3 and 4 threads (6 and 8 capability slots; the spec's derivation tree is
exact up to 8 slots): the inductiveness check of each family of kernel invariants
as proofs/kernel.ftv proves them (one check per family, re-check included), and
BMC of all of them at once to depth 12. With 8 slots a cycle can be eight long,
one more than `cdt_acyclic` looks, so there the tree family also assumes
`chains_end`. A run that does not finish in the budget is `unknown`.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from ftverify.checker.engines.portfolio import EngineOptions, prove_property
from ftverify.spec.typecheck import load_model

SPEC = Path(__file__).resolve().parent.parent / "models" / "kernel" / "abstract.ftv"
FAMILIES = {
    "derivation tree (cdt_valid, cdt_acyclic, no_amplification)":
        ["cdt_valid", "cdt_acyclic", "no_amplification", "canonical"],
    "confined, integrity": ["confined", "integrity", "canonical"],
    "revoke_complete": ["revoke_complete"],
}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--budget", type=float, default=60.0)
    ap.add_argument("--threads", type=int, nargs="+", default=[3, 4])
    args = ap.parse_args()
    print("| threads | slots | check | verdict | seconds |")
    print("|---|---|---|---|---|")
    for threads in args.threads:
        model = load_model(str(SPEC), {"THREADS": threads})
        slots = 2 * threads
        for label, family in FAMILIES.items():
            if family[0] == "cdt_valid" and slots > 7:
                family = [*family, "chains_end"]
            helpers = [(h, model.property(h).pred) for h in family[1:]]
            t0 = time.perf_counter()
            r = prove_property(model, 1, family[0], "induction", EngineOptions(timeout=args.budget, progress=None),
                               helpers)
            print(f"| {threads} | {slots} | induction: {label} | {r.verdict} | {time.perf_counter() - t0:.1f} |",
                  flush=True)
        t0 = time.perf_counter()
        r = prove_property(model, 1, "kernel_safe", "bmc",
                           EngineOptions(depth=12, timeout=args.budget, progress=None))
        print(f"| {threads} | {slots} | BMC to depth 12, all at once | {r.verdict} | "
              f"{time.perf_counter() - t0:.1f} |", flush=True)


if __name__ == "__main__":
    main()
