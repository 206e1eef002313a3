"""Start-up: the whole `ftverify prove` process on a small spec against `python -c pass`.

Runs both commands alternately (25 times each by default) and prints the sorted times and the
median and minimum difference: what a user waits for beyond Python itself. Run it on a quiet
machine, after one run of the command has written its caches (.pyc files, lark's tables).

    .venv/bin/python bench/startup.py [--runs 25] [SPEC]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("spec", nargs="?", default=str(ROOT / "models" / "classic" / "peterson.ftv"))
    ap.add_argument("--runs", type=int, default=25)
    args = ap.parse_args()
    env = dict(os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)  # a user's Python writes .pyc files
    exe = Path(sys.executable).parent / "ftverify"
    tool = [str(exe)] if exe.exists() else [sys.executable, "-m", "ftverify.checker.commands.cli"]
    commands = {"python -c pass": [sys.executable, "-c", "pass"],
                "ftverify prove": [*tool, "prove", args.spec, "--engine", "explicit", "--quiet"]}
    subprocess.run(commands["ftverify prove"], env=env, stdout=subprocess.DEVNULL, check=False)  # warm caches
    times: dict[str, list[float]] = {name: [] for name in commands}
    for _ in range(args.runs):
        for name, cmd in commands.items():
            t = time.perf_counter()
            subprocess.run(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
            times[name].append(time.perf_counter() - t)
    for name, ts in times.items():
        print(f"{name:15} " + " ".join(f"{t:.3f}" for t in sorted(ts)))
    base, tool_t = times["python -c pass"], times["ftverify prove"]
    print(f"\nftverify prove {Path(args.spec).name} --engine explicit, beyond python -c pass: "
          f"median {statistics.median(tool_t) - statistics.median(base):.3f} s, "
          f"minimum {min(tool_t) - min(base):.3f} s")


if __name__ == "__main__":
    main()
