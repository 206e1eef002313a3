"""What every engine returns: one `Result` per property, one `Trace` type.

Verdicts are exactly the four of DESIGN.md; nothing else is ever printed, and
`proved` only where a check established it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from ftverify.spec.budget import FaultBudget
from ftverify.spec.interp import Label


class EncodingError(Exception):
    """The model uses something the symbolic engines cannot encode (reported as unknown)."""


class EngineBug(AssertionError):
    """An engine's answer failed the independent check it must pass before it is
    shown (a trace that does not replay, a proof that does not re-check): the
    answer is withheld and the property reported `unknown`, never decided."""


class RecheckFailed(EngineBug):
    """A proof did not survive its independent re-check."""


class RecheckUnfinished(Exception):
    """A re-check ran out of time (or the solver gave up): the proof is not established."""


def withheld(e: Exception) -> str:
    """The `unknown` message for an answer that did not pass its independent check."""
    if isinstance(e, RecheckUnfinished):
        return f"re-check did not finish ({e}): the proof is not established"
    return (f"the engine's answer failed its independent check ({e}); this is a bug in ftverify, "
            "please report it with the spec")


class Verdict(StrEnum):
    PROVED = "proved"  # for every reachable state (explicit: exhaustive; symbolic: an inductive invariant)
    HOLDS = "holds"  # up to a bound (`depth`)
    VIOLATED = "violated"  # with a trace
    UNKNOWN = "unknown"  # with the reason in `message`

    def __str__(self) -> str:
        return self.value


@dataclass
class Trace:
    """States s0..sn (plain values, see `types.decode`) and the n steps between them.

    `failing` is a last step that has no successor because it fails to evaluate
    (a `type_ok` violation): its label and the error message.
    """

    states: list[dict[str, Any]]
    steps: list[Label]
    faults: list[int] = field(default_factory=list)  # faults used up to each state
    failing: tuple[Label | None, str] | None = None
    # A lasso (a liveness violation): after the last state the run goes back to states[loop], by
    # `loop_step` (None: it stays in the last state for ever, which is then states[loop])
    loop: int | None = None
    loop_step: Label | None = None

    def __len__(self) -> int:
        """The length of the trace: its number of steps, the failing one included."""
        return len(self.steps) + (1 if self.failing and self.failing[0] is not None else 0)


@dataclass
class CTI:
    """A counterexample to induction: a state satisfying every conjunct of the
    candidate invariant, and a step from it to a state that breaks `broken`.

    The pre-state need not be reachable: a CTI says the invariant is too weak
    to be proved by induction, not that the property fails.
    """

    pre: dict[str, Any]
    label: Label
    post: dict[str, Any]
    broken: list[str]
    pre_faults: int = 0  # fault codes (see `StateLayout.faults`)
    post_faults: int = 0
    faults_text: str = ""  # the pre-state's fault counters, for people


@dataclass
class Result:
    property: str
    kind: str  # "invariant", "reachable", "recovers", "leadsto", "eventually", "type_ok", "refinement", "theorem"
    verdict: Verdict
    engine: str
    trace: Trace | None = None
    depth: int | None = None  # the bound of `holds`, or the k of k-induction
    message: str = ""
    invariant: list[str] | None = None  # an inductive invariant, as .ftv expressions
    stats: dict[str, Any] = field(default_factory=dict)
    seconds: float = 0.0
    expected: str | None = None  # a proof script's `expect`
    cti: CTI | None = None  # why an induction failed
    cached: bool = False  # served from the proof cache (its `seconds` are those of the run that proved it)

    @property
    def meets_expectation(self) -> bool:
        if self.expected is None:
            return self.verdict in (Verdict.PROVED, Verdict.HOLDS)
        if self.expected == "violated":
            return self.verdict == Verdict.VIOLATED
        if self.expected == "holds":
            return self.verdict in (Verdict.PROVED, Verdict.HOLDS)
        return self.verdict == Verdict.PROVED


@dataclass
class Report:
    """The results of one check of one model."""

    model: str
    file: str
    budget: FaultBudget | int
    results: list[Result]
    engine: str
    warnings: list[tuple[str, Trace | None]] = field(default_factory=list)
    stats: dict[str, Any] = field(default_factory=dict)
    seconds: float = 0.0

    def exit_code(self) -> int:
        """0 all as expected, 1 a property violated (unexpectedly), 3 something unknown."""
        return exit_code(self.results)


def exit_code(results: list[Result]) -> int:
    if any(not r.meets_expectation and r.verdict == Verdict.VIOLATED for r in results):
        return 1
    if any(not r.meets_expectation and r.expected == "violated" and r.verdict != Verdict.UNKNOWN
           for r in results):
        return 1
    if any(not r.meets_expectation for r in results):
        return 3
    return 0
