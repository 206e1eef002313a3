"""The proof cache (checker/commands/proofcache.py): what it serves, what makes it miss."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from ftverify.checker.commands.proofcache import ProofCache, model_digest
from ftverify.checker.commands.proofs import ProofContext, load_proof, run_proof
from ftverify.checker.output.result import Verdict
from ftverify.spec.typecheck import check_text

from tests.conftest import run_cli

SPEC = """spec Counter
var x: 0..3
var done: bool
init { x == 0 && !done }
action inc when x < 3 { x := x + 1 }
action stop when x == 3 { done := true }
invariant small: x <= 3
invariant not_done: !done
invariant done_at_three: done -> x == 3
"""

PROOF = """proof CounterProofs
use "counter.ftv" as c
theorem bounded: c.small by induction
theorem never_done: c.not_done by bmc 10 expect violated
theorem stops_at_three: c.done_at_three by induction
"""


def write(tmp_path: Path, spec: str = SPEC) -> str:
    (tmp_path / "counter.ftv").write_text(spec)
    (tmp_path / "counter.proof.ftv").write_text(PROOF)
    return str(tmp_path / "counter.proof.ftv")


def run(path: str, db: Path) -> list:
    cache = ProofCache(db)
    try:
        rep = run_proof(load_proof(path), ProofContext(progress=None, cache=cache))
    finally:
        cache.close()
    return [r for _, r in rep.results]


def test_a_rerun_is_served_from_the_cache_and_a_violation_is_replayed(tmp_path: Path) -> None:
    path, db = write(tmp_path), tmp_path / "cache.sqlite"
    first = run(path, db)
    assert [r.verdict for r in first] == [Verdict.PROVED, Verdict.VIOLATED, Verdict.PROVED]
    assert not any(r.cached for r in first)
    again = run(path, db)
    assert all(r.cached for r in again)
    assert [r.verdict for r in again] == [r.verdict for r in first]
    assert again[1].trace is not None and len(again[1].trace) == len(first[1].trace) == 4
    assert again[1].trace.states[-1]["done"] is True


def test_comments_and_layout_do_not_matter_but_a_changed_model_does(tmp_path: Path) -> None:
    path, db = write(tmp_path), tmp_path / "cache.sqlite"
    run(path, db)
    write(tmp_path, "# a comment\n\n" + SPEC.replace("action inc", "action   inc"))
    assert all(r.cached for r in run(path, db))
    write(tmp_path, SPEC.replace("when x < 3", "when x < 2"))
    assert not any(r.cached for r in run(path, db))


def test_the_digest_ignores_locations_and_file_names() -> None:
    a = check_text(SPEC + "invariant q: forall i: 0..3. i <= 3\n", "a.ftv")
    b = check_text("# moved\n\n" + SPEC + "invariant   q:\n  forall i: 0..3. i <= 3   # same\n", "b.ftv")
    c = check_text(SPEC + "invariant q: forall i: 0..3. i <= 2\n", "a.ftv")
    assert model_digest(a) == model_digest(b) != model_digest(c)


def test_a_damaged_entry_is_proved_again(tmp_path: Path) -> None:
    path, db = write(tmp_path), tmp_path / "cache.sqlite"
    run(path, db)
    con = sqlite3.connect(db)
    for key, value in con.execute("SELECT key, value FROM verdicts").fetchall():
        d = json.loads(value)
        if "path" in d:  # the violation: a trace whose steps no longer match its states
            d["steps"] = d["steps"][:-1]
            con.execute("UPDATE verdicts SET value = ? WHERE key = ?", (json.dumps(d), key))
    con.commit()
    con.close()
    again = run(path, db)
    assert [r.cached for r in again] == [True, False, True]
    assert again[1].verdict == Verdict.VIOLATED and len(again[1].trace) == 4


def test_unknown_is_never_stored(tmp_path: Path) -> None:
    # true (done only at x == 3) but not inductive on its own: induction gives unknown with a CTI
    spec = SPEC.replace("invariant small: x <= 3", "invariant small: x <= 3\ninvariant weak: x != 2 || !done")
    (tmp_path / "counter.ftv").write_text(spec)
    (tmp_path / "p.ftv").write_text('proof P\nuse "counter.ftv" as c\ntheorem t: c.weak by induction\n')
    db = tmp_path / "cache.sqlite"
    cache = ProofCache(db)
    rep = run_proof(load_proof(str(tmp_path / "p.ftv")), ProofContext(progress=None, cache=cache))
    cache.close()
    assert rep.results[0][1].verdict == Verdict.UNKNOWN
    assert sqlite3.connect(db).execute("SELECT count(*) FROM verdicts").fetchone()[0] == 0


def test_the_cli_says_what_came_from_the_cache_and_no_cache_bypasses_it(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("FTVERIFY_PROOF_CACHE", str(tmp_path / "cache.sqlite"))
    path = write(tmp_path)
    code, out, _ = run_cli("prove", path, "--quiet")
    assert code == 0 and "from the proof cache" not in out
    code, out, _ = run_cli("prove", path, "--quiet")
    assert code == 0 and out.count("from the proof cache") == 3
    code, out, _ = run_cli("prove", path, "--quiet", "--no-cache")
    assert code == 0 and "from the proof cache" not in out
    code, out, _ = run_cli("prove", path, "--quiet", "--json")
    assert all(o.get("cached") for o in json.loads(out)["files"][0]["obligations"])


def test_an_unusable_cache_is_said_and_everything_is_proved(tmp_path: Path, monkeypatch) -> None:
    bad = tmp_path / "not-a-database.sqlite"
    bad.write_text("garbage")
    monkeypatch.setenv("FTVERIFY_PROOF_CACHE", str(bad))
    code, out, err = run_cli("prove", write(tmp_path), "--quiet", "--jobs", "1")
    assert code == 0 and "proof cache not used" in err and "file is not a database" in err
    assert "from the proof cache" not in out and bad.read_text() == "garbage"


def forge(db: Path, change) -> None:
    """Rewrite every stored verdict with `change(d)` (a cache written by someone else, or damaged)."""
    con = sqlite3.connect(db)
    for key, value in con.execute("SELECT key, value FROM verdicts").fetchall():
        d = json.loads(value)
        change(d)
        con.execute("UPDATE verdicts SET value = ? WHERE key = ?", (json.dumps(d), key))
    con.commit()
    con.close()


def test_recheck_cache_revalidates_certificates_and_proves_forged_verdicts_afresh(tmp_path: Path,
                                                                                monkeypatch) -> None:
    db = tmp_path / "cache.sqlite"
    monkeypatch.setenv("FTVERIFY_PROOF_CACHE", str(db))
    path = write(tmp_path)
    assert run_cli("prove", path, "--quiet", "--jobs", "1")[0] == 0
    code, out, _ = run_cli("prove", path, "--quiet", "--recheck-cache")
    assert code == 0 and out.count("from the proof cache") == 3
    assert out.count("invariant re-checked") == 2 and out.count("trace replayed") == 1

    def tamper(d: dict) -> None:
        if d["invariant"]:  # an invariant that is true initially but not inductive
            d["invariant"] = [*d["invariant"], "x == 0"]
        if "path" in d:  # a trace whose last step leads elsewhere than it says
            d["path"][-1] = d["path"][0]

    forge(db, tamper)
    code, out, _ = run_cli("prove", path, "--quiet")  # without the flag the forged verdicts are served
    assert out.count("from the proof cache") == 3
    code, out, err = run_cli("prove", path, "--quiet", "--recheck-cache")
    assert code == 0 and "from the proof cache" not in out
    assert err.count("failed its re-check") == 3
    code, out, _ = run_cli("prove", path, "--quiet", "--recheck-cache")  # the fresh proofs replaced them
    assert code == 0 and out.count("from the proof cache") == 3


def test_recheck_cache_goes_with_the_cache() -> None:
    code, _, err = run_cli("prove", "proofs/classic.ftv", "--no-cache", "--recheck-cache")
    assert code == 2 and "not with --no-cache" in err
