"""What a fault-coverage campaign costs, against exploring the same spec once.

For every shipped recovery and redundancy model (and TMR) at fault budgets 1
and 2: the CPU time of `faults.run` (one exploration recording every step,
the backward searches, one witness per injection, each replayed) and of the
explicit engine checking every property of the same spec under the same
budget, measured in one run, and their ratio (the goal: at most 3x).

    .venv/bin/python bench/faults_campaign.py [--repeat 3]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from ftverify.checker.engines import campaign as FC
from ftverify.checker.engines import explicit
from ftverify.spec.interp import Interpreter
from ftverify.spec.typecheck import load_model

ROOT = Path(__file__).resolve().parent.parent
MODELS = sorted([*(ROOT / "models" / "recovery").glob("*.ftv"), *(ROOT / "models" / "redundancy").glob("*.ftv"),
                 ROOT / "models" / "classic" / "tmr.ftv"])


def cpu(fn: object, repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        t = time.process_time()
        fn()  # type: ignore[operator]
        best = min(best, time.process_time() - t)
    return best


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repeat", type=int, default=3, help="best of this many runs")
    args = ap.parse_args()
    print(f"{'model':<22} {'budget':>6} {'states':>8} {'injections':>10} {'campaign s':>10} {'explicit s':>10} "
          f"{'ratio':>6}")
    worst = 0.0
    for path in MODELS:
        model = load_model(str(path))
        for budget in (1, 2):
            camp = FC.run(model, budget, progress=None)
            t_camp = cpu(lambda: FC.run(model, budget, progress=None), args.repeat)  # noqa: B023
            t_expl = cpu(lambda: explicit.check(Interpreter(model, budget), progress=None,  # noqa: B023
                                                stop_when_decided=False), args.repeat)
            ratio = t_camp / t_expl
            worst = max(worst, ratio)
            print(f"{model.name:<22} {budget:>6} {camp.states:>8,} {len(camp.injections):>10,} {t_camp:>10.3f} "
                  f"{t_expl:>10.3f} {ratio:>6.2f}")
    print(f"largest ratio: {worst:.2f}")


if __name__ == "__main__":
    main()
