"""The explicit engine against SPIN and against a bare Python BFS, side by side in one run.

Models (this folder): dining philosophers (`philosophers.ftv`, the deadlocking
version with explicit forks) at N = 10, 12, 13 and the counters model
(`counters.ftv`, N counters over 0..3) at N = 10, 11. For each one:

* **ftverify**: the whole command `ftverify prove MODEL --const N=n --engine
  explicit --json`, start-up included, as a user runs it; its state and
  transition counts from the JSON; bytes per state = (peak RSS - the peak RSS of
  the same command on the model at N=2) / states;
* **SPIN** (Debian's `spin`, used when present, never installed by this script):
  the same model in Promela, one atomic guarded command per action, built with
  `spin -a` and `gcc -O2 -DSAFETY -DNOCOMP` and run as `./pan -m<states + 1000> -E` (a DFS stack deep enough for every state)
  (both models deadlock); its time includes the build;
* **a bare Python BFS** over tuples (a set of seen states and a deque), the floor
  for an explorer written in Python; skipped above `--bfs-limit` states.

State and transition counts must agree in all three tools or the run fails. It
prints a table of times and ratios (ftverify's speed-up over each peer).

    .venv/bin/python bench/explicit_vs_peers.py [--only philosophers-12] [--bfs-limit 2000000]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections import deque
from collections.abc import Iterator
from pathlib import Path

HERE = Path(__file__).resolve().parent
CASES = [("philosophers", 10), ("philosophers", 12), ("philosophers", 13), ("counters", 10), ("counters", 11)]


def ftverify_cmd() -> list[str]:
    exe = Path(sys.executable).parent / "ftverify"
    return [str(exe)] if exe.exists() else [sys.executable, "-m", "ftverify.checker.commands.cli"]


def run_measured(cmd: list[str], cwd: Path | None = None) -> tuple[float, int, str]:
    """Wall seconds, peak RSS in bytes and stdout of one child process."""
    t = time.perf_counter()
    p = subprocess.Popen(cmd, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    out = p.stdout.read() if p.stdout else ""
    _, status, usage = os.wait4(p.pid, 0)
    wall = time.perf_counter() - t
    if os.waitstatus_to_exitcode(status) not in (0, 1):
        raise SystemExit(f"{' '.join(cmd)} failed with status {status}")
    return wall, usage.ru_maxrss * 1024, out


def ftverify(model: str, n: int) -> tuple[int, int, float, int]:
    """States, transitions, wall seconds and peak RSS of `ftverify prove` on one model."""
    cmd = [*ftverify_cmd(), "prove", str(HERE / f"{model}.ftv"), "--const", f"N={n}", "--engine", "explicit",
           "--json", "--quiet"]
    wall, rss, out = run_measured(cmd)
    stats = json.loads(out)["files"][0]["stats"]
    return stats["states"], stats["transitions"], wall, rss


# ---------------------------------------------------------------- SPIN
def promela(model: str, n: int) -> str:
    lines = []
    if model == "philosophers":
        lines.append(f"byte ph[{n}]; bool fork[{n}];")
        body = []
        for i in range(n):
            r = (i + 1) % n
            body += [f"  :: atomic {{ ph[{i}] == 0 && !fork[{i}] -> fork[{i}] = 1; ph[{i}] = 1 }}",
                     f"  :: atomic {{ ph[{i}] == 1 && !fork[{r}] -> fork[{r}] = 1; ph[{i}] = 2 }}",
                     f"  :: atomic {{ ph[{i}] == 2 -> ph[{i}] = 3 }}",
                     f"  :: atomic {{ ph[{i}] == 3 -> fork[{i}] = 0; ph[{i}] = 4 }}",
                     f"  :: atomic {{ ph[{i}] == 4 -> fork[{r}] = 0; ph[{i}] = 0 }}"]
    else:
        lines.append(f"byte c[{n}];")
        body = []
        for i in range(n):
            body.append(f"  :: atomic {{ c[{i}] < 3 -> c[{i}]++ }}")
            if i > 0:
                body.append(f"  :: atomic {{ c[{i}] == 3 && c[{i - 1}] == 0 -> c[{i}] = 0 }}")
    return "\n".join([*lines, "active proctype main() {", "  do", *body, "  od", "}", ""])


def spin(model: str, n: int, work: Path) -> tuple[int, int, float, int]:
    """States, transitions, seconds (build and run) and peak RSS of SPIN's safety check."""
    d = work / f"{model}-{n}"
    d.mkdir()
    (d / "model.pml").write_text(promela(model, n))
    t = time.perf_counter()
    subprocess.run(["spin", "-a", "model.pml"], cwd=d, check=True, capture_output=True)
    subprocess.run(["gcc", "-O2", "-DSAFETY", "-DNOCOMP", "-DMEMLIM=16384", "-o", "pan", "pan.c"], cwd=d,
                   check=True, capture_output=True)
    depth = EXPECTED[model, n] + 1000  # a DFS stack as deep as the state space can need, and no deeper
    _, rss, out = run_measured(["./pan", f"-m{depth}", "-E"], cwd=d)
    seconds = time.perf_counter() - t
    states = int(float(re.search(r"([\d.e+]+) states, stored", out).group(1)))  # type: ignore[union-attr]
    stored_and_matched = int(float(re.search(r"([\d.e+]+) transitions", out).group(1)))  # type: ignore[union-attr]
    return states, stored_and_matched, seconds, rss


# ---------------------------------------------------------------- the bare Python floor
def successors(model: str, n: int, s: tuple[int, ...]) -> Iterator[tuple[int, ...]]:
    if model == "counters":
        for i in range(n):
            v = s[i]
            if v < 3:
                yield (*s[:i], v + 1, *s[i + 1:])
            elif i > 0 and s[i - 1] == 0:
                yield (*s[:i], 0, *s[i + 1:])
        return
    for i in range(n):  # ph[0..n-1], then fork[0..n-1]
        p, r = s[i], (i + 1) % n
        if p == 0:
            if not s[n + i]:
                t = list(s)
                t[i], t[n + i] = 1, 1
                yield tuple(t)
        elif p == 1:
            if not s[n + r]:
                t = list(s)
                t[i], t[n + r] = 2, 1
                yield tuple(t)
        elif p == 2:
            yield (*s[:i], 3, *s[i + 1:])
        elif p == 3:
            t = list(s)
            t[i], t[n + i] = 4, 0
            yield tuple(t)
        else:
            t = list(s)
            t[i], t[n + r] = 0, 0
            yield tuple(t)


def bare_bfs(model: str, n: int) -> tuple[int, int, float]:
    """States, transitions and seconds of the bare BFS, run in a process of its own (so that
    its memory never shows in the peak RSS of a process this one starts afterwards)."""
    _, _, out = run_measured([sys.executable, __file__, "--bare-bfs", model, str(n)])
    return tuple(json.loads(out))  # type: ignore[return-value]


def _bare_bfs_here(model: str, n: int) -> tuple[int, int, float]:
    t0 = time.perf_counter()
    init = (0,) * (n if model == "counters" else 2 * n)
    seen = {init}
    queue = deque([init])
    transitions = 0
    while queue:
        s = queue.popleft()
        for t in successors(model, n, s):
            transitions += 1
            if t not in seen:
                seen.add(t)
                queue.append(t)
    return len(seen), transitions, time.perf_counter() - t0


EXPECTED = {("philosophers", 10): 154_450, ("philosophers", 12): 1_684_801, ("philosophers", 13): 5_564_522,
            ("counters", 10): 1_048_576, ("counters", 11): 4_194_304}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--only", action="append", help="one case, e.g. philosophers-12 (repeatable)")
    ap.add_argument("--bfs-limit", type=int, default=2_000_000, help="skip the bare BFS above this many states")
    ap.add_argument("--bare-bfs", nargs=2, metavar=("MODEL", "N"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.bare_bfs:
        print(json.dumps(_bare_bfs_here(args.bare_bfs[0], int(args.bare_bfs[1]))))
        return
    cases = [c for c in CASES if not args.only or f"{c[0]}-{c[1]}" in args.only]
    have_spin = shutil.which("spin") is not None and shutil.which("gcc") is not None
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} cores; SPIN: "
          + ("found" if have_spin else "not found (Debian package `spin`, and gcc): its columns are empty"))
    work = Path(tempfile.mkdtemp(prefix="ftverify-peers-"))
    _, _, _, base_rss = ftverify("philosophers", 2)  # start-up memory, netted out of bytes per state
    header = ["model", "states", "transitions", "ftverify s", "B/state", "SPIN s", "vs SPIN", "bare BFS s", "vs BFS"]
    print("| " + " | ".join(header) + " |")
    print("|" + " --- |" * len(header))
    try:
        for model, n in cases:
            states, transitions, secs, rss = ftverify(model, n)
            assert states == EXPECTED[model, n], (model, n, states)
            row = [f"{model} N={n}", f"{states:,}", f"{transitions:,}", f"{secs:.2f}",
                   f"{(rss - base_rss) / states:.0f}"]
            if have_spin:
                s_states, s_trans, s_secs, _ = spin(model, n, work)
                # pan counts a transition per step explored, stored or matched, as ftverify does,
                # plus one: the step that starts the process and enters its loop.
                assert (s_states, s_trans - 1) == (states, transitions), (model, n, s_states, s_trans)
                row += [f"{s_secs:.2f}", f"{s_secs / secs:.1f}x"]
            else:
                row += ["-", "-"]
            if states <= args.bfs_limit:
                b_states, b_trans, b_secs = bare_bfs(model, n)
                assert (b_states, b_trans) == (states, transitions), (model, n, b_states, b_trans)
                row += [f"{b_secs:.2f}", f"{b_secs / secs:.1f}x"]
            else:
                row += ["-", "-"]
            print("| " + " | ".join(row) + " |", flush=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print("\nftverify s: the whole `ftverify prove --engine explicit` command; SPIN s: spin -a, gcc and pan;"
          "\nvs SPIN, vs BFS: how many times faster ftverify is; B/state: peak RSS net of start-up per state.")


if __name__ == "__main__":
    main()
