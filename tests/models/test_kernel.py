"""The capability kernel: seeded bugs are caught with their shortest traces, and the hardening verdicts."""

from __future__ import annotations

from pathlib import Path

import pytest
from ftverify.checker.engines.portfolio import EngineOptions, prove_property
from ftverify.checker.engines.replay import replay
from ftverify.checker.output.result import Verdict
from ftverify.spec.interp import Interpreter
from ftverify.spec.typecheck import load_model

from tests.conftest import MODELS

KERNEL = MODELS / "kernel"


def kernel_copy(tmp_path: Path, old: str = "", new: str = "") -> Path:
    """The kernel specs in tmp_path, with `old` replaced by `new` in abstract.ftv (which must contain it)."""
    (tmp_path / "kernel").mkdir()
    (tmp_path / "machine.ftv").write_text((MODELS / "machine.ftv").read_text())
    for f in ("common.ftv", "concrete.ftv", "abstract.ftv"):
        text = (KERNEL / f).read_text()
        if f == "abstract.ftv" and old:
            assert old in text, f"seeded bug: {old!r} is not in the spec any more"
            text = text.replace(old, new)
        (tmp_path / "kernel" / f).write_text(text)
    return tmp_path / "kernel" / "abstract.ftv"


# (bug, text to replace, replacement, property it breaks, shortest counterexample length, an action of it)
SEEDED = [
    ("mint may add rights", "insert(mk(EP0, cap[slot(t, i)].rights & mask(m), b)",
     "insert(mk(EP0, cap[slot(t, i)].rights | mask(m), b)", "no_amplification", 1, "mint"),
    ("revoke leaves grandchildren", "if desc(d, slot(t, i)) { cap[d] := null_cap",
     "if cdt[d] == slot(t, i) { cap[d] := null_cap", "revoke_complete", 2, "revoke"),
    ("delete leaves a dangling child", "forall c: Slot { if cdt[c] == p { cdt[c] := cdt[p] } }", "skip",
     "cdt_valid", 1, "delete"),
    ("IPC transfers without grant", "when !halted && t != u && has(cap[slot(t, e)], W | G)",
     "when !halted && t != u && has(cap[slot(t, e)], W)", "confined", 1, "send_grant"),
    ("write without the write right", "action write(t: Thread, i: Local)\n  when !halted && has(cap[slot(t, i)], W)",
     "action write(t: Thread, i: Local)\n  when !halted && has(cap[slot(t, i)], R)", "integrity", 3, "write"),
]


@pytest.mark.parametrize("bug, old, new, prop, length, first", SEEDED, ids=[s[0] for s in SEEDED])
def test_seeded_kernel_bugs_are_caught_with_their_shortest_trace(tmp_path: Path, bug: str, old: str, new: str,
                                                                 prop: str, length: int, first: str) -> None:
    model = load_model(str(kernel_copy(tmp_path, old, new)))
    r = prove_property(model, 0, prop, "bmc", EngineOptions(depth=length + 1, progress=None))
    assert r.verdict == Verdict.VIOLATED, f"{bug}: {r.verdict} {r.message}"
    assert r.trace is not None and len(r.trace) == length and first in [s.action for s in r.trace.steps]
    replay(Interpreter(model, 0), r.trace, model.property(prop))
    # and the shipped kernel has no such trace
    if length <= 2:
        ok = prove_property(load_model(str(KERNEL / "abstract.ftv")), 0, prop, "bmc",
                            EngineOptions(depth=length, progress=None))
        assert ok.verdict == Verdict.HOLDS


def test_one_flipped_rights_bit_amplifies_authority_without_protection() -> None:
    model = load_model(str(KERNEL / "abstract.ftv"), {"CAP_FAULTS": True})
    r = prove_property(model, 1, "confined", "bmc", EngineOptions(depth=2, progress=None))
    assert r.verdict == Verdict.VIOLATED and r.trace is not None and len(r.trace) == 1
    assert r.trace.steps[0].action == "flip_right" and r.trace.steps[0].is_fault


def test_parity_detects_one_flip_and_two_flips_defeat_it() -> None:
    model = load_model(str(KERNEL / "abstract.ftv"), {"CAP_FAULTS": True, "PARITY": True})
    one = prove_property(model, 1, "confined", "bmc", EngineOptions(depth=3, progress=None))
    assert one.verdict == Verdict.HOLDS
    two = prove_property(model, 2, "confined", "bmc", EngineOptions(depth=3, progress=None))
    assert two.verdict == Verdict.VIOLATED and two.trace is not None and len(two.trace) == 2
    assert all(s.action == "flip_right" for s in two.trace.steps)


def test_boolean_constants_are_overridden_with_booleans_only() -> None:
    from ftverify.spec.errors import SpecError

    with pytest.raises(SpecError, match="boolean"):
        load_model(str(KERNEL / "abstract.ftv"), {"PARITY": 5})
