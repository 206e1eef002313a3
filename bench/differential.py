"""Differential testing at scale: thousands of generated specs, every engine against explicit,
and the Z3 encoding (each integer representation) against the interpreter, expression by expression,
and the data-parallel explicit search against the scalar one.

The CI test (tests/checker/test_differential.py) runs about 300 specs; this runs as
many as asked and prints how many verdicts were compared, how many expression
evaluations agreed, and how often each engine could not decide (allowed: a CTI,
or no witness within BMC's depth).

    .venv/bin/python bench/differential.py [--specs 3000] [--seed 1]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from hypothesis import HealthCheck, given, seed, settings
from hypothesis import strategies as st

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from ftverify.spec.errors import SpecError
from ftverify.spec.typecheck import check_text

from tests.differential import Agreement, check_agreement, check_encoding, check_layered
from tests.strategies import specs


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--specs", type=int, default=3000)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    tally = Agreement()
    counted = {"specs": 0, "rejected": 0}

    @seed(args.seed)
    @settings(max_examples=args.specs, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    @given(specs(), st.integers(0, 2))
    def run(text: str, budget: int) -> None:
        try:
            model = check_text(text, "<generated>")
        except SpecError:
            counted["rejected"] += 1
            return
        counted["specs"] += 1
        budget = budget if model.has_faults else 0
        check_encoding(model, budget, tally=tally)
        check_agreement(model, budget, tally=tally)
        check_layered(model, budget, tally=tally)

    start = time.perf_counter()
    run()
    print(f"{counted['specs']} specs ({counted['rejected']} generated texts rejected by the type checker), "
          f"{tally.checked} verdicts agreed with explicit exploration, {tally.evaluations:,} expression "
          f"evaluations of the encoding agreed with the interpreter, {time.perf_counter() - start:.0f} s")
    print(f"data-parallel explicit search: {tally.layered} explorations equal to the scalar one "
          f"({tally.wide} wider than 63 bits and {tally.scalar_only} refused by the vector compiler stay scalar)")
    print("undecided (allowed):", ", ".join(f"{k} {v}" for k, v in sorted(tally.unknown.items())) or "none")


if __name__ == "__main__":
    main()
