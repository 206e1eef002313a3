"""`prove --engine auto` on dining philosophers, against exhaustive exploration and PDR alone.

For each N, one run times the whole command (start-up included) with `--engine auto` (which
decides by `infer` here: pairwise invariants from the states it saw, kept by Houdini and
proved by induction), `--engine explicit` (every reachable state; skipped above --max-explicit)
and `--engine pdr` (Spacer on the CHC encoding, with --pdr-timeout seconds).

    .venv/bin/python bench/auto_philosophers.py [--n 10 13 16 24 32] [--max-explicit 13] [--pdr-timeout 60]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FTV = ROOT / "bench" / "philosophers.ftv"


def run(n: int, engine: str, timeout: float | None = None) -> tuple[float, str]:
    cmd = [str(Path(sys.executable).parent / "ftverify"), "prove", str(FTV), "--const", f"N={n}", "--engine", engine,
           "--property", "excl"]
    if timeout:
        cmd += ["--timeout", str(timeout)]
    start = time.perf_counter()
    out = subprocess.run(cmd, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    row = next((line for line in out.stdout.splitlines() if line.strip().startswith("excl")), "")
    verdict = row.split()[2] if len(row.split()) > 2 else f"exit {out.returncode}"
    return seconds, verdict


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, nargs="+", default=[10, 13, 16, 24, 32])
    ap.add_argument("--max-explicit", type=int, default=13)
    ap.add_argument("--pdr-timeout", type=float, default=60.0)
    args = ap.parse_args()
    print("| N | auto s (verdict) | explicit s | auto vs explicit | pdr s (verdict) | auto vs pdr |")
    print("| --- | --- | --- | --- | --- | --- |")
    for n in args.n:
        auto_s, auto_v = run(n, "auto")
        if n <= args.max_explicit:
            ex_s, _ = run(n, "explicit")
            ex = f"{ex_s:.2f} | {ex_s / auto_s:.1f}x"
        else:
            ex = "- | -"
        pdr_s, pdr_v = run(n, "pdr", args.pdr_timeout)
        ratio = f"{pdr_s / auto_s:.1f}x" + ("" if pdr_v == "proved" else " (at least)")
        print(f"| {n} | {auto_s:.2f} ({auto_v}) | {ex} | {pdr_s:.2f} ({pdr_v}) | {ratio} |", flush=True)


if __name__ == "__main__":
    main()
