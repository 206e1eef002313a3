"""The `ftverify` command line: parse arguments, call one library function, report.

Exit codes: 0 every property proved or held (or as a proof script expects),
1 a property violated, 2 bad input, 3 unknown or a resource limit, 4 an internal
error (a bug in ftverify: please report it).
"""

from __future__ import annotations

import os
import sys
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click
from ftverify.checker import prove as P
from ftverify.checker.report import (
    dumps,
    format_proof_report,
    format_report,
    proof_report_json,
    report_json,
    table,
    trace_itf,
)
from ftverify.checker.result import Report
from ftverify.spec.errors import SpecError, format_error
from ftverify.spec.interp import StateLayout
from ftverify.spec.typecheck import load_model
from ftverify.spec.types import code_count, width

EXIT_OK, EXIT_VIOLATED, EXIT_BAD_INPUT, EXIT_UNKNOWN, EXIT_INTERNAL = 0, 1, 2, 3, 4


class BadInput(Exception):
    """Bad input found by the CLI itself (already formatted)."""


def _parse_consts(items: tuple[str, ...]) -> dict[str, int]:
    out: dict[str, int] = {}
    for item in items:
        name, sep, value = item.partition("=")
        try:
            if not sep or not name.strip().isidentifier():
                raise ValueError
            out[name.strip()] = int(value.strip(), 0)
        except ValueError:
            raise click.BadParameter(f"expected NAME=INTEGER, got {item!r}", param_hint="--const") from None
    return out


def _combine(codes: list[int]) -> int:
    """One exit code for several files: bad input, then violated, then unknown."""
    for code in (EXIT_INTERNAL, EXIT_BAD_INPUT, EXIT_VIOLATED, EXIT_UNKNOWN):
        if code in codes:
            return code
    return EXIT_OK


def _guarded(fn: Callable[[], int]) -> int:
    """Run one unit of work; user errors print with their location, never a traceback."""
    try:
        return fn()
    except SpecError as e:
        click.echo(format_error(e), err=True)
        return EXIT_BAD_INPUT
    except BadInput as e:
        click.echo(f"error: {e}", err=True)
        return EXIT_BAD_INPUT
    except RecursionError:
        click.echo("error: the input is nested too deeply to process", err=True)
        return EXIT_BAD_INPUT
    except MemoryError:
        click.echo("error: out of memory (try --max-states, a smaller configuration, or a symbolic engine)", err=True)
        return EXIT_UNKNOWN
    except KeyboardInterrupt:
        click.echo("interrupted", err=True)
        return EXIT_UNKNOWN
    except Exception as e:  # an engine bug, never a verdict
        click.echo(f"internal error: {type(e).__name__}: {e}", err=True)
        if os.environ.get("FTVERIFY_DEBUG"):
            traceback.print_exc()
        else:
            click.echo("  (set FTVERIFY_DEBUG=1 for the traceback; please report this)", err=True)
        return EXIT_INTERNAL


def _expand(paths: tuple[str, ...]) -> list[str]:
    out: list[str] = []
    for p in paths:
        if os.path.isdir(p):
            found = sorted(str(x) for x in Path(p).rglob("*.ftv"))
            if not found:
                raise BadInput(f"{p}: no .ftv files in this directory")
            out += found
        else:
            out.append(p)
    return out


_common_consts = click.option("--const", "consts", multiple=True, metavar="NAME=VALUE",
                              help="Override a `const` of the spec (repeatable).")


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="ftverify")
def cli() -> None:
    """ftverify: specify fault-tolerant OS designs, prove what must never go wrong,
    and see the shortest trace when it does."""


# ---------------------------------------------------------------- check
@cli.command()
@click.argument("files", nargs=-1, required=True)
@_common_consts
@click.option("--faults", type=int, default=None, help="Fault budget for the state-space bound.")
def check(files: tuple[str, ...], consts: tuple[str, ...], faults: int | None) -> None:
    """Parse and type-check FILES; summarise variables, actions and properties."""
    const_map = _parse_consts(consts)
    codes = []
    for f in _expand_or_exit(files):
        codes.append(_guarded(lambda f=f: _check_one(f, const_map, faults)))
    sys.exit(_combine(codes))


def _expand_or_exit(files: tuple[str, ...]) -> list[str]:
    try:
        return _expand(files)
    except BadInput as e:
        click.echo(f"error: {e}", err=True)
        sys.exit(EXIT_BAD_INPUT)


def _check_one(path: str, consts: dict[str, int], faults: int | None) -> int:
    from ftverify.spec.parser import parse_file
    from ftverify.spec.syntax import ProofFile

    node = parse_file(path)
    if isinstance(node, ProofFile):
        from ftverify.checker.proofs import load_proof

        proof = load_proof(path)
        click.echo(f"proof {proof.name} ({path}): {len(proof.obligations)} theorem(s) over "
                   f"{len(proof.models)} model(s)")
        return EXIT_OK
    model = load_model(path, consts)
    budget = P.budget_for(model, faults)
    layout = StateLayout(model, budget)
    click.echo(f"spec {model.name} ({path}): ok")
    rows = [[v.name, str(v.type), str(code_count(v.type)), str(width(v.type))] for v in model.vars]
    click.echo(table(rows, ["variable", "type", "values", "bits"]))
    rows = []
    for a in model.actions:
        n = 1
        for p in a.params:
            n *= code_count(p.type)
        params = ", ".join(f"{p.name}: {p.type}" for p in a.params)
        rows.append([("fault " if a.is_fault else "action ") + a.name, f"({params})" if params else "", str(n)])
    click.echo(table(rows, ["action", "parameters", "instances"]))
    rows = [[p.name, p.kind] for p in model.properties] + [["type_ok", "built-in"]]
    click.echo(table(rows, ["property", "kind"]))
    bound = layout.state_space_bound()
    click.echo(f"  state space: at most {bound:,} states ({layout.width} bits a state) under fault budget {budget}")
    if model.has_faults and faults is None:
        click.echo("  (the single-fault model is the default; set --faults N to change it)")
    return EXIT_OK


# ---------------------------------------------------------------- prove
@cli.command()
@click.argument("files", nargs=-1, required=True)
@click.option("--engine", type=click.Choice(list(P.ENGINES)), default="auto", show_default=True,
              help="The engine that checks the properties.")
@click.option("--faults", type=int, default=None, help="Fault budget (default: 1 if the spec has faults, else 0).")
@click.option("--property", "properties", multiple=True, help="Check only this property (repeatable).")
@click.option("--max-states", type=int, default=None, help="Stop exploring after this many states (unknown).")
@click.option("--timeout", type=float, default=None, help="Seconds before giving up (unknown).")
@click.option("--depth", type=int, default=None,
              help="BMC depth, largest k of k-induction, or the explicit exploration's depth bound.")
@click.option("--json", "as_json", is_flag=True, help="Print results as JSON.")
@click.option("--itf", "itf", type=click.Path(dir_okay=False, writable=True), default=None,
              help="Write counterexample traces in the Informal Trace Format to this file.")
@_common_consts
def prove(files: tuple[str, ...], engine: str, faults: int | None, properties: tuple[str, ...],
          max_states: int | None, timeout: float | None, depth: int | None, as_json: bool, itf: str | None,
          consts: tuple[str, ...]) -> None:
    """Prove the properties of the specs (or run the proof scripts) in FILES."""
    opts = P.Options(engine=engine, faults=faults, max_states=max_states, timeout=timeout, depth=depth,
                     properties=list(properties) or None, consts=_parse_consts(consts),
                     progress=sys.stderr)
    codes = []
    reports: list[Report] = []
    for f in _expand_or_exit(files):
        codes.append(_guarded(lambda f=f: _prove_one(f, opts, reports, as_json)))
    if itf:
        codes.append(_guarded(lambda: _write_itf(itf, reports)))
    if as_json:
        click.echo(dumps(reports_json(reports) if len(reports) != 1 else reports_json(reports)[0]))
    sys.exit(_combine(codes))


def reports_json(reports: list[Any]) -> list[dict[str, Any]]:
    return [report_json(r) if isinstance(r, Report) else proof_report_json(r) for r in reports]


def _prove_one(path: str, opts: P.Options, reports: list[Any], as_json: bool) -> int:
    from ftverify.spec.parser import parse_file
    from ftverify.spec.syntax import ProofFile

    if isinstance(parse_file(path), ProofFile):
        from ftverify.checker.proofs import ProofContext, load_proof, run_proof

        proof = load_proof(path, opts.consts)
        prep = run_proof(proof, ProofContext(progress=opts.progress, timeout=opts.timeout))
        reports.append(prep)
        if not as_json:
            click.echo(format_proof_report(prep))
            click.echo("")
        return prep.exit_code()
    rep = P.prove_file(path, opts)
    reports.append(rep)
    if not as_json:
        click.echo(format_report(rep))
        click.echo("")
    return rep.exit_code()


def _write_itf(path: str, reports: list[Any]) -> int:
    traces = []
    for rep in reports:
        if isinstance(rep, Report):
            traces += [(rep.model, rep.file, rep.budget, r) for r in rep.results if r.trace is not None]
        else:
            traces += [(ob.alias, ob.model.file, r.stats.get("faults"), r) for ob, r in rep.results
                       if r.trace is not None]
    if not traces:
        click.echo(f"no trace to write to {path}", err=True)
        return EXIT_OK
    base, ext = os.path.splitext(path)
    for model, file, budget, r in traces:
        target = path if len(traces) == 1 else f"{base}-{model}-{r.property}{ext or '.itf.json'}"
        desc = f"{r.verdict} {r.kind} {r.property} of {model} under fault budget {budget}"
        assert r.trace is not None
        try:
            Path(target).write_text(dumps(trace_itf(r.trace, file, desc)) + "\n", encoding="utf-8")
        except OSError as e:
            raise BadInput(f"cannot write {target}: {e.strerror}") from None
        click.echo(f"wrote {target}", err=True)
    return EXIT_OK


# ---------------------------------------------------------------- graph
@cli.command()
@click.argument("file")
@click.option("-o", "--output", default=None, metavar="PATH",
              help="Write the picture: .svg, .png, .html (SVG with a state panel), .dot or .json.")
@click.option("--faults", type=int, default=None, help="Fault budget (default: 1 if the spec has faults, else 0).")
@click.option("--trace", "trace_of_prop", is_flag=False, flag_value="*", default=None, metavar="[PROPERTY]",
              help="Highlight the shortest counterexample or witness (of PROPERTY, or the first one found).")
@click.option("--project", "projection", default=None, metavar="VAR,VAR",
              help="Collapse states to the values of these variables.")
@click.option("--max-nodes", type=int, default=150, show_default=True,
              help="Largest picture drawn; a bigger graph is condensed or a projection is suggested.")
@click.option("--max-states", type=int, default=200_000, show_default=True, help="Exploration limit.")
@click.option("--where", default=None, metavar="EXPR",
              help="Start only from the initial states satisfying EXPR (draw one scenario).")
@click.option("--depth", type=int, default=None, help="Draw only the states within this many steps.")
@click.option("--renderer", type=click.Choice(["auto", "dot", "graphviz-pure"]), default="auto", show_default=True,
              help="Who draws the picture (auto: dot if installed, else graphviz-pure).")
@_common_consts
def graph(file: str, output: str | None, faults: int | None, trace_of_prop: str | None, projection: str | None,
          max_nodes: int, max_states: int, where: str | None, depth: int | None, renderer: str,
          consts: tuple[str, ...]) -> None:
    """Build the reachable state graph of FILE, analyse it, and draw it."""
    from ftverify.checker.graphcmd import GraphRequest, run_graph

    req = GraphRequest(file, output, faults, trace_of_prop, [v.strip() for v in projection.split(",") if v.strip()]
                       if projection else None, max_nodes, max_states, None if renderer == "auto" else renderer,
                       _parse_consts(consts), where, depth)
    sys.exit(_guarded(lambda: run_graph(req, click.echo)))


# ---------------------------------------------------------------- simulate
@cli.command()
@click.argument("file")
@click.option("--steps", type=int, default=20, show_default=True, help="Length of the run.")
@click.option("--seed", type=int, default=None, help="Random seed (for a repeatable run).")
@click.option("--faults", type=int, default=None, help="Fault budget.")
@click.option("--json", "as_json", is_flag=True, help="Print the run as JSON.")
@_common_consts
def simulate(file: str, steps: int, seed: int | None, faults: int | None, as_json: bool,
             consts: tuple[str, ...]) -> None:
    """Print one random run of the spec in FILE, checking its invariants on the way."""
    const_map = _parse_consts(consts)
    if steps < 0:
        raise click.BadParameter("must be at least 0", param_hint="--steps")

    def run() -> int:
        model = load_model(file, const_map)
        rep = P.simulate(model, steps, seed, faults)
        click.echo(dumps(report_json(rep)) if as_json else format_report(rep))
        return rep.exit_code()

    sys.exit(_guarded(run))


def main() -> None:
    try:
        cli(standalone_mode=True)
    except KeyboardInterrupt:  # pragma: no cover
        sys.exit(EXIT_UNKNOWN)


