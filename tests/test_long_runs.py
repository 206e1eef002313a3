"""Long runs that talk, stop on Ctrl-C and keep their time limits; options checked before any
work; output contracts (one JSON shape, ITF files, whole graphs in data formats).

The Ctrl-C and time-limit tests run a real `ftverify` process: signals, threads and Z3's own
signal handling only behave as they do for a user there."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from tests.conftest import CLASSIC, MODELS, ROOT, run_cli, verdict_rows

MAIN = "from ftverify.checker.commands.cli import main; main()"
KERNEL_PROOFS = str(ROOT / "proofs" / "kernel.ftv")


def start(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-c", MAIN, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, cwd=ROOT)


def test_ctrl_c_inside_the_solver_prints_what_is_known_within_a_second() -> None:
    # In this process (--jobs 1): the engine's own progress shows, and the stop reaches into Z3 here.
    proc = start("prove", KERNEL_PROOFS, "--jobs", "1")
    time.sleep(6.0)  # well inside the first inductiveness check, i.e. inside Z3
    sent = time.monotonic()
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=30)
    took = time.monotonic() - sent
    assert proc.returncode == 3, err
    assert took < 2.5, f"{took:.1f} s from Ctrl-C to exit"  # the table is printed before the interpreter exits
    assert "interrupted (Ctrl-C)" in out and "not started (interrupted (Ctrl-C))" in out
    assert "stopped: interrupted (Ctrl-C)" in out and "internal error" not in err
    # progress was shown while it worked: the obligation, the engine's step, the time
    assert "cdt_valid" in err and "consecution of" in err


def test_ctrl_c_inside_spacer_on_a_liveness_proof_says_interrupted() -> None:
    # Chandy-Lamport's liveness-to-safety proof runs for minutes: the stop cancels Spacer.
    proc = start("prove", str(MODELS / "recovery" / "chandy_lamport.ftv"), "--engine", "pdr",
                 "--property", "keeps_completing")
    time.sleep(4.0)
    sent = time.monotonic()
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 3 and time.monotonic() - sent < 2.5, err
    assert "interrupted (Ctrl-C)" in out and "gave up" not in out and "internal error" not in err
    assert "PDR level" in err  # Spacer's progress showed while it worked


def test_timeout_bounds_the_whole_command() -> None:
    t = time.monotonic()
    proc = start("prove", KERNEL_PROOFS, "--timeout", "4", "--quiet")
    out, err = proc.communicate(timeout=60)
    took = time.monotonic() - t
    assert proc.returncode == 3 and took < 4 + 3.0, f"{took:.1f} s"
    assert "not started (timeout after 4 s)" in out and err.strip() == ""  # --quiet: nothing on stderr


@pytest.mark.parametrize("engine", ["pdr", "kind", "bmc", "induction", "infer"])
def test_every_engine_keeps_the_time_limit(engine: str) -> None:
    spec = str(MODELS / "kernel" / "abstract.ftv")
    t = time.monotonic()
    proc = start("prove", spec, "--engine", engine, "--depth", "30", "--timeout", "3", "--quiet",
                 "--property", "cdt_valid")
    out, err = proc.communicate(timeout=60)
    assert time.monotonic() - t < 3 + 3.0 and proc.returncode == 3, (out, err)
    assert "internal error" not in err


def test_stop_as_soon_as_the_property_asked_for_is_decided(tmp_path: Path) -> None:
    # A big space (4^10 states) whose one requested property fails at depth 1: no full exploration.
    spec = tmp_path / "big.ftv"
    spec.write_text("spec Big\ntype I = 0..9\nvar a: [I] 0..3\ninit { forall i: I. a[i] == 0 }\n"
                    "action inc(i: I) when a[i] < 3 { a[i] := a[i] + 1 }\n"
                    "invariant shallow: a[0] == 0\ninvariant holds: a[0] <= 3\n")
    code, out, _ = run_cli("prove", str(spec), "--engine", "explicit", "--property", "shallow", "--quiet")
    assert code == 1 and "all properties decided" in out
    states = int(out.splitlines()[1].split()[0].replace(",", ""))
    assert states < 1000


@pytest.mark.parametrize("args, message", [
    (["prove", "--depth", "-1"], "--depth"),
    (["prove", "--timeout", "0"], "--timeout"),
    (["prove", "--timeout", "-5"], "--timeout"),
    (["prove", "--max-states", "0"], "--max-states"),
    (["prove", "--obligation-timeout", "0"], "--obligation-timeout"),
    (["prove", "--itf", "/no/such/dir/x.itf.json"], "no such directory"),
    (["faults", "--chart", "c.gif"], "expected a .svg or .png"),
    (["faults", "--json", "/no/such/dir/c.json"], "no such directory"),
    (["graph", "-o", "/no/such/dir/g.svg"], "no such directory"),
    (["graph", "-o", "g.bmp"], "unknown output format"),
    (["graph", "--max-nodes", "0"], "--max-nodes"),
    (["refine", "--examples", "-3", "--impl", "x:y"], "--examples"),
])
def test_options_are_checked_before_any_work(args: list[str], message: str) -> None:
    cmd, *rest = args
    code, out, err = run_cli(cmd, str(CLASSIC / "peterson.ftv"), *rest)
    assert code == 2 and message in err + out and "states" not in out


def test_json_has_one_shape_whatever_the_number_of_files() -> None:
    for files in ([CLASSIC / "peterson.ftv"], [CLASSIC / "peterson.ftv", CLASSIC / "diehard.ftv"],
                  [ROOT / "proofs" / "classic.ftv"]):
        code, out, _ = run_cli("prove", *map(str, files), "--json", "--quiet")
        doc = json.loads(out)
        assert set(doc) >= {"schema", "tool", "version", "command", "files", "summary", "stopped", "exit_code"}
        assert len(doc["files"]) == len(files) and doc["exit_code"] == code


def test_several_traces_go_into_a_directory(tmp_path: Path) -> None:
    code, _, _ = run_cli("prove", str(CLASSIC / "broken_mutex.ftv"), str(CLASSIC / "diehard.ftv"),
                         "--itf", str(tmp_path), "--quiet")
    assert code == 1
    written = sorted(p.name for p in tmp_path.iterdir())
    # counterexamples and witnesses alike
    assert "BrokenMutex-mutex.itf.json" in written and "DieHard-solved.itf.json" in written
    assert all(json.loads((tmp_path / w).read_text())["#meta"]["format"] == "ITF" for w in written)


def test_a_graph_too_big_to_draw_is_still_written_as_data(tmp_path: Path) -> None:
    for ext in ("json", "dot"):
        out_file = tmp_path / f"g.{ext}"
        code, out, _ = run_cli("graph", str(CLASSIC / "tmr.ftv"), "--max-nodes", "10", "-o", str(out_file), "--quiet")
        assert code == 0 and out_file.exists(), out
        text = out_file.read_text()
        assert text.count("Compute") > 10  # the whole graph, not a condensation


def test_prove_of_several_files_ends_with_one_total_line() -> None:
    code, out, _ = run_cli("prove", str(ROOT / "proofs" / "classic.ftv"), str(CLASSIC / "peterson.ftv"), "--quiet")
    last = out.strip().splitlines()[-1]
    assert code == 0 and last.startswith("total: ") and "2 files" in last and "0 violated, 0 unknown" in last


def test_the_explicit_refinement_check_stops_at_the_first_failing_step(tmp_path: Path) -> None:
    from tests.checker.test_refine import ABSTRACT, CONCRETE, write_pair

    text = CONCRETE.replace("action finish when x == 3 && !pending { done := true }",
                            "action finish when x == 3 && !pending { done := true; x := 0 }")
    path = write_pair(tmp_path, text, ABSTRACT)
    code, out, _ = run_cli("refine", path, "--engine", "explicit", "--quiet")
    assert code == 1 and "stopped at the step asked for" not in out and "violated" in out


def test_sigint_without_a_terminal_is_not_an_internal_error() -> None:
    if os.name != "posix":
        pytest.skip("POSIX signals")
    proc = start("faults", str(CLASSIC / "tmr.ftv"), "--faults", "3")  # about 9 s of work
    time.sleep(2.5)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 3 and "internal error" not in err and "Traceback" not in err
    assert "partial" in out or "interrupted" in out


def test_jobs_print_the_same_table_in_script_order() -> None:
    script = str(ROOT / "proofs" / "classic.ftv")
    code1, out1, _ = run_cli("prove", script, "--quiet")
    proc = subprocess.run([sys.executable, "-c", MAIN, "prove", script, "--quiet", "--jobs", "2"],
                          capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert code1 == proc.returncode == 0
    assert verdict_rows(out1) == verdict_rows(proc.stdout) and len(verdict_rows(out1)) == 12


def test_ctrl_c_with_jobs_stops_the_workers_and_prints_the_table() -> None:
    if os.name != "posix":
        pytest.skip("POSIX signals")
    proc = start("prove", KERNEL_PROOFS, "--jobs", "2")
    # Interrupt once a worker's engine has reported a step (both workers are then inside Z3); a
    # fixed wait was too short when the machine was busy and workers took long to start.
    pump = _stderr_until(proc, "cdt_valid: ", 60.0)
    proc.send_signal(signal.SIGINT)
    assert proc.stdout is not None
    out = proc.stdout.read()
    proc.wait(timeout=30)
    pump.thread.join(timeout=10)
    err = pump.text()
    assert proc.returncode == 3 and "Traceback" not in err and "internal error" not in err
    assert "stopped: interrupted (Ctrl-C)" in out and "not started (interrupted (Ctrl-C))" in out
    # the workers' engines report their steps through the parent's status line
    assert "cdt_valid: " in err and "2 jobs" in err


def test_ctrl_c_during_a_refinements_parts_leaves_the_next_obligation_not_started(tmp_path) -> None:
    """With `--jobs 2` a refinement runs as three jobs; the two workers hold two of its parts, so
    the obligation after it was not started when Ctrl-C comes."""
    if os.name != "posix":
        pytest.skip("POSIX signals")
    concrete = ROOT / "models" / "kernel" / "concrete.ftv"
    script = tmp_path / "r.ftv"
    script.write_text(f'proof R\nuse "{concrete}" as c\ntheorem refines: c.kernel by refinement\n'
                      "theorem later: c.cnode_integrity by induction\n")
    proc = start("prove", str(script), "--no-cache", "--jobs", "2")
    pump = _stderr_until(proc, "refines: ", 60.0)  # a worker's engine is at work
    proc.send_signal(signal.SIGINT)
    assert proc.stdout is not None
    out = proc.stdout.read()
    proc.wait(timeout=30)
    pump.thread.join(timeout=10)
    assert proc.returncode == 3 and "Traceback" not in pump.text()
    rows = {line.split()[0]: line for line in out.splitlines() if line.startswith("  ") and "." in line}
    assert "interrupted (Ctrl-C)" in rows["refines"] and "not started" not in rows["refines"]
    assert "not started (interrupted (Ctrl-C))" in rows["later"]


class _Pump:
    """Reads a process's stderr on a thread, so that a test can wait for a line to appear."""

    def __init__(self, proc: subprocess.Popen[str]) -> None:
        self.chunks: list[str] = []
        self.proc = proc
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        assert self.proc.stderr is not None
        for ch in iter(lambda: self.proc.stderr.read(1), ""):  # type: ignore[union-attr]
            self.chunks.append(ch)

    def text(self) -> str:
        return "".join(self.chunks)


def _stderr_until(proc: subprocess.Popen[str], text: str, timeout: float) -> _Pump:
    pump = _Pump(proc)
    deadline = time.monotonic() + timeout
    while text not in pump.text() and time.monotonic() < deadline:
        time.sleep(0.2)
    return pump


def test_obligations_that_share_a_check_travel_as_one_job() -> None:
    from ftverify.checker.commands.jobs import groups
    from ftverify.checker.commands.proofs import load_proof

    proof = load_proof(str(ROOT / "proofs" / "kernel.ftv"))
    todo = groups(proof, list(range(len(proof.obligations))))
    assert sorted(i for g in todo for i in g) == list(range(len(proof.obligations)))
    shared = [g for g in todo if len(g) > 1]
    assert shared  # the six shared invariants, the parity pair
    for g in shared:
        thms = [proof.obligations[i].theorem for i in g]
        assert len({(t.method, frozenset([t.prop, *t.using])) for t in thms}) == 1


def test_ctrl_c_in_the_data_parallel_search_prints_what_is_known() -> None:
    if os.name != "posix":
        pytest.skip("POSIX signals")
    proc = start("prove", str(ROOT / "bench" / "philosophers.ftv"), "--const", "N=13", "--engine", "explicit")
    time.sleep(3.0)  # past the hand-over to numpy, well before the 5.5 million states are done
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 3 and "Traceback" not in err
    assert "stopped: interrupted (Ctrl-C)" in out and "excl      invariant  unknown" in out
    assert "states/s" in err  # its progress line


def test_ctrl_c_stops_refinement_testing_with_what_it_checked() -> None:
    proc = start("refine", "--impl", "ftverify.kernel_impl:Kernel", "--examples", "100000")
    time.sleep(4.0)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 3, (out, err)
    assert "unknown: interrupted (Ctrl-C)" in out and "generated:" in out
    assert "spec-coverage runs:" in err  # the progress line showed while it ran


def test_a_time_limit_the_work_noticed_itself_does_not_escape_as_ctrl_c() -> None:
    # The deadline both sets `stopped` and simulates a Ctrl-C; work that sees `stopped` and returns
    # must not leave that Ctrl-C pending for the caller (it used to surface as KeyboardInterrupt).
    from ftverify.checker.engines import control

    for _ in range(40):
        with control.controlled(0.005) as ctl:
            while not ctl.stopped:
                pass
        for _ in range(1000):  # bytecode boundaries where a pending interrupt would be taken
            pass


def test_the_ctrl_c_watcher_never_reads_from_a_file_opened_after_the_run(tmp_path: Path) -> None:
    # The watcher thread reads the signal pipe; its read end used to be closed from the main thread,
    # so a file opened right after a run could get the pipe's number and lose its first bytes to
    # the watcher (about once in a thousand runs: an ITF trace read back by a test was cut).
    from ftverify.checker.engines import control

    path = tmp_path / "file.txt"
    path.write_text("x" * 200)
    damaged = 0
    for _ in range(10_000):
        with control.controlled():
            pass
        damaged += path.read_text() != "x" * 200
    assert damaged == 0
