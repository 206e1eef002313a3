"""What liveness costs: checking `leadsto` (fair strongly connected components on the graph with
its edges) against checking an invariant of the same spec, measured in one run (CPU seconds, best
of three) on Chandy-Lamport with M tokens under fault budgets 1 and 2; and with `--recovery`, the
symbolic engines beside the explicit one on each recovery model's eventual-recovery property and
its seeded livelock (one run each, CPU seconds, `--timeout` per engine): BMC's fair-lasso search and
PDR over the liveness-to-safety extension.

    .venv/bin/python bench/liveness.py [--m 4 5] [--recovery [--timeout 120]]
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


RECOVERY = [("minix_rs", "comes_back", "RETRYPING"), ("l4reanimator", "reconnected", "BOUNCE"),
            ("curios", "back_in_service", "BOOTLOOP"), ("checkpoint", "restarts", "RECHECK"),
            ("chandy_lamport", "keeps_completing", "ABORT")]


def _engines(model, prop, timeout: float) -> list:  # type: ignore[no-untyped-def, type-arg]
    """The three deciders of a liveness property, each a call that returns its result."""
    from ftverify.checker.engines.l2s import pdr_liveness
    from ftverify.checker.engines.lasso import lasso_bmc

    def graph():  # type: ignore[no-untyped-def]
        ex = explicit.explore(Interpreter(model, 1), progress=None, wanted=[prop.name])
        return explicit.report_of(ex, [prop.name]).results[0]

    return [graph, lambda: lasso_bmc(model, 1, prop, 20, timeout), lambda: pdr_liveness(model, 1, prop, timeout)]


def recovery(timeout: float) -> None:
    print("| model | variant | explicit s | bmc lasso s (depth 20) | pdr s (liveness to safety) |")
    print("|---|---|---|---|---|")
    for name, prop_name, seed in RECOVERY:
        for seeded in (False, True):
            model = load_model(str(SPEC.parent / f"{name}.ftv"), {seed: seeded})
            prop = model.property(prop_name)
            cells = []
            for run in _engines(model, prop, timeout):
                t = time.process_time()
                r = run()
                cells.append(f"{time.process_time() - t:.2f} ({r.verdict.value})")
            print(f"| {name} | {seed if seeded else 'correct'} | {' | '.join(cells)} |", flush=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--m", type=int, nargs="+", default=[4, 5])
    ap.add_argument("--recovery", action="store_true", help="the symbolic engines on the recovery models")
    ap.add_argument("--timeout", type=float, default=120.0)
    args = ap.parse_args()
    if args.recovery:
        recovery(args.timeout)
        return
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
