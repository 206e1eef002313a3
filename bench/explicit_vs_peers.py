"""The explicit engine against the floor for Python and against SPIN, side by side.

For the scalable model bench/counters.ftv (N counters over 0..K, (K+1)^N states)
and N = 4..10, one run measures:

* ftverify's explicit engine (`explicit.explore`, the code behind `prove`);
* a hand-written pure-Python BFS over tuples of the same model: the floor for
  an explorer written in Python;
* SPIN (Debian's `spin`, `apt-get install spin`) on the same model in Promela,
  compiled with gcc -O2 and run as a safety check; its time is the larger of
  pan's own elapsed time and the wall time of the run (pan's clock reads 0 for
  small models, and its start-up allocates a 128 MB hash table).

It prints states/s, bytes per state and the ratios. Run:
    .venv/bin/python bench/explicit_vs_peers.py [--max-n 10] [--k 3] [--repeat 3]
"""

from __future__ import annotations

import argparse
import gc
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

from ftverify.checker.engines import explicit
from ftverify.spec.interp import Interpreter
from ftverify.spec.typecheck import load_model

HERE = Path(__file__).resolve().parent


def engine(n: int, k: int, repeat: int) -> tuple[int, float, float]:
    model = load_model(str(HERE / "counters.ftv"), {"N": n, "K": k})
    interp = Interpreter(model, 0)
    best = float("inf")
    states = 0
    for _ in range(repeat):
        gc.collect()
        t = time.perf_counter()
        ex = explicit.explore(interp, progress=None, stop_when_decided=False)
        best = min(best, time.perf_counter() - t)
        states = len(ex.parent)
        del ex
    gc.collect()
    tracemalloc.start()
    ex = explicit.explore(interp, progress=None, stop_when_decided=False)
    retained, _ = tracemalloc.get_traced_memory()  # while `ex` is alive
    tracemalloc.stop()
    assert len(ex.parent) == states
    return states, best, retained / states


def tuple_bfs(n: int, k: int) -> dict[tuple[int, ...], tuple[int, ...] | None]:
    """The same model by hand: tuples, a parent dict, one level at a time."""
    init = (0,) * n
    seen: dict[tuple[int, ...], tuple[int, ...] | None] = {init: None}
    frontier = [init]
    while frontier:
        nxt = []
        for s in frontier:
            for i in range(n):
                v = s[i]
                t = (*s[:i], v + 1 if v < k else 0, *s[i + 1:])
                if t not in seen:
                    seen[t] = s
                    nxt.append(t)
        frontier = nxt
    return seen


def floor(n: int, k: int, repeat: int) -> tuple[int, float, float]:
    best = float("inf")
    states = 0
    for _ in range(repeat):
        gc.collect()
        t = time.perf_counter()
        seen = tuple_bfs(n, k)
        best = min(best, time.perf_counter() - t)
        states = len(seen)
        del seen
    gc.collect()
    tracemalloc.start()
    seen = tuple_bfs(n, k)
    retained, _ = tracemalloc.get_traced_memory()  # while `seen` is alive
    tracemalloc.stop()
    assert len(seen) == states
    return states, best, retained / states


def promela(n: int, k: int) -> str:
    options = []
    for i in range(n):
        options.append(f"  :: d_step {{ c[{i}] < {k} -> c[{i}]++ }}")
        options.append(f"  :: d_step {{ c[{i}] == {k} -> c[{i}] = 0 }}")
    return (f"byte c[{n}];\nactive proctype counters() {{\n  do\n" + "\n".join(options) + "\n  od\n}\n")


def spin(n: int, k: int, work: Path) -> tuple[int, float, float] | None:
    if not shutil.which("spin") or not shutil.which("gcc"):
        return None
    d = work / f"spin-{n}"
    d.mkdir(exist_ok=True)
    (d / "model.pml").write_text(promela(n, k))
    subprocess.run(["spin", "-a", "model.pml"], cwd=d, check=True, capture_output=True)
    subprocess.run(["gcc", "-O2", "-DSAFETY", "-DNOREDUCE", "-DMEMLIM=8192", "-o", "pan", "pan.c"], cwd=d,
                   check=True, capture_output=True)
    t = time.perf_counter()
    out = subprocess.run(["./pan", "-m1000000"], cwd=d, check=True, capture_output=True, text=True).stdout
    wall = time.perf_counter() - t
    states = int(re.search(r"([\d.e+]+) states, stored", out).group(1).split(".")[0])  # type: ignore[union-attr]
    # pan reports its search time with a coarse clock (0 for small models): take
    # the larger of it and the wall time of the whole run.
    elapsed = max(float(re.search(r"pan: elapsed time ([\d.e+-]+) seconds", out).group(1)), wall)  # type: ignore[union-attr]
    mem = re.search(r"([\d.]+)\s+actual memory usage for states", out)
    # Bytes per stored state as pan counts them (state vectors and their hash
    # chaining, without the fixed hash table and DFS stack it preallocates).
    per_state = float(mem.group(1)) * 1024 * 1024 / max(states, 1) if mem else float("nan")
    return states, elapsed, per_state


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--min-n", type=int, default=4)
    ap.add_argument("--max-n", type=int, default=10)
    ap.add_argument("--k", type=int, default=3)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="ftverify-bench-"))
    have_spin = shutil.which("spin") is not None
    print(f"counters model, K = {args.k}; best of {args.repeat}; python {sys.version.split()[0]}; "
          f"spin {'found' if have_spin else 'NOT FOUND (apt-get install spin)'}")
    header = ("N", "states", "ftverify st/s", "tuple BFS st/s", "spin st/s", "ftverify/BFS", "ftverify/spin",
              "B/state ftv", "B/state BFS", "B/state spin")
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    for n in range(args.min_n, args.max_n + 1):
        s1, t1, b1 = engine(n, args.k, args.repeat)
        s2, t2, b2 = floor(n, args.k, args.repeat)
        assert s1 == s2 == (args.k + 1) ** n, (s1, s2)
        sp = spin(n, args.k, work) if have_spin else None
        r1, r2 = s1 / t1, s2 / t2
        row = [str(n), f"{s1:,}", f"{r1:,.0f}", f"{r2:,.0f}"]
        if sp is not None:
            s3, t3, b3 = sp
            assert s3 == s1, f"spin stored {s3} states, ftverify {s1}"
            r3 = s3 / t3
            row += [f"{r3:,.0f}", f"{r1 / r2:.2f}", f"{r1 / r3:.3f}", f"{b1:.0f}", f"{b2:.0f}", f"{b3:.0f}"]
        else:
            row += ["-", f"{r1 / r2:.2f}", "-", f"{b1:.0f}", f"{b2:.0f}", "-"]
        print("| " + " | ".join(row) + " |", flush=True)
    shutil.rmtree(work, ignore_errors=True)
    print("\nftverify/BFS: the engine's speed as a fraction of the hand-written floor (target >= 0.5);"
          "\nB/state: bytes retained per stored state (target for ftverify <= 100).")
    if os.environ.get("GITHUB_ACTIONS"):
        print("(timings on shared CI machines vary; compare ratios, not single times)")


if __name__ == "__main__":
    main()
