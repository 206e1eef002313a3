"""What liveness costs: checking `leadsto` (fair strongly connected components on the graph with
its edges) against checking an invariant of the same spec, measured in one run (CPU seconds, best
of three) on Chandy-Lamport with M tokens under fault budgets 1 and 2.

    .venv/bin/python bench/liveness.py [--m 4 5]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from ftverify.checker.engines import explicit
from ftverify.spec.interp import Interpreter
from ftverify.spec.typecheck import load_model

SPEC = Path(__file__).resolve().parent.parent / "models" / "recovery" / "chandy_lamport.ftv"


def cpu(model, budget: int, prop: str, vector: bool | None) -> tuple[float, str, int]:  # type: ignore[no-untyped-def]
    best, verdict, states = float("inf"), "", 0
    for _ in range(3):
        t = time.process_time()
        ex = explicit.explore(Interpreter(model, budget), progress=None, wanted=[prop], stop_when_decided=False,
                              vector=vector)
        r = explicit.report_of(ex, [prop]).results[0]
        best, verdict, states = min(best, time.process_time() - t), r.verdict.value, len(ex.parent)
    return best, verdict, states


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--m", type=int, nargs="+", default=[4, 5])
    args = ap.parse_args()
    print("| M | budget | states | invariant s (data-parallel) | invariant s (scalar) | leadsto s | ratio to scalar |")
    print("|---|---|---|---|---|---|---|")
    for m in args.m:
        model = load_model(str(SPEC), {"M": m})
        for budget in (1, 2):
            inv, _, n = cpu(model, budget, "live_conservation", None)
            scalar, _, _ = cpu(model, budget, "live_conservation", False)
            live, verdict, _ = cpu(model, budget, "keeps_completing", None)
            print(f"| {m} | {budget} | {n:,} | {inv:.2f} | {scalar:.2f} | {live:.2f} ({verdict}) | {live / scalar:.1f}x |",
                  flush=True)


if __name__ == "__main__":
    main()
