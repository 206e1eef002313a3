"""`--cluster`: proof scripts' jobs and fault campaigns on a local Dask cluster, and the explicit
search partitioned across its workers (checker/cluster/)."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time

import pytest
from hypothesis import HealthCheck, assume, given, seed, settings
from hypothesis import strategies as st

pytest.importorskip("distributed")

from ftverify.checker.cluster import explore as D
from ftverify.checker.cluster.backend import Cluster, check_address
from ftverify.checker.commands.proofs import ProofContext, load_proof, run_proof
from ftverify.checker.engines import explicit
from ftverify.checker.engines.replay import replay
from ftverify.checker.output.result import Verdict
from ftverify.spec.budget import budget_for
from ftverify.spec.errors import SpecError
from ftverify.spec.interp import Interpreter
from ftverify.spec.typecheck import check_text, load_model

from tests.conftest import MODELS, ROOT, run_cli
from tests.strategies import specs

CLASSIC_PROOFS = str(ROOT / "proofs" / "classic.ftv")
PHILOSOPHERS = ROOT.parent / "shared" / "bench-models" / "philosophers.ftv"
# Every shipped model the scalar partitions explore in seconds (bench/cluster.py runs them all).
SHIPPED = [p for p in sorted(MODELS.rglob("*.ftv")) if p.parent.name not in ("kernel",) and p.name != "paxos.ftv"
           and p.name != "machine.ftv"]

BROKEN = """spec Broken
type C = 0..3
var x: C
var y: C
init { x == 0 && y == 0 }
action inc when x < 3 { x := x + 1 }
action bump { y := y + 1 }
invariant small: x < 2
reachable top: x == 3
"""


@pytest.fixture(scope="module")
def cluster():
    with Cluster("local:2") as c:
        yield c


def counts(ex: explicit.Exploration) -> tuple[int, int, int, int, bool]:
    return len(ex.parent), ex.transitions, ex.depth, ex.deadlocks, ex.complete


@pytest.mark.slow
def test_the_partitioned_search_gives_the_single_process_counts_on_the_shipped_models(cluster) -> None:
    assert len(SHIPPED) >= 15
    for path in SHIPPED:
        model = load_model(str(path), {})
        local = explicit.explore(Interpreter(model, budget_for(model, None)), stop_when_decided=False, progress=None)
        ex, search = D.explore(cluster, str(path), {}, None, stop_when_decided=False, progress=False)
        D.finish(search)
        assert counts(ex) == counts(local), path
        assert sum(search.sizes) == len(local.parent)
        assert (ex.first_deadlock is None) == (local.first_deadlock is None), path


@pytest.mark.skipif(not PHILOSOPHERS.exists(), reason="needs ../shared/bench-models")
def test_philosophers_at_twelve_give_the_single_process_counts_exactly(cluster) -> None:
    model = load_model(str(PHILOSOPHERS), {"N": 12})
    local = explicit.explore(Interpreter(model, 0), stop_when_decided=False, progress=None)
    ex, search = D.explore(cluster, str(PHILOSOPHERS), {"N": 12}, None, stop_when_decided=False, progress=False)
    D.finish(search)
    assert counts(ex) == counts(local) == (1_684_801, 12_912_480, 44, 1, True)
    assert all(abs(size - 1_684_801 / 2) < 0.01 * 1_684_801 for size in search.sizes)  # the hash spreads them


@pytest.mark.parametrize("vector", [True, False], ids=["numpy", "scalar"])
def test_generated_specs_get_the_local_engines_counts_and_verdicts(cluster, tmp_path, vector) -> None:
    """The differential generator's specs (every construct of the language), both kinds of partition."""
    seen = []

    @seed(7 + vector)
    @settings(max_examples=16, deadline=None, database=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much,
                                     HealthCheck.function_scoped_fixture])
    @given(specs(), st.integers(0, 1))
    def run(text: str, budget: int) -> None:
        try:
            model = check_text(text, "<generated>")
        except SpecError:
            assume(False)
        path = tmp_path / f"g{len(seen)}.ftv"
        path.write_text(text)
        budget = budget if model.has_faults else 0
        interp = Interpreter(load_model(str(path), {}), budget)
        local = explicit.explore(interp, explicit.Limits(max_states=50_000), stop_when_decided=False,
                                 progress=None, vector=False)
        assume(local.complete)
        ex, search = D.explore(cluster, str(path), {}, budget, stop_when_decided=False, progress=False,
                               vector=vector)
        D.finish(search)
        assert counts(ex) == counts(local), text
        mine = D.check(cluster, str(path), {}, budget, progress=False, vector=vector)  # traces replayed inside
        theirs = explicit.report_of(local)
        decided = {r.property: r.verdict for r in theirs.results if r.kind in (*D.DECIDED_HERE, "type_ok")}
        assert {r.property: r.verdict for r in mine.results if r.property in decided} == decided, text
        seen.append(path)

    run()
    assert len(seen) >= 8


def test_counterexamples_and_witnesses_are_gathered_across_partitions_and_replayed(cluster, tmp_path) -> None:
    spec = tmp_path / "broken.ftv"
    spec.write_text(BROKEN)
    local = explicit.check(Interpreter(load_model(str(spec), {}), 0), progress=None)
    rep = D.check(cluster, str(spec), {}, None, progress=False)
    assert [(r.property, r.verdict) for r in rep.results] == [(r.property, r.verdict) for r in local.results]
    assert [(r.property, r.verdict) for r in rep.results] == [
        ("small", Verdict.VIOLATED), ("top", Verdict.PROVED), ("type_ok", Verdict.VIOLATED)]
    interp = Interpreter(load_model(str(spec), {}), 0)
    for r, mine in zip(rep.results, local.results, strict=True):
        assert r.trace is not None and len(r.trace.steps) == len(mine.trace.steps)  # shortest, as the local one
        if r.property != "type_ok":
            replay(interp, r.trace, interp.model.property(r.property), witness=r.kind == "reachable")
    assert rep.stats["workers"] == 2 and sum(rep.stats["partition_states"]) == rep.stats["states"]


def test_properties_that_need_the_whole_graph_stay_unknown(cluster) -> None:
    rep = D.check(cluster, str(MODELS / "recovery" / "minix_rs.ftv"), {}, None, progress=False)
    kinds = {r.kind: r for r in rep.results}
    assert kinds["invariant"].verdict == Verdict.PROVED
    assert kinds["recovers"].verdict == Verdict.UNKNOWN and "--cluster" in kinds["recovers"].message


def test_a_proof_script_on_the_cluster_prints_the_table_of_one_process(tmp_path) -> None:
    errs = []

    def table(*args: str) -> list[str]:
        code, out, err = run_cli("prove", CLASSIC_PROOFS, "--no-cache", *args)
        assert code == 0, out + err
        errs.append(err)
        rows = [ln.split() for ln in out.splitlines() if re.match(r"\s+\w+\s+\w+\.\w+\s+\d", ln)]
        return [" ".join(r[:6]) for r in rows]  # obligation, property, faults, method, engine, verdict

    alone = table("--jobs", "1", "-q")
    assert len(alone) == 12
    assert table("--cluster", "local:2") == alone
    # the workers' engines report their progress here, as a local pool's do
    assert "of 12 done, a local cluster of 2 workers" in errs[1] and "PDR level" in errs[1], errs[1][-400:]


def test_a_cluster_run_fills_the_proof_cache_that_a_run_here_reads(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("FTVERIFY_PROOF_CACHE", str(tmp_path / "cache.sqlite"))
    code, out, _ = run_cli("prove", CLASSIC_PROOFS, "--quiet", "--cluster", "local:2")
    assert code == 0 and "from the proof cache" not in out
    code, out, _ = run_cli("prove", CLASSIC_PROOFS, "--quiet", "--jobs", "1")
    assert code == 0 and out.count("from the proof cache") == 12


def test_a_worker_killed_mid_run_loses_no_result() -> None:
    proof = load_proof(str(ROOT / "proofs" / "classic.ftv"), {})
    warnings: list[str] = []
    with Cluster("local:2") as c:
        pids = list(c.client.run(os.getpid).values())

        def kill() -> None:
            time.sleep(1.0)
            for pid in pids:
                os.kill(pid, signal.SIGKILL)

        killer = threading.Thread(target=kill)
        killer.start()
        import ftverify.checker.commands.proofs as P

        real_echo = P.echo
        P.echo = lambda text, err=False: warnings.append(str(text))
        try:
            rep = run_proof(proof, ProofContext(progress=None, cluster=c))
        finally:
            P.echo = real_echo
            killer.join()
    assert len(rep.results) == 12
    assert rep.exit_code() == 0, [(ob.name, r.verdict, r.message) for ob, r in rep.results]
    assert any("was lost" in w and "runs again" in w for w in warnings), warnings


@pytest.mark.skipif(not PHILOSOPHERS.exists(), reason="needs ../shared/bench-models")
def test_a_worker_lost_mid_exploration_makes_its_verdicts_unknown_and_says_why() -> None:
    with Cluster("local:2") as c:
        pids = list(c.client.run(os.getpid).values())
        killer = threading.Timer(1.5, lambda: os.kill(pids[0], signal.SIGKILL))
        killer.start()
        rep = D.check(c, str(PHILOSOPHERS), {"N": 13}, None, progress=False)
        killer.join()
    excl = rep.results[0]
    assert excl.verdict == Verdict.UNKNOWN and "lost" in excl.message, excl.message


def test_fault_campaigns_on_the_cluster_print_and_write_what_one_process_does(tmp_path) -> None:
    args = ["faults", str(MODELS / "recovery" / "minix_rs.ftv"), str(MODELS / "redundancy" / "dmr.ftv"), "-q"]
    alone = run_cli(*args, "--jobs", "1", "--json", str(tmp_path / "alone.json"))
    spread = run_cli(*args, "--cluster", "local:2", "--json", str(tmp_path / "spread.json"))
    assert alone[0] == spread[0] == 0, spread

    def strip(text: str) -> str:
        return re.sub(r"\([0-9.]+ s\)", "", text)

    def timeless(x):
        if isinstance(x, dict):
            return {k: timeless(v) for k, v in x.items() if k != "seconds"}
        return [timeless(v) for v in x] if isinstance(x, list) else x

    assert strip(spread[1]) == strip(alone[1])
    written = [timeless(json.loads((tmp_path / f).read_text())) for f in ("alone.json", "spread.json")]
    assert written[0] == written[1]  # paths as given, not as the workers read them


@pytest.mark.parametrize("address, expected", [
    ("nowhere", "expected local:N"), ("local:0", "1 to 256 workers"), ("tcp://", "expected local:N")])
def test_a_bad_cluster_address_is_refused_before_any_work(address: str, expected: str) -> None:
    with pytest.raises(ValueError, match=re.escape(expected)):
        check_address(address)
    code, out, err = run_cli("prove", CLASSIC_PROOFS, "--cluster", address)
    assert code == 2 and expected in err and "Traceback" not in out + err


def test_cluster_options_that_do_not_go_together_are_refused() -> None:
    code, _, err = run_cli("prove", CLASSIC_PROOFS, "--cluster", "local:2", "--jobs", "2")
    assert code == 2 and "give one of them" in err
    code, _, err = run_cli("prove", str(MODELS / "classic" / "peterson.ftv"), "--cluster", "local:2")
    assert code == 2 and "--engine explicit" in err


def test_without_dask_the_option_says_how_to_install_it(monkeypatch) -> None:
    from ftverify.checker.cluster import backend

    monkeypatch.setattr(backend, "dask_installed", lambda: False)
    code, _, err = run_cli("prove", CLASSIC_PROOFS, "--cluster", "local:2")
    assert code == 2 and "pip install 'ftverify[cluster]'" in err


@pytest.mark.skipif(not PHILOSOPHERS.exists(), reason="needs ../shared/bench-models")
def test_ctrl_c_stops_the_partitioned_search_and_prints_what_it_reached() -> None:
    cmd = [sys.executable, "-c", "from ftverify.checker.commands.cli import main; main()", "prove",
           str(PHILOSOPHERS), "--engine", "explicit", "--const", "N=14", "--cluster", "local:2"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        # Progress shows within seconds (the cluster starts first)
        time.sleep(4.0)
        os.killpg(proc.pid, signal.SIGINT)  # as a terminal's Ctrl-C: the workers get it too
        out, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    assert proc.returncode == 3, err
    assert "states, depth" in err and "local cluster of 2 workers" in err
    assert re.search(r"unknown .*interrupted \(Ctrl-C\); explored [0-9,]+ states", out), out
    assert "Traceback" not in err
