"""When does a symbolic proof beat exhaustive exploration?

On bench/token_ring.ftv (N processes, one token, about 1.5 * N * 2^N states),
for growing N, one run times the proof of mutual exclusion by:

* ftverify's explicit engine (the whole reachable state space),
* SPIN (Debian's `spin`; the same protocol in Promela, the invariant as an
  assertion at the only step that can break it; pan compiled with gcc -O2),
* ftverify's PDR (Spacer; its invariant re-checked as usual),

prints the table and the N at which PDR becomes faster than each explorer, and
draws docs/symbolic_vs_explicit.png (needs matplotlib: pip install '.[bench]').

    .venv/bin/python bench/symbolic_vs_explicit.py [--max-explicit 16] [--max-n 24]
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from ftverify.checker.engines import explicit
from ftverify.checker.engines.pdr import pdr
from ftverify.checker.output.result import Verdict
from ftverify.spec.interp import Interpreter
from ftverify.spec.typecheck import load_model

ROOT = Path(__file__).resolve().parent.parent


def promela(n: int) -> str:
    crit = " + ".join(f"(pc[{i}] == 2)" for i in range(n))
    opts = []
    for i in range(n):
        nxt = (i + 1) % n
        opts += [
            f"  :: d_step {{ pc[{i}] == 0 -> pc[{i}] = 1 }}",
            f"  :: d_step {{ pc[{i}] == 1 && token == {i} -> pc[{i}] = 2; assert({crit} <= 1) }}",
            f"  :: d_step {{ pc[{i}] == 2 -> pc[{i}] = 0; token = {nxt} }}",
            f"  :: d_step {{ token == {i} && pc[{i}] != 2 -> token = {nxt} }}",
        ]
    return f"byte pc[{n}];\nbyte token;\nactive proctype ring() {{\n  do\n" + "\n".join(opts) + "\n  od\n}\n"


def run_spin(n: int, work: Path) -> tuple[float, int] | None:
    if not shutil.which("spin"):
        return None
    d = work / f"ring{n}"
    d.mkdir(exist_ok=True)
    (d / "ring.pml").write_text(promela(n))
    t = time.perf_counter()
    subprocess.run(["spin", "-a", "ring.pml"], cwd=d, check=True, capture_output=True)
    subprocess.run(["gcc", "-O2", "-DSAFETY", "-DNOREDUCE", "-DMEMLIM=16384", "-o", "pan", "pan.c"], cwd=d,
                   check=True, capture_output=True)
    compile_s = time.perf_counter() - t
    t = time.perf_counter()
    out = subprocess.run(["./pan", "-m10000000"], cwd=d, check=True, capture_output=True, text=True).stdout
    run_s = time.perf_counter() - t
    assert "errors: 0" in out, out
    states = int(float(re.search(r"([\d.e+]+) states, stored", out).group(1)))  # type: ignore[union-attr]
    return compile_s + run_s, states


def run_explicit(n: int) -> tuple[float, int]:
    m = load_model(str(ROOT / "bench" / "token_ring.ftv"), {"N": n})
    t = time.perf_counter()
    ex = explicit.explore(Interpreter(m, 0), progress=None, stop_when_decided=False)
    r = explicit.report_of(ex, ["mutex"]).results[0]
    assert r.verdict == Verdict.PROVED
    return time.perf_counter() - t, len(ex.parent)


def run_pdr(n: int, timeout: float) -> float | None:
    m = load_model(str(ROOT / "bench" / "token_ring.ftv"), {"N": n})
    t = time.perf_counter()
    r = pdr(m, 0, "mutex", timeout=timeout)
    if r.verdict != Verdict.PROVED:
        return None
    return time.perf_counter() - t


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--ns", default="4,6,8,10,12,14,16,18,20,24,28")
    ap.add_argument("--max-explicit", type=int, default=16)
    ap.add_argument("--max-spin", type=int, default=18)
    ap.add_argument("--timeout", type=float, default=300)
    ap.add_argument("--plot", default=str(ROOT / "docs" / "symbolic_vs_explicit.png"))
    args = ap.parse_args()
    ns = [int(x) for x in args.ns.split(",")]
    work = Path(tempfile.mkdtemp(prefix="ftverify-ring-"))
    rows = []
    print("| N | states | ftverify explicit s | SPIN s (compile + run) | PDR s | PDR / explicit | PDR / SPIN |", flush=True)
    print("|---|---|---|---|---|---|---|")
    for n in ns:
        ex = run_explicit(n) if n <= args.max_explicit else None
        sp = run_spin(n, work) if n <= args.max_spin else None
        pd = run_pdr(n, args.timeout)
        states = 3 * n * 2 ** n // 2  # N * 2^N idle/waiting patterns, plus the holder in its critical section
        assert ex is None or ex[1] == states, (n, ex)
        assert sp is None or sp[1] == states, (n, sp)
        rows.append((n, ex[0] if ex else None, sp[0] if sp else None, pd))

        def fmt(x: float | None) -> str:
            return f"{x:.2f}" if x is not None else "-"

        ratio_e = f"{pd / ex[0]:.2f}" if pd and ex else "-"
        ratio_s = f"{pd / sp[0]:.2f}" if pd and sp else "-"
        print(f"| {n} | {states:,} | {fmt(ex[0] if ex else None)} | "
              f"{fmt(sp[0] if sp else None)} | {fmt(pd)} | {ratio_e} | {ratio_s} |", flush=True)
    shutil.rmtree(work, ignore_errors=True)
    for idx, name in ((1, "ftverify's explicit engine"), (2, "SPIN (compile + run)")):
        both = [(n, t[idx - 1], t[2]) for n, *t in rows if t[idx - 1] is not None and t[2] is not None]
        # The smallest N from which PDR stays faster for every larger N measured.
        cross = next((n for i, (n, _, _) in enumerate(both) if all(p < e for _, e, p in both[i:])), None)
        print(f"PDR is faster than {name} from N = {cross} on" if cross else
              f"PDR is not faster than {name} for the N measured")
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("(matplotlib not installed: no plot; pip install '.[bench]')")
        return
    fig, ax = plt.subplots(figsize=(7, 4.2))
    for idx, label, style in ((1, "ftverify explicit", "o-"), (2, "SPIN (compile + run)", "s-"), (3, "ftverify PDR", "^-")):
        pts = [(n, t[idx - 1]) for n, *t in rows if t[idx - 1] is not None]
        ax.plot([p[0] for p in pts], [p[1] for p in pts], style, label=label)
    ax.set_yscale("log")
    ax.set_xlabel("N (processes in the token ring; about 1.5 N 2^N states)")
    ax.set_ylabel("seconds to prove mutual exclusion")
    ax.set_title("Exhaustive exploration against PDR")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(args.plot, dpi=110)
    print(f"wrote {args.plot}")


if __name__ == "__main__":
    main()
