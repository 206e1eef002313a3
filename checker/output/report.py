"""Results for people and machines: terminal tables, step tables, JSON and ITF.

No reporter calls a solver or an engine: they only read `Result`s and `Trace`s.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import Any

from ftverify.checker.output.result import CTI, Report, Result, Trace, Verdict
from ftverify.spec.interp import Label
from ftverify.spec.types import MapValue, field_text, format_value, sort_key

MAX_TABLE_COLUMNS = 7  # more changing leaves than this print as per-step lists


# ---------------------------------------------------------------- tables
def table(rows: list[list[str]], header: list[str] | None = None, indent: str = "  ") -> str:
    """Left-aligned columns, as plain text (greppable, and stable in golden files)."""
    allrows = ([header] if header else []) + rows
    if not allrows:
        return ""
    n = max(len(r) for r in allrows)
    widths = [max((len(r[i]) for r in allrows if i < len(r)), default=0) for i in range(n)]
    out = []
    for r in allrows:
        cells = [c.ljust(widths[i]) for i, c in enumerate(r)]
        out.append((indent + "  ".join(cells)).rstrip())
    if header:
        out.insert(1, indent + "  ".join("-" * w for w in widths))
    return "\n".join(out)


# ---------------------------------------------------------------- traces
def _leaves(value: Any, path: str, out: dict[str, Any]) -> None:
    if isinstance(value, MapValue):
        for k, v in value.items():
            _leaves(v, f"{path}[{format_value(k)}]", out)
    elif isinstance(value, dict):
        for k, v in value.items():
            _leaves(v, field_text(path, k), out)
    else:
        out[path] = value


def flatten_state(state: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, v in state.items():
        _leaves(v, name, out)
    return out


def format_trace(trace: Trace, indent: str = "    ") -> str:
    """A step table of what changed at each step; fault steps are marked FAULT."""
    flat = [flatten_state(s) for s in trace.states]
    leaves = list(flat[0])
    changing = [x for x in leaves if any(f[x] != flat[0][x] for f in flat[1:])]
    labels = ["(initial)"] + [_step_text(lab) for lab in trace.steps]
    lines = []
    if len(changing) <= MAX_TABLE_COLUMNS:
        rows = []
        for i, f in enumerate(flat):
            row = [str(i), labels[i]]
            for x in changing:
                row.append(format_value(f[x]) if i == 0 or f[x] != flat[i - 1][x] else "")
            rows.append(row)
        if trace.loop_step is not None:
            rows.append([str(len(flat)), f"{_step_text(trace.loop_step)}, back to {trace.loop}",
                         *([""] * len(changing))])
        lines.append(table(rows, ["step", "action", *changing], indent))
        fixed = [x for x in leaves if x not in changing]
        if fixed:
            lines.append(indent + "unchanged: " + _joined(f"{x} = {format_value(flat[0][x])}" for x in fixed))
    else:
        lines.append(f"{indent}0  (initial)")
        lines.append(indent + "     " + _joined(f"{x} = {format_value(flat[0][x])}" for x in leaves))
        for i in range(1, len(flat)):
            diff = [f"{x} = {format_value(flat[i][x])}" for x in leaves if flat[i][x] != flat[i - 1][x]]
            lines.append(f"{indent}{i}  {labels[i]}")
            lines.append(indent + "     " + (_joined(diff) if diff else "(no change)"))
        if trace.loop_step is not None:
            lines.append(f"{indent}{len(flat)}  {_step_text(trace.loop_step)}, back to {trace.loop}")
    if trace.failing is not None:
        label, msg = trace.failing
        where = f"{len(flat)}  {_step_text(label)}" if label else "  guard"
        lines.append(f"{indent}{where}  fails: {msg}")
    if trace.loop is not None:
        if trace.loop_step is None:
            lines.append(f"{indent}then nothing more happens: the run stays in state {trace.loop} for ever "
                         "(no fair action is enabled there)")
        else:
            lines.append(f"{indent}then states {trace.loop} to {len(flat) - 1} repeat for ever")
    return "\n".join(lines)


def _step_text(lab: Label) -> str:
    return ("FAULT " if lab.is_fault else "") + str(lab)


def _joined(items: Iterable[str], width: int = 100) -> str:
    out, line = [], ""
    for it in items:
        if line and len(line) + len(it) + 2 > width:
            out.append(line + ",")
            line = it
        else:
            line = f"{line}, {it}" if line else it
    out.append(line)
    return "\n         ".join(out)


def budget_json(b: Any) -> Any:
    """A fault budget in JSON: the number for the usual shared one, else {"shared": n, FAULT: n|"unbounded"}."""
    return b.to_json() if hasattr(b, "to_json") else b


def budget_text(b: Any) -> str:
    """A fault budget (or its JSON form) for people: `1`, or `1, crash=1, lose=unbounded`."""
    if isinstance(b, dict):
        return ", ".join([str(b.get("shared", 0)), *(f"{k}={v}" for k, v in b.items() if k != "shared")])
    return str(b)


def format_cti(cti: CTI, indent: str = "    ") -> str:
    """A counterexample to induction: the whole pre-state, the step, what changed."""
    pre, post = flatten_state(cti.pre), flatten_state(cti.post)
    used = cti.faults_text or str(cti.pre_faults)
    lines = [f"{indent}pre-state (satisfies every conjunct; need not be reachable), faults used {used}:"]
    lines.append(indent + "     " + _joined(f"{x} = {format_value(v)}" for x, v in pre.items()))
    lines.append(f"{indent}step: {_step_text(cti.label)}")
    diff = [f"{x} = {format_value(post[x])}" for x in post if post[x] != pre.get(x)]
    lines.append(f"{indent}post-state changes: " + (_joined(diff) if diff else "(none)"))
    lines.append(f"{indent}broken in the post-state: {', '.join(cti.broken)}")
    return "\n".join(lines)


INFERRED_SHOWN = 8  # conjuncts of an inferred invariant printed (they can be hundreds)


def format_invariant(r: Result, indent: str = "    ") -> str:
    """An invariant found by PDR, as helper invariants a user can paste into the spec."""
    assert r.invariant is not None
    if r.engine != "pdr":
        return f"{indent}inductive: " + " && ".join(r.invariant)
    if r.message.endswith("not expressible in .ftv)"):
        return f"{indent}(SMT-LIB) " + "\n".join(r.invariant)
    return "\n".join(f"{indent}invariant {r.property}_{i}: {text}" for i, text in enumerate(r.invariant, 1))


def _extras(r: Result, where: str, shown: set[Any] | None = None) -> list[str]:
    out = []
    if r.cti is not None and (shown is None or id(r.cti) not in shown):
        if shown is not None:
            shown.add(id(r.cti))  # one check can explain several properties: show its CTI once
        out += ["", f"counterexample to induction for {where}:", format_cti(r.cti)]
    if r.invariant is not None and r.verdict in (Verdict.PROVED, Verdict.VIOLATED) and r.engine == "pdr":
        what = "unreachability" if r.kind == "reachable" else r.property
        out += ["", f"inductive invariant proving {what} (found by PDR, re-checked):", format_invariant(r)]
    elif r.invariant is not None and r.verdict == Verdict.PROVED and r.engine == "infer":
        shown_parts = r.invariant[:INFERRED_SHOWN]
        more = len(r.invariant) - len(shown_parts)
        out += ["", f"inductive invariant proving {r.property} (inferred, re-checked by induction):"]
        out += [f"    invariant {r.property}_{i}: {text}" for i, text in enumerate(shown_parts, 1)]
        if more:
            out.append(f"    ... and {more} more (--json lists them all)")
    elif r.invariant is not None and r.verdict == Verdict.PROVED and shown is not None and "inv" not in shown:
        shown.add("inv")  # one induction can prove several properties: say it once
        out += ["", f"inductive invariant (re-checked): {' && '.join(r.invariant)}"]
    return out


# ---------------------------------------------------------------- reports
def _detail(r: Result) -> str:
    parts = []
    if r.cached:
        first = r.stats.get("first_seconds")
        parts.append("from the proof cache" + (f" (first found in {first:.2f} s)" if first is not None else ""))
        if r.stats.get("rechecked"):
            parts.append(str(r.stats["rechecked"]))
    if r.verdict == Verdict.HOLDS and r.depth is not None:
        parts.append(f"to depth {r.depth}")
    if r.verdict == Verdict.PROVED and r.depth is not None and r.engine == "kind" and r.trace is None:
        parts.append(f"k = {r.depth}")
    if r.trace is not None:
        n = len(r.trace)
        parts.append(f"{'witness' if r.kind == 'reachable' else 'trace'} of {n} step{'s' if n != 1 else ''}")
    if (r.message and r.verdict != Verdict.VIOLATED) or (r.message and r.kind in ("reachable", "recovers", "type_ok")):
        parts.append(r.message)
    return "; ".join(parts)


def _verdict_text(r: Result) -> str:
    text = str(r.verdict)
    if r.verdict == Verdict.HOLDS:
        text = "holds"
    if r.expected is not None:
        text += " (as expected)" if r.meets_expectation else f" (expected {r.expected})"
    return text


def format_report(rep: Report, *, show_traces: bool = True) -> str:
    faults = f"faults <= {rep.budget}" if not getattr(rep.budget, "own", ()) else f"fault budget {rep.budget}"
    out = [f"{rep.model} ({rep.file}), {faults}, engine {rep.engine}"]
    st = rep.stats
    if "states" in st:
        up_to = f" up to symmetry of {st['symmetry']} ({st['renamings']} renamings)" if st.get("symmetry") else ""
        line = f"  {st['states']:,} states{up_to}, {st.get('transitions', 0):,} transitions, depth {st.get('depth', 0)}"
        line += f", {rep.seconds:.2f} s"
        if st.get("workers"):
            line += f", partitioned over {st['workers']} cluster worker{'s' * (st['workers'] != 1)}"
        if st.get("stopped"):
            line += f" (stopped: {st['stopped']})"
        out.append(line)
        if st.get("no_symmetry"):
            out.append(f"  symmetry not used: {st['no_symmetry']}")
    rows = [[r.property, r.kind, _verdict_text(r), r.engine, _detail(r)] for r in rep.results]
    out.append("")
    out.append(table(rows, ["property", "kind", "verdict", "engine", "detail"]))
    if show_traces:
        for r in rep.results:
            if r.trace is None:
                continue
            if r.verdict == Verdict.VIOLATED:
                what = {"recovers": "a state from which recovery is impossible",
                        "type_ok": "a step that leaves its type",
                        "step": "shortest counterexample, the last step breaks it"}.get(r.kind, "shortest counterexample")
                out.append("")
                if r.trace.loop is not None:
                    loop = len(r.trace.states) - r.trace.loop
                    out.append(f"violated: {r.property} ({r.kind}): a fair run that never gets there: "
                               f"{r.trace.loop} step(s), then a loop of {loop} state(s) for ever")
                else:
                    out.append(f"violated: {r.property} ({r.kind}): {what}, {len(r.trace)} step(s)")
                if r.message:
                    out.append(f"  {r.message}")
            else:
                out.append("")
                out.append(f"witness: {r.property} ({r.kind}), {len(r.trace)} step(s)")
            out.append(format_trace(r.trace))
        shown: set[Any] = set()
        for r in rep.results:
            out += _extras(r, f"{r.property} ({r.kind})", shown)
    for msg, tr in rep.warnings:
        out.append("")
        out.append(f"warning: {msg}")
        if tr is not None and show_traces:
            out.append(format_trace(tr))
    return "\n".join(out)


# ---------------------------------------------------------------- JSON
def jsonable(v: Any) -> Any:
    if isinstance(v, MapValue):
        return {format_value(k): jsonable(x) for k, x in v.items()}
    if isinstance(v, dict):
        return {k: jsonable(x) for k, x in v.items()}
    if isinstance(v, frozenset):
        return [jsonable(x) for x in sorted(v, key=sort_key)]
    if isinstance(v, list | tuple):
        return [jsonable(x) for x in v]
    return v


def _label_json(lab: Label) -> dict[str, Any]:
    return {"action": lab.action, "args": {k: jsonable(v) for k, v in lab.args}, "fault": lab.is_fault}


def trace_json(t: Trace) -> dict[str, Any]:
    out: dict[str, Any] = {
        "states": [jsonable(s) for s in t.states],
        "steps": [_label_json(lab) for lab in t.steps],
        "length": len(t),
    }
    if t.failing is not None:
        lab, msg = t.failing
        out["failing"] = {"action": lab.action if lab else None,
                          "args": {k: jsonable(v) for k, v in lab.args} if lab else {}, "error": msg}
    if t.loop is not None:
        out["loop"] = t.loop
        out["loop_step"] = None if t.loop_step is None else _label_json(t.loop_step)
    return out


def result_json(r: Result) -> dict[str, Any]:
    out: dict[str, Any] = {"property": r.property, "kind": r.kind, "verdict": str(r.verdict), "engine": r.engine,
                           "seconds": round(r.seconds, 4)}
    if r.depth is not None:
        out["depth"] = r.depth
    if r.message:
        out["message"] = r.message
    if r.invariant is not None:
        out["invariant"] = r.invariant
    if r.expected is not None:
        out["expected"] = r.expected
        out["as_expected"] = r.meets_expectation
    if r.trace is not None:
        out["trace"] = trace_json(r.trace)
    if r.cti is not None:
        out["cti"] = {"pre": jsonable(r.cti.pre), "step": {"action": r.cti.label.action,
                                                           "args": {k: jsonable(v) for k, v in r.cti.label.args},
                                                           "fault": r.cti.label.is_fault},
                      "post": jsonable(r.cti.post), "broken": r.cti.broken}
    if r.stats:
        out["stats"] = r.stats
    if r.cached:
        out["cached"] = True
    return out


def report_json(rep: Report) -> dict[str, Any]:
    return {
        "model": rep.model, "file": rep.file, "faults": budget_json(rep.budget), "engine": rep.engine,
        "stats": rep.stats, "seconds": round(rep.seconds, 4),
        "results": [result_json(r) for r in rep.results],
        "warnings": [{"message": m, **({"trace": trace_json(t)} if t else {})} for m, t in rep.warnings],
        "exit_code": rep.exit_code(),
    }


# ---------------------------------------------------------------- ITF
def _itf_value(v: Any) -> Any:
    if isinstance(v, bool):
        return v
    if isinstance(v, int):
        return {"#bigint": str(v)}
    if isinstance(v, str):
        return v
    if isinstance(v, MapValue):
        return {"#map": [[_itf_value(k), _itf_value(x)] for k, x in v.items()]}
    if isinstance(v, dict):
        return {k: _itf_value(x) for k, x in v.items()}
    if isinstance(v, frozenset):
        return {"#set": [_itf_value(x) for x in sorted(v, key=sort_key)]}
    if isinstance(v, list):
        return [_itf_value(x) for x in v]
    raise TypeError(f"no ITF form for {v!r}")


def trace_itf(t: Trace, source: str, description: str) -> dict[str, Any]:
    """The trace in Apalache's Informal Trace Format (ADR-015); steps go in each state's #meta."""
    states = []
    for i, s in enumerate(t.states):
        meta: dict[str, Any] = {"index": i}
        if i > 0:
            lab = t.steps[i - 1]
            meta["action"] = lab.action
            meta["args"] = {k: _itf_value(v) for k, v in lab.args}
            meta["fault"] = lab.is_fault
        states.append({"#meta": meta, **{k: _itf_value(v) for k, v in s.items()}})
    if t.failing is not None and t.failing[0] is not None:
        states[-1]["#meta"]["failing_step"] = str(t.failing[0])
        states[-1]["#meta"]["error"] = t.failing[1]
    out = {
        "#meta": {
            "format": "ITF",
            "format-description": "https://apalache-mc.org/docs/adr/015adr-trace.html",
            "source": source,
            "description": description,
            "timestamp": int(time.time() * 1000),
        },
        "vars": list(t.states[0]),
        "states": states,
    }
    if t.loop is not None:  # a lasso: after the last state comes states[loop], for ever
        out["loop"] = t.loop
        if t.loop_step is not None:
            out["#meta"]["loop_step"] = {"action": t.loop_step.action,
                                         "args": {k: _itf_value(v) for k, v in t.loop_step.args},
                                         "fault": t.loop_step.is_fault}
    return out


def dumps(obj: Any) -> str:
    import json  # only when JSON is asked for (start-up)

    return json.dumps(obj, indent=2, sort_keys=False)


# ---------------------------------------------------------------- proof scripts
def format_proof_report(rep: Any, *, show_traces: bool = True) -> str:
    """A table of obligations: theorem, property, fault budget, method, verdict, time."""
    proof = rep.proof
    out = [f"proof {proof.name} ({proof.file}): {len(rep.results)} obligation(s), {rep.seconds:.2f} s", ""]
    rows = []
    for ob, r in rep.results:
        rows.append([ob.name, f"{ob.alias}.{ob.theorem.prop}", budget_text(r.stats.get("faults", "")),
                     r.stats.get("method", ""), r.engine, _verdict_text(r), f"{r.seconds:.2f}s", _detail(r)])
    out.append(table(rows, ["theorem", "property", "faults", "method", "engine", "verdict", "time", "detail"]))
    if show_traces:
        for ob, r in rep.results:
            if r.trace is not None and r.verdict == Verdict.VIOLATED:
                out.append("")
                out.append(f"{ob.name}: {ob.alias}.{ob.theorem.prop} violated under {budget_text(r.stats.get('faults'))} "
                           f"fault(s), {len(r.trace)} step(s)" + ("" if r.meets_expectation else "  [UNEXPECTED]"))
                if r.message:
                    out.append(f"  {r.message}")
                out.append(format_trace(r.trace))
            elif not r.meets_expectation and r.message:
                out.append("")
                out.append(f"{ob.name}: {r.verdict}: {r.message}")
            out += _extras(r, ob.name)
    failed = [ob.name for ob, r in rep.results if not r.meets_expectation]
    out.append("")
    out.append(f"{len(rep.results) - len(failed)} of {len(rep.results)} obligation(s) as expected"
               + (f"; not as expected: {', '.join(failed)}" if failed else ""))
    return "\n".join(out)


def proof_report_json(rep: Any) -> dict[str, Any]:
    return {
        "proof": rep.proof.name, "file": rep.proof.file, "seconds": round(rep.seconds, 4),
        "obligations": [{"theorem": ob.name, "model": ob.alias, **result_json(r)} for ob, r in rep.results],
        "exit_code": rep.exit_code(),
    }


JSON_SCHEMA = 1  # docs/json.md; raised whenever a field changes meaning or goes away


def document(command: str, payload: dict[str, Any]) -> dict[str, Any]:
    """The one envelope of every JSON document ftverify prints or writes."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        v = version("ftverify")
    except PackageNotFoundError:  # running from a source tree that is not installed
        v = "unknown"
    return {"schema": JSON_SCHEMA, "tool": "ftverify", "version": v, "command": command, **payload}


def _outcomes(reports: list[Any]) -> list[Result]:
    out: list[Result] = []
    for rep in reports:
        out += rep.results if isinstance(rep, Report) else [r for _, r in rep.results]
    return out


def summary(reports: list[Any]) -> dict[str, int]:
    """Counts over every result of every file: as expected, violated, unknown."""
    results = _outcomes(reports)
    return {"results": len(results), "as_expected": sum(r.meets_expectation for r in results),
            "violated": sum(not r.meets_expectation and r.verdict == Verdict.VIOLATED for r in results),
            "unknown": sum(not r.meets_expectation and r.verdict != Verdict.VIOLATED for r in results)}


def results_json(command: str, reports: list[Any], stopped: str | None) -> dict[str, Any]:
    """`prove --json`: one object whatever the number of files: each spec's report or proof
    script's obligations under `files`, in order, and the totals."""
    files = [report_json(r) if isinstance(r, Report) else proof_report_json(r) for r in reports]
    return document(command, {"files": files, "summary": summary(reports), "stopped": stopped,
                              "exit_code": max((f["exit_code"] for f in files), default=0)})


def format_total(reports: list[Any], stopped: str | None, seconds: float) -> str:
    """One line over every file of a run (`prove proofs/`)."""
    s = summary(reports)
    files = len(reports)
    line = (f"total: {s['results']} result(s) in {files} file{'s' if files != 1 else ''}: {s['as_expected']} as "
            f"expected, {s['violated']} violated, {s['unknown']} unknown, {seconds:.1f} s")
    return line + (f" (stopped: {stopped})" if stopped else "")


def format_mismatch(mm: Any, indent: str = "    ") -> str:
    """A refinement failure: the concrete step, the abstract images, the step that was expected."""
    lines = []
    if mm.trace is not None:
        lines.append(f"{indent}a shortest trace to the concrete pre-state:")
        lines.append(format_trace(mm.trace, indent + "  "))
    else:
        pre = flatten_state(mm.pre)
        lines.append(f"{indent}concrete pre-state (satisfies the refinement's invariants; need not be reachable):")
        lines.append(indent + "     " + _joined(f"{x} = {format_value(v)}" for x, v in pre.items()))
    lines.append(f"{indent}concrete step: {_step_text(mm.label)}")
    for what, a, b in (("concrete", mm.pre, mm.post), ("abstract image", mm.abstract_pre, mm.abstract_post)):
        fa, fb = flatten_state(a), flatten_state(b)
        diff = [[x, format_value(fa.get(x)), format_value(fb[x])] for x in fb if fa.get(x) != fb[x]]
        lines.append(f"{indent}{what} changes:" + ("" if diff else " (none)"))
        if diff:
            lines.append(table(diff, ["variable", "before", "after"], indent + "  "))
    if mm.abstract_pre:
        lines.append(f"{indent}abstract image of the pre-state:")
        lines.append(indent + "     " + _joined(f"{x} = {format_value(v)}"
                                               for x, v in flatten_state(mm.abstract_pre).items()))
    lines.append(f"{indent}expected abstract step: {mm.expected}")
    lines.append(f"{indent}but: {mm.reason}")
    return "\n".join(lines)


def format_refinement(rep: Any) -> str:
    r = rep.refinement
    lines = [f"{rep.model.name} refines {r.abstract.name} ({r.name}), fault budget {rep.budget}, engine {rep.engine}"]
    if rep.obligations:
        lines.append(table([[n, f"{s:.2f} s"] for n, s in rep.obligations], ["obligation", "time"]))
    if rep.stats:
        lines.append("  " + ", ".join(f"{k}: {v:,}" for k, v in rep.stats.items()))
    lines.append(f"  {rep.verdict}: {rep.message} ({rep.seconds:.1f} s)")
    if rep.mismatch is not None:
        lines.append(format_mismatch(rep.mismatch))
    if rep.invariants is not None and rep.invariants.cti is not None:
        lines.append(format_cti(rep.invariants.cti))
    return "\n".join(lines)


def format_state_lines(state: dict[str, Any]) -> list[str]:
    """A spec state one line per variable (a map of records one line per key)."""
    out = []
    for name, v in state.items():
        if isinstance(v, MapValue) and any(isinstance(x, dict) for x in v.values()):
            out += [f"{name}[{k}] = {format_value(x)}" for k, x in v.items()]
        else:
            out.append(f"{name} = {format_value(v)}")
    return out


def format_handler(r: Any) -> str:
    """One row of `refine --impl --prove`'s table (an `implproof.HandlerResult`)."""
    why = f": {r.reason}" if r.reason else ""
    return f"  {r.handler:<12} {r.calls:>6,} {r.paths:>8,} {r.queries:>9,} {r.seconds:>8.1f}  {r.verdict}{why}"
