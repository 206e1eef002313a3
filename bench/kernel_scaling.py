"""The capability kernel's proofs at growing configurations, each with a time budget.

    PYTHONPATH=. .venv/bin/python bench/kernel_scaling.py [--budget 60]

For 3 and 4 threads (6 and 8 capability slots; the spec's derivation tree is
exact up to 8 slots): the inductiveness check of the six kernel invariants with
their helpers (one check proves all six, re-check included), and BMC of all of
them at once to depth 12. A run that does not finish in the budget is `unknown`.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from ftverify.checker.engines.portfolio import EngineOptions, prove_property
from ftverify.spec.typecheck import load_model

SPEC = Path(__file__).resolve().parent.parent / "models" / "kernel" / "abstract.ftv"
FAMILY = ["cdt_valid", "cdt_acyclic", "no_amplification", "revoke_complete", "confined", "integrity",
          "canonical", "parity_bounded", "rights_inc_ancestors", "chains_end"]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--budget", type=float, default=60.0)
    args = ap.parse_args()
    print("| threads | slots | check | verdict | seconds |")
    print("|---|---|---|---|---|")
    for threads in (3, 4):
        model = load_model(str(SPEC), {"THREADS": threads})
        helpers = [(h, model.property(h).pred) for h in FAMILY[1:]]
        t0 = time.perf_counter()
        r = prove_property(model, 1, FAMILY[0], "induction", EngineOptions(timeout=args.budget, progress=None),
                           helpers)
        print(f"| {threads} | {2 * threads} | induction, 6 invariants + helpers | {r.verdict} | "
              f"{time.perf_counter() - t0:.1f} |", flush=True)
        t0 = time.perf_counter()
        r = prove_property(model, 1, "kernel_safe", "bmc",
                           EngineOptions(depth=12, timeout=args.budget, progress=None))
        print(f"| {threads} | {2 * threads} | BMC to depth 12, all at once | {r.verdict} | "
              f"{time.perf_counter() - t0:.1f} |", flush=True)


if __name__ == "__main__":
    main()
