"""`prove --engine auto` with its symbolic engines racing (two cores) against in turn (one core).

Each spec has far too many states to explore, so `auto` reaches its symbolic stage after its
explorations and `infer`. One run times the whole command on one core (`taskset -c 0`: BMC, then
PDR, then k-induction, each with a share of the --timeout) and on two (`taskset -c 0,1`: the three
race on worker processes, the first decisive verdict wins).

    .venv/bin/python bench/auto_race.py [--timeout 60]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SPECS = {
    # equality of two counters: 1-inductive, while PDR over a 10^8 range crawls
    "counters_equal": """spec CountersEqual
var x: 0..100000000
var y: 0..100000000
init { x == 0 && y == 0 }
action step when x < 100000000 { x := x + 1; y := y + 1 }
invariant eq: x == y
""",
}


def run(path: Path, cores: str, timeout: float) -> tuple[float, str]:
    cmd = ["taskset", "-c", cores, str(Path(sys.executable).parent / "ftverify"), "prove", str(path), "--quiet",
           "--timeout", str(timeout), "--property", "eq"]
    start = time.perf_counter()
    out = subprocess.run(cmd, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    rows = [line.split() for line in out.stdout.splitlines() if " invariant " in line]
    verdicts = ", ".join(f"{r[0]} {r[2]} ({r[3]})" for r in rows if len(r) > 3 and r[1] == "invariant")
    return seconds, verdicts or f"exit {out.returncode}"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--timeout", type=float, default=60.0)
    args = ap.parse_args()
    print("| spec | one core: in turn | two cores: racing | speed-up |")
    print("|---|---|---|---|")
    with tempfile.TemporaryDirectory() as d:
        for name, text in SPECS.items():
            path = Path(d) / f"{name}.ftv"
            path.write_text(text)
            one, v1 = run(path, "0", args.timeout)
            two, v2 = run(path, "0,1", args.timeout)
            print(f"| {name} | {one:.1f} s: {v1} | {two:.1f} s: {v2} | {one / two:.1f}x |", flush=True)


if __name__ == "__main__":
    main()
