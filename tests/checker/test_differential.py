"""Differential testing: on generated specs, every symbolic engine agrees with the explicit one,
and the Z3 encoding evaluates every expression as the interpreter does.

See tests/differential.py for what "agree" means; bench/differential.py runs thousands.
The specs are split into chunks (each its own seed) so that they run in parallel.
"""

from __future__ import annotations

import pytest
from ftverify.spec.errors import SpecError
from ftverify.spec.typecheck import check_text
from hypothesis import HealthCheck, assume, given, seed, settings
from hypothesis import strategies as st

from tests.differential import Agreement, check_agreement, check_encoding
from tests.strategies import specs

TALLY = Agreement()


CHUNKS = 2
SPECS_PER_CHUNK = 24  # about 21 pass the type checker (bench/differential.py runs thousands)


@pytest.mark.slow
@pytest.mark.parametrize("chunk", range(CHUNKS))
def test_symbolic_engines_agree_with_explicit(chunk):
    @seed(chunk)
    @settings(max_examples=SPECS_PER_CHUNK, deadline=None, database=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
    @given(specs(), st.integers(0, 2))
    def run(text, budget):
        try:
            model = check_text(text, "<generated>")
        except SpecError:
            assume(False)
        budget = budget if model.has_faults else 0
        check_encoding(model, budget, tally=TALLY)
        check_agreement(model, budget, tally=TALLY)

    run()


def test_the_generator_reaches_every_kind_of_verdict():
    """The generated specs are not all trivial: some violate, some hold, some fail to evaluate."""
    from ftverify.checker.engines import explicit
    from ftverify.checker.output.result import Verdict
    from ftverify.spec.interp import Interpreter

    seen: set[tuple[str, Verdict]] = set()

    @settings(max_examples=150, deadline=None, database=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
    @given(specs())
    def collect(text):
        try:
            m = check_text(text, "<generated>")
        except SpecError:
            return
        rep = explicit.check(Interpreter(m, 1 if m.has_faults else 0), progress=None)
        seen.update((r.kind, r.verdict) for r in rep.results)

    collect()
    for want in [("invariant", Verdict.PROVED), ("invariant", Verdict.VIOLATED), ("type_ok", Verdict.VIOLATED),
                 ("reachable", Verdict.PROVED), ("reachable", Verdict.VIOLATED), ("step", Verdict.PROVED),
                 ("step", Verdict.VIOLATED)]:
        assert want in seen, want
