"""What symmetry reduction saves: states and wall time of the explicit engine with and without
`symmetric enum`, on replicated models at 3, 4 and 5 replicas, measured in one run (best of three;
"full" is the default engine, which goes data-parallel on large layers; "reduced" canonicalises
every successor, see checker/engines/symmetry.py). The verdicts must be the same.

    .venv/bin/python bench/symmetry.py [--replicas 3 4 5]
"""

from __future__ import annotations

import argparse
import re
import time
from pathlib import Path

from ftverify.checker.engines import explicit
from ftverify.spec.interp import Interpreter
from ftverify.spec.typecheck import check_text

ROOT = Path(__file__).resolve().parent.parent
TCOMMIT = (ROOT / "models" / "classic" / "tcommit.ftv").read_text()
# Replicas that each work, fail (a fault) and are restarted, with a leader chosen among the live ones.
REPLICATED = """spec Replicated
symmetric enum R { MEMBERS }
enum Phase { Idle, Busy, Done, Failed }
var phase: [R] Phase
var done: set[R]
var leader: R
init { (forall r: R. phase[r] == Idle) && done == {} }
action start(r: R) when phase[r] == Idle { phase[r] := Busy }
action finish(r: R) when phase[r] == Busy { phase[r] := Done; done := done | {r} }
action elect(r: R) when phase[r] != Failed && !(leader in done) { leader := r }
action restart(r: R) when phase[r] == Failed { phase[r] := Idle }
fault crash(r: R) budget 2 when phase[r] != Failed { phase[r] := Failed; done := done - {r} }
invariant done_means_done: forall r in done. phase[r] == Done
recovers back: from true to forall r: R. phase[r] != Failed
"""


def with_replicas(text: str, n: int, enum_line: str) -> str:
    members = ", ".join(f"r{i + 1}" for i in range(n))
    return re.sub(enum_line, f"symmetric enum RM {{ {members} }}" if "RM" in enum_line else
                  f"symmetric enum R {{ {members} }}", text)


def run(text: str, symmetry: bool) -> tuple[float, int, dict[str, str]]:
    best, states, verdicts = float("inf"), 0, {}
    for _ in range(3):
        m = check_text(text, "<bench>")
        t = time.perf_counter()
        rep = explicit.check(Interpreter(m), progress=None, stop_when_decided=False, symmetry=symmetry)
        best = min(best, time.perf_counter() - t)
        states, verdicts = rep.stats["states"], {r.property: r.verdict.value for r in rep.results}
    return best, states, verdicts


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--replicas", type=int, nargs="+", default=[3, 4, 5])
    args = ap.parse_args()
    print("| model | replicas | states (full) | states (up to symmetry) | fewer | time full | time reduced |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for name, text, line in (("TCommit", TCOMMIT, r"symmetric enum RM \{[^}]*\}"),
                             ("replicated workers", REPLICATED, r"symmetric enum R \{ MEMBERS \}")):
        for n in args.replicas:
            spec = with_replicas(text, n, line)
            t_full, s_full, v_full = run(spec, False)
            t_red, s_red, v_red = run(spec, True)
            assert v_full == v_red, (name, n, v_full, v_red)
            print(f"| {name} | {n} | {s_full:,} | {s_red:,} | {s_full / s_red:.1f}x | {t_full:.2f} s | "
                  f"{t_red:.2f} s |", flush=True)


if __name__ == "__main__":
    main()
