"""What a Dask cluster costs and gives, measured in one run on this machine (docs/cluster.md):

1. `--philosophers N ...`: explicit exploration of dining philosophers (../shared/bench-models) in one
   process and partitioned over local clusters of 1 and 2 workers: wall time of the search (the
   cluster's start-up and its workers' first imports apart), states per partition, and the counts,
   which must be equal.
2. `--models`: every shipped model, single process against a local cluster of 2 workers: equal
   states, transitions, depth and deadlocks (the kernel models to a depth bound: in full they are
   proved by induction, not explored).
3. `--proofs FILE ...`: proof scripts with `--jobs 1`, `--jobs 2` and `--cluster local:1/2`
   (whole commands, proof cache off): wall time and the same verdicts.

    .venv/bin/python bench/cluster.py [--philosophers 10 12] [--models] [--proofs proofs/classic.ftv]
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import time
from pathlib import Path

from ftverify.checker.cluster import explore as D
from ftverify.checker.cluster.backend import Cluster
from ftverify.checker.engines import explicit
from ftverify.spec.budget import budget_for
from ftverify.spec.interp import Interpreter
from ftverify.spec.typecheck import load_model

ROOT = Path(__file__).resolve().parent.parent
PHILOSOPHERS = ROOT.parent / "shared" / "bench-models" / "philosophers.ftv"
KERNEL_DEPTH = 4  # the kernel models' exploration bound in --models


def counts(ex: explicit.Exploration) -> tuple[int, int, int, int, bool]:
    return len(ex.parent), ex.transitions, ex.depth, ex.deadlocks, ex.complete


def local(path: str, consts: dict[str, int], depth: int | None = None) -> tuple[float, explicit.Exploration]:
    """The local engine on the properties the partitioned search decides (a step property costs the
    local engine every step of every state: the kernel's three take 10 ms a state)."""
    model = load_model(path, consts)
    decided = [p.name for p in model.properties if p.kind in D.DECIDED_HERE]
    t = time.perf_counter()
    ex = explicit.explore(Interpreter(model, budget_for(model, None)), explicit.Limits(max_depth=depth),
                          stop_when_decided=False, progress=None, wanted=[*decided, "type_ok"])
    return time.perf_counter() - t, ex


def spread(cluster: Cluster, path: str, consts: dict[str, int], depth: int | None = None) -> tuple[
        float, explicit.Exploration, list[int]]:
    t = time.perf_counter()
    ex, search = D.explore(cluster, path, consts, None, explicit.Limits(max_depth=depth), stop_when_decided=False,
                           progress=False)
    seconds = time.perf_counter() - t
    D.finish(search)
    return seconds, ex, list(search.sizes)


def philosophers(ns: list[int]) -> None:
    print("| N | states | one process | cluster of 1 | cluster of 2 | states per worker (2) |")
    print("| --- | --- | --- | --- | --- | --- |")
    rows: dict[int, list[str]] = {}
    base: dict[int, tuple[float, explicit.Exploration]] = {n: local(str(PHILOSOPHERS), {"N": n}) for n in ns}
    for workers in (1, 2):
        with Cluster(f"local:{workers}") as c:
            spread(c, str(PHILOSOPHERS), {"N": 3})  # the workers' first search imports and compiles: not timed
            for n in ns:
                seconds, ex, sizes = spread(c, str(PHILOSOPHERS), {"N": n})
                assert counts(ex) == counts(base[n][1]), (n, counts(ex), counts(base[n][1]))
                rows.setdefault(n, []).append(f"{seconds:.2f} s")
                if workers == 2:
                    rows[n].append(" / ".join(f"{s:,}" for s in sizes))
    for n in ns:
        t, ex = base[n]
        print(f"| {n} | {len(ex.parent):,} | {t:.2f} s | " + " | ".join(rows[n]) + " |")


def models() -> None:
    print("| model | states | transitions | depth | one process | cluster of 2 | counts |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    with Cluster("local:2") as c:
        for path in sorted(ROOT.glob("models/**/*.ftv")):
            depth = KERNEL_DEPTH if path.parent.name == "kernel" else None
            rel = str(path.relative_to(ROOT))
            t1, ex1 = local(str(path), {}, depth)
            t2, ex2, _ = spread(c, str(path), {}, depth)
            same = "equal" if counts(ex1) == counts(ex2) else f"DIFFERENT {counts(ex1)} {counts(ex2)}"
            bound = f" (to depth {depth})" if depth is not None else ""
            print(f"| {rel}{bound} | {len(ex1.parent):,} | {ex1.transitions:,} | {ex1.depth} | {t1:.2f} s | "
                  f"{t2:.2f} s | {same} |", flush=True)


def proofs(files: list[str]) -> None:
    main = "from ftverify.checker.commands.cli import main; main()"
    print("| script | --jobs 1 | --jobs 2 | --cluster local:1 | --cluster local:2 | verdicts |")
    print("| --- | --- | --- | --- | --- | --- |")
    for f in files:
        cells, tables = [], []
        for extra in (["--jobs", "1"], ["--jobs", "2"], ["--cluster", "local:1"], ["--cluster", "local:2"]):
            t = time.perf_counter()
            out = subprocess.run([sys.executable, "-c", main, "prove", f, "--no-cache", "-q", *extra], cwd=ROOT,
                                 capture_output=True, text=True, env={**os.environ, "FTVERIFY_PROOF_CACHE": "off"})
            cells.append(f"{time.perf_counter() - t:.1f} s")
            tables.append([" ".join(ln.split()[:6]) for ln in out.stdout.splitlines()
                           if re.match(r"\s+\w+\s+\w+\.\w+\s+\d", ln)])
        same = "equal" if all(t == tables[0] for t in tables) and tables[0] else "DIFFERENT"
        print(f"| {f} | " + " | ".join(cells) + f" | {same} |", flush=True)


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--philosophers", type=int, nargs="*", default=None)
    ap.add_argument("--models", action="store_true")
    ap.add_argument("--proofs", nargs="*", default=None)
    a = ap.parse_args()
    if a.philosophers is None and not a.models and a.proofs is None:
        a.philosophers, a.models, a.proofs = [10, 12], True, ["proofs/classic.ftv", "proofs/recovery.ftv"]
    if a.philosophers:
        philosophers(a.philosophers)
    if a.models:
        models()
    if a.proofs:
        proofs(a.proofs)
