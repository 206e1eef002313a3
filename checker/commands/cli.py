"""The `ftverify` command line: parse arguments, call one library function, report.

Exit codes: 0 every property proved or held (or as a proof script expects),
1 a property violated, 2 bad input, 3 unknown or a resource limit, 4 an internal
error (a bug in ftverify: please report it).
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import sys
import time
import traceback
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import click
from ftverify.checker.commands import prove as P
from ftverify.checker.commands.common import (
    EXIT_BAD_INPUT,
    EXIT_INTERNAL,
    EXIT_OK,
    EXIT_UNKNOWN,
    EXIT_VIOLATED,
    BadInput,
    check_output,
    echo,
    usage_error,
    write_file,
)
from ftverify.checker.output.report import (
    dumps,
    format_proof_report,
    format_report,
    format_state_lines,
    table,
    trace_itf,
)
from ftverify.checker.output.result import Report
from ftverify.spec.budget import budget_for
from ftverify.spec.errors import SpecError, format_error
from ftverify.spec.layout import StateLayout
from ftverify.spec.lint import unassigned_variables
from ftverify.spec.syntax import BudgetSpec
from ftverify.spec.typecheck import load_model
from ftverify.spec.types import code_count, width


def _parse_consts(items: tuple[str, ...]) -> dict[str, int]:
    out: dict[str, int] = {}
    for item in items:
        name, sep, value = item.partition("=")
        try:
            if not sep or not name.strip().isidentifier():
                raise ValueError
            text = value.strip()
            out[name.strip()] = {"true": True, "false": False}[text] if text in ("true", "false") else int(text, 0)
        except ValueError:
            raise click.BadParameter(f"expected NAME=INTEGER or NAME=true|false, got {item!r}",
                                     param_hint="--const") from None
    return out


def _combine(codes: list[int]) -> int:
    """One exit code for several files: bad input, then violated, then unknown."""
    for code in (EXIT_INTERNAL, EXIT_BAD_INPUT, EXIT_VIOLATED, EXIT_UNKNOWN):
        if code in codes:
            return code
    return EXIT_OK


def _guarded(fn: Callable[[], int], path: str | None = None) -> int:
    """Run one unit of work (on the file at `path`, if one); user errors print with their
    location, never a traceback."""
    try:
        return fn()
    except SpecError as e:
        echo(format_error(e), err=True)
        return EXIT_BAD_INPUT
    except BadInput as e:
        echo(f"error: {e}", err=True)
        return EXIT_BAD_INPUT
    except RecursionError:
        if path is not None:
            from ftverify.spec.parser import too_deep

            echo(format_error(too_deep(path)), err=True)
        else:
            echo("error: the input is nested too deeply to process", err=True)
        return EXIT_BAD_INPUT
    except MemoryError:
        echo("error: out of memory (try --max-states, a smaller configuration, or a symbolic engine)", err=True)
        return EXIT_UNKNOWN
    except KeyboardInterrupt as e:
        from ftverify.checker.engines.control import interrupted_message

        echo(f"stopped: {interrupted_message(e)}", err=True)
        return EXIT_UNKNOWN
    except BrokenPipeError:  # the reader went away (`ftverify ... | head`): not our error
        raise
    except Exception as e:  # an engine bug, never a verdict
        backend = sys.modules.get("ftverify.checker.cluster.backend")
        if backend is not None and isinstance(e, backend.ClusterUnavailable):  # no cluster to run on: bad input
            echo(f"error: {e}", err=True)
            return EXIT_BAD_INPUT
        echo(f"internal error: {type(e).__name__}: {e}", err=True)
        if os.environ.get("FTVERIFY_DEBUG"):
            traceback.print_exc()
        else:
            echo("  (set FTVERIFY_DEBUG=1 for the traceback; please report this)", err=True)
        return EXIT_INTERNAL


def _controlled(timeout: float | None, quiet: bool, fn: Callable[[], int]) -> int:
    """One unit of work under the command's time limit, with Ctrl-C and progress on stderr."""
    from ftverify.checker.engines.control import controlled
    from ftverify.checker.output.progress import StatusLine

    with controlled(timeout, None if quiet else StatusLine()) as ctl:
        code = _guarded(fn)
    if ctl.stopped and code == EXIT_OK:
        code = EXIT_UNKNOWN
    return code


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


def _budgets(values: Any) -> Any:
    """`--faults` values, parsed (their syntax is checked before any work starts)."""
    from ftverify.spec.parser import parse_budget

    if values is None:
        return None
    single = isinstance(values, str)
    out = []
    for v in [values] if single else values:
        try:
            out.append(parse_budget(v))
        except SpecError as e:
            raise click.BadParameter(e.message, param_hint="--faults") from None
    return out[0] if single else tuple(out)


def _write_document(path: str, command: str, payload: dict[str, Any]) -> None:
    """A command's JSON document (docs/json.md) written to `path`."""
    from ftverify.checker.output.report import document

    write_file(path, dumps(document(command, payload)) + "\n")


_timeout_option = click.option(
    "--timeout", type=click.FloatRange(min=0, min_open=True), default=None, metavar="SECONDS",
    help="Wall-clock budget of the whole command: work still running then is unknown, the rest not started.")
_quiet_option = click.option("--quiet", "-q", is_flag=True, help="No progress on stderr.")


def _cluster_address(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    """`--cluster` is checked before any work: its form, and that Dask is installed."""
    if value is None:
        return None
    from ftverify.checker.cluster.backend import INSTALL_HINT, check_address, dask_installed

    try:
        check_address(value)
    except ValueError as e:
        raise click.BadParameter(str(e)) from None
    if not dask_installed():
        raise click.BadParameter(f"the cluster backend needs Dask distributed, which is not installed: "
                                 f"{INSTALL_HINT}")
    return value


_cluster_option = click.option(
    "--cluster", default=None, metavar="ADDRESS", callback=_cluster_address,
    help="Run on a Dask cluster: local:N starts N worker processes here, tcp://host:8786 uses a running "
         "scheduler (docs/cluster.md; needs ftverify[cluster]).")


@contextlib.contextmanager
def _cluster(address: str | None) -> Iterator[Any]:
    """The cluster asked for (None without --cluster), closed at the end of the command."""
    if address is None:
        yield None
        return
    from ftverify.checker.cluster.backend import Cluster

    cluster = Cluster(address)  # connected when first used
    try:
        yield cluster
    finally:
        cluster.close()


_faults_option = click.option(
    "--faults", default=None, metavar="BUDGET", callback=lambda c, p, v: _budgets(v),
    help="Fault budget: N for the shared one (default: 1 if the spec has faults, else 0), FAULT=N or "
         "FAULT=unbounded for one fault's own; comma-separated, e.g. 2,lose=unbounded.")


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="ftverify")
def cli() -> None:
    """ftverify: specify fault-tolerant OS designs, prove what must never go wrong,
    and see the shortest trace when it does."""


# ---------------------------------------------------------------- check
@cli.command()
@click.argument("files", nargs=-1, required=True)
@_common_consts
@_faults_option
@click.option("--cross-check", "cross", is_flag=True,
              help="Also evaluate every guard, update and property with both the interpreter and the Z3 "
                   "encoding (each integer representation) on concrete states, and report any disagreement.")
@click.option("--states", type=click.IntRange(min=1), default=400, show_default=True,
              help="With --cross-check: how many states (all reachable ones if there are fewer).")
@click.option("--seed", type=int, default=0, show_default=True, help="With --cross-check: random seed.")
@_timeout_option
@_quiet_option
def check(files: tuple[str, ...], consts: tuple[str, ...], faults: BudgetSpec | None, cross: bool, states: int,
          seed: int, timeout: float | None, quiet: bool) -> None:
    """Parse and type-check FILES; summarise variables, actions and properties."""
    const_map = _parse_consts(consts)
    paths = _expand_or_exit(files)
    sys.exit(_controlled(timeout, quiet, lambda: _combine([
        _guarded(lambda f=f: _check_one(f, const_map, faults, (states, seed) if cross else None), f) for f in paths])))


def _expand_or_exit(files: tuple[str, ...]) -> list[str]:
    try:
        return _expand(files)
    except BadInput as e:
        echo(f"error: {e}", err=True)
        sys.exit(EXIT_BAD_INPUT)


def _check_one(path: str, consts: dict[str, int], faults: BudgetSpec | None, cross: tuple[int, int] | None) -> int:
    from ftverify.spec.parser import parse_file
    from ftverify.spec.syntax import ProofFile

    node = parse_file(path)
    if isinstance(node, ProofFile):
        from ftverify.checker.commands.proofs import load_proof

        proof = load_proof(path)
        echo(f"proof {proof.name} ({path}): {len(proof.obligations)} theorem(s) over "
                   f"{len(proof.models)} model(s)")
        return EXIT_OK
    model = load_model(path, consts)
    budget = budget_for(model, faults)
    layout = StateLayout(model, budget)
    echo(f"spec {model.name} ({path}): ok")
    rows = [[v.name, str(v.type), str(code_count(v.type)), str(width(v.type))] for v in model.vars]
    echo(table(rows, ["variable", "type", "values", "bits"]))
    rows = []
    for a in model.actions:
        n = 1
        for p in a.params:
            n *= code_count(p.type)
        params = ", ".join(f"{p.name}: {p.type}" for p in a.params)
        rows.append([("fault " if a.is_fault else "action ") + a.name, f"({params})" if params else "", str(n)])
    echo(table(rows, ["action", "parameters", "instances"]))
    rows = [[p.name, p.kind] for p in model.properties] + [["type_ok", "built-in"]]
    echo(table(rows, ["property", "kind"]))
    bound = layout.state_space_bound()
    echo(f"  state space: at most {bound:,} states ({layout.width} bits a state) under fault budget {budget}")
    if model.has_faults and faults is None:
        echo("  (the single-fault model is the default; set --faults N to change it)")
    for span, message in unassigned_variables(model):
        echo(f"{span}: warning: {message}", err=True)
    if cross is None:
        return EXIT_OK
    return _cross_check(model, budget, *cross)


def _cross_check(model: Any, budget: Any, states: int, seed: int) -> int:
    from ftverify.checker.engines.crosscheck import cross_check
    from ftverify.spec.errors import excerpt

    cc = cross_check(model, budget, states, seed)
    where = (f"every reachable state ({cc.reachable:,})" if cc.complete
             else f"{cc.reachable:,} reachable and {cc.random:,} random type-correct states")
    echo(f"  cross-check of the Z3 encoding ({', '.join(cc.ariths)}) against the interpreter on {where}: "
               f"{cc.evaluations:,} evaluations, {len(cc.disagreements)} disagreement(s), {cc.seconds:.1f} s")
    for skipped in cc.skipped:
        echo(f"  (not cross-checked: {skipped})")
    for d in cc.disagreements:
        echo(f"{d}", err=True)
        for line in excerpt(d.span):
            echo(line, err=True)
    if cc.disagreements:
        echo("internal error: the encoding disagrees with the interpreter (a bug in ftverify; please "
                   "report it with the spec)", err=True)
        return EXIT_INTERNAL
    return EXIT_OK


# ---------------------------------------------------------------- prove


@cli.command()
@click.argument("files", nargs=-1, required=True)
@click.option("--engine", type=click.Choice(list(P.ENGINES)), default="auto", show_default=True,
              help="The engine that checks the properties.")
@_faults_option
@click.option("--property", "properties", multiple=True, help="Check only this property (repeatable).")
@click.option("--max-states", type=click.IntRange(min=1), default=None,
              help="Stop exploring after this many states (unknown).")
@_timeout_option
@click.option("--obligation-timeout", type=click.FloatRange(min=0, min_open=True), default=None, metavar="SECONDS",
              help="Seconds for each property or proof obligation (then unknown).")
@click.option("--depth", type=click.IntRange(min=0), default=None,
              help="BMC depth, largest k of k-induction, or the explicit exploration's depth bound.")
@click.option("--json", "as_json", is_flag=True, help="Print the results as one JSON object (docs/json.md).")
@click.option("--itf", "itf", default=None, metavar="PATH",
              help="Write every trace, counterexamples and witnesses alike, in the Informal Trace Format: to PATH "
                   "when there is one, else as PATH-MODEL-PROPERTY.itf.json (into PATH if it is a directory).")
@click.option("--jobs", type=click.IntRange(min=1), default=None, metavar="N",
              help="Worker processes for the obligations of a proof script, results in script order "
                   "(default: the machine's cores; 1 runs them in this process).")
@click.option("--no-cache", is_flag=True,
              help="Prove every obligation of a proof script afresh: neither serve nor store verdicts of the "
                   "proof cache (~/.cache/ftverify/proofs.sqlite).")
@click.option("--recheck-cache", is_flag=True,
              help="Re-validate every verdict served from the proof cache from its certificate first (replay "
                   "its trace, re-check its inductive invariant); verdicts without one are proved afresh.")
@click.option("--no-symmetry", is_flag=True,
              help="Explore a spec with a `symmetric enum` in full, not up to renamings of its members.")
@_cluster_option
@_quiet_option
@_common_consts
def prove(files: tuple[str, ...], engine: str, faults: BudgetSpec | None, properties: tuple[str, ...],
          max_states: int | None, timeout: float | None, obligation_timeout: float | None, depth: int | None,
          as_json: bool, itf: str | None, jobs: int | None, no_cache: bool, recheck_cache: bool, no_symmetry: bool,
          cluster: str | None, quiet: bool, consts: tuple[str, ...]) -> None:
    """Prove the properties of the specs (or run the proof scripts) in FILES."""
    from ftverify.checker.engines.control import controlled
    from ftverify.checker.output.progress import StatusLine
    from ftverify.checker.output.report import format_total, results_json

    if no_cache and recheck_cache:
        raise click.UsageError("--recheck-cache re-checks verdicts served from the cache: not with --no-cache")
    if itf is not None and not Path(itf).is_dir():
        check_output(itf, "--itf")
    opts = P.Options(engine=engine, faults=faults, max_states=max_states, timeout=obligation_timeout, depth=depth,
                     properties=list(properties) or None, consts=_parse_consts(consts),
                     progress=None if quiet else sys.stderr, use_cache=not no_cache, jobs=jobs or os.cpu_count() or 1,
                     recheck_cache=recheck_cache, symmetry=not no_symmetry)
    paths = _expand_or_exit(files)
    if cluster is not None and jobs is not None:
        usage_error("--jobs runs worker processes here, --cluster a cluster's: give one of them")
    if cluster is not None and engine != "explicit":
        for f in paths:
            if not _is_proof_script(f):
                usage_error(f"--cluster runs a proof script's obligations, or the exploration of a spec with "
                            f"--engine explicit: {f} is a spec, and the engine is {engine}")
    codes = []
    reports: list[Any] = []
    with controlled(timeout, None if quiet else StatusLine()) as ctl, _cluster(cluster) as opts.cluster:
        for f in paths:
            if ctl.stopped:
                echo(f"{f}: not started ({ctl.stopped})", err=True)
                codes.append(EXIT_UNKNOWN)
                continue
            codes.append(_guarded(lambda f=f: _prove_one(f, opts, reports, as_json), f))
    if itf:
        codes.append(_guarded(lambda: _write_itf(itf, reports)))
    if as_json:
        echo(dumps(results_json("prove", reports, ctl.stopped)))
    elif len(paths) > 1 or any(not isinstance(r, Report) for r in reports):
        echo(format_total(reports, ctl.stopped, time.monotonic() - ctl.start))
    sys.exit(_combine(codes))


def _prove_one(path: str, opts: P.Options, reports: list[Any], as_json: bool) -> int:
    from ftverify.spec.parser import parse_file
    from ftverify.spec.syntax import ProofFile

    if isinstance(parse_file(path), ProofFile):
        from ftverify.checker.commands.proofcache import ProofCache
        from ftverify.checker.commands.proofs import ProofContext, load_proof, run_proof

        proof = load_proof(path, opts.consts)
        cache = ProofCache() if opts.use_cache else None
        if cache is not None and cache.problem:
            echo(f"warning: proof cache not used ({cache.problem}); every obligation is proved", err=True)
        try:
            prep = run_proof(proof, ProofContext(progress=opts.progress, timeout=opts.timeout, cache=cache,
                                                 jobs=opts.jobs, recheck_cache=opts.recheck_cache,
                                                 cluster=opts.cluster))
        finally:
            if cache is not None:
                cache.close()
        reports.append(prep)
        if not as_json:
            echo(format_proof_report(prep))
            echo("")
        return prep.exit_code()
    rep = P.prove_file(path, opts)
    reports.append(rep)
    if not as_json:
        echo(format_report(rep))
        echo("")
    return rep.exit_code()


def _is_proof_script(path: str) -> bool:
    """Whether the file is a proof script (a file that does not parse is left to the command's own error)."""
    from ftverify.spec.errors import SpecError
    from ftverify.spec.parser import parse_file
    from ftverify.spec.syntax import ProofFile

    try:
        return isinstance(parse_file(path), ProofFile)
    except (SpecError, OSError, RecursionError):
        return True


def _write_itf(path: str, reports: list[Any]) -> int:
    traces = []
    for rep in reports:
        if isinstance(rep, Report):
            traces += [(rep.model, rep.file, rep.budget, r) for r in rep.results if r.trace is not None]
        else:
            traces += [(ob.alias, ob.model.file, r.stats.get("faults"), r) for ob, r in rep.results
                       if r.trace is not None]
    if not traces:
        echo(f"no trace to write to {path}", err=True)
        return EXIT_OK
    into = Path(path).is_dir()
    base, ext = os.path.splitext(path)
    for model, file, budget, r in traces:
        if into:
            target = str(Path(path) / f"{model}-{r.property}.itf.json")
        else:
            target = path if len(traces) == 1 else f"{base}-{model}-{r.property}{ext or '.itf.json'}"
        desc = f"{r.verdict} {r.kind} {r.property} of {model} under fault budget {budget}"
        assert r.trace is not None
        write_file(target, dumps(trace_itf(r.trace, file, desc)) + "\n")
    return EXIT_OK


# ---------------------------------------------------------------- refine
@cli.command()
@click.argument("spec", required=False)
@click.option("--refinement", "name", default=None, help="Which refinement of SPEC (if it declares several).")
@click.option("--engine", type=click.Choice(["z3", "explicit"]), default="z3", show_default=True,
              help="z3: forward simulation for every state satisfying the invariants (a proof); "
                   "explicit: every step of every reachable state (with a trace to a failure).")
@_faults_option
@click.option("--max-states", type=click.IntRange(min=1), default=None, help="Exploration limit for --engine explicit.")
@_timeout_option
@click.option("--impl", default=None, metavar="MODULE:NAME",
              help="Refinement-test a Python implementation (an ftverify Adapter) against its spec instead.")
@click.option("--spec", "impl_spec", default=None, help="With --impl: the spec (default: the adapter's).")
@click.option("--examples", type=click.IntRange(min=0), default=3000, show_default=True,
              help="With --impl: call sequences guided by the spec's states (and a tenth as many drawn by "
                   "hypothesis).")
@click.option("--max-calls", type=click.IntRange(min=1), default=30, show_default=True,
              help="With --impl: calls per sequence.")
@click.option("--depth", type=click.IntRange(min=0), default=0, show_default=True,
              help="With --impl: also check every call sequence up to this length.")
@click.option("--seed", type=int, default=None, help="With --impl: random seed (default: deterministic).")
@click.option("--no-cache", is_flag=True,
              help="With --impl: neither replay nor remember failing call sequences (they are kept beside the "
                   "proof cache, and replayed first until they pass).")
@click.option("--prove", "prove_impl", is_flag=True,
              help="With --impl: instead of testing, prove each handler (every call, every spec state that "
                   "satisfies the invariants) by symbolic execution of the implementation.")
@click.option("--handler", "handlers", multiple=True, metavar="NAME",
              help="With --impl --prove: prove only this handler (repeatable).")
@click.option("--json", "as_json", is_flag=True, help="With --impl --prove: print the results as one JSON object.")
@click.option("--jobs", type=click.IntRange(min=1), default=None, metavar="N",
              help="With --impl --prove: worker processes, one handler each at a time, results in order "
                   "(default: the machine's cores; 1 proves in this process).")
@_quiet_option
@_common_consts
def refine(spec: str | None, name: str | None, engine: str, faults: BudgetSpec | None, max_states: int | None,
           timeout: float | None, impl: str | None, impl_spec: str | None, examples: int, max_calls: int,
           depth: int, seed: int | None, no_cache: bool, prove_impl: bool, handlers: tuple[str, ...],
           as_json: bool, jobs: int | None, quiet: bool, consts: tuple[str, ...]) -> None:
    """Prove that the concrete spec SPEC refines the abstract spec its `refinement` names;
    or, with --impl, test (or with --prove, prove) that a Python implementation refines its spec."""
    const_map = _parse_consts(consts)
    if (prove_impl or handlers or as_json or jobs) and impl is None:
        raise click.UsageError("--prove, --handler, --json and --jobs go with --impl MODULE:NAME")
    if (handlers or as_json or jobs) and not prove_impl:
        raise click.UsageError("--handler, --json and --jobs go with --prove")
    if impl is not None and prove_impl:
        sys.exit(_controlled(timeout, quiet, lambda: _prove_impl(impl, impl_spec or spec, const_map, handlers,
                                                                 as_json, jobs)))
    if impl is not None:
        sys.exit(_controlled(timeout, quiet, lambda: _refine_impl(impl, impl_spec or spec, const_map, examples,
                                                                  max_calls, depth, seed, timeout, no_cache)))
    if spec is None:
        raise click.UsageError("give a SPEC with a `refinement` declaration (or --impl MODULE:NAME)")

    def run() -> int:
        from ftverify.checker.engines import refine as RF
        from ftverify.checker.engines.explicit import Limits
        from ftverify.checker.output.report import format_refinement

        model = load_model(spec, const_map)
        try:
            ref = RF.find(model, name)
        except ValueError as e:
            raise BadInput(str(e)) from None
        budget = budget_for(model, faults)
        if engine == "z3":
            rep = RF.check(model, ref, budget)
        else:
            rep = RF.explore_refinement(model, ref, budget, Limits(max_states=max_states))
        echo(format_refinement(rep))
        return rep.exit_code()

    sys.exit(_controlled(timeout, quiet, run))


def _failure_store(adapter: Any) -> Any:
    """Where the failing call sequences of this adapter, implementation and spec are remembered:
    beside the proof cache (off when it is), one folder per adapter."""
    import hashlib

    from ftverify.checker.commands.proofcache import default_path
    from ftverify.checker.engines.conformance import FailureStore

    cache = default_path()
    if cache is None:
        return None
    impl = getattr(adapter, adapter.implementation, None) if adapter.implementation else None
    who = f"{adapter.__module__}:{adapter.__qualname__}:{getattr(impl, '__module__', '')}:" \
          f"{getattr(impl, '__qualname__', '')}:{adapter.spec_path()}"
    return FailureStore(cache.parent / "refine" / hashlib.sha256(who.encode()).hexdigest()[:16])


def _load_impl(target: str, spec: str | None, consts: dict[str, int]) -> Any:
    from ftverify.checker.engines import conformance as C

    try:
        return C.adapter_for(target, spec, consts)
    except (ValueError, ImportError, AttributeError) as e:
        raise BadInput(f"--impl {target}: {e}") from None


def _prove_impl(target: str, spec: str | None, consts: dict[str, int], handlers: tuple[str, ...],
                as_json: bool, jobs: int | None) -> int:
    from ftverify.checker.engines import conformance as C
    from ftverify.checker.engines import implproof as IP
    from ftverify.checker.output.report import document, format_handler

    adapter = _load_impl(target, spec, consts)
    if not adapter.provable():
        raise BadInput(f"--impl {target}: its adapter {adapter.__qualname__} cannot be proved: it needs "
                       "symbolic(), abstract_symbolic() and from_state() (README, 'Refinement testing your own "
                       "implementation')")
    chk = C.Checker(adapter)
    say = (lambda text: None) if as_json else echo
    say(f"{target} against {chk.model.name} ({adapter.spec_path()}): a bounded proof of every handler, for every "
        "spec state that satisfies the invariants")
    say(f"  {'handler':<12} {'calls':>6} {'paths':>8} {'queries':>9} {'seconds':>8}  verdict")
    try:
        names = IP.handler_names(adapter, list(handlers) or None)
    except ValueError as e:
        raise BadInput(f"--handler: {e}") from None
    workers = min(jobs or os.cpu_count() or 1, len(names))
    if workers > 1:
        from ftverify.checker.commands.jobs import prove_handlers

        spec_file = os.path.abspath(spec) if spec is not None else None
        rep = prove_handlers(target, spec_file, consts, names, workers, lambda r: say(format_handler(r)))
    else:
        rep = IP.prove(adapter, chk, names, on_result=lambda r: say(format_handler(r)))
    verdicts = [r.verdict for r in rep.results]
    code = EXIT_VIOLATED if "refuted" in verdicts else EXIT_UNKNOWN if "unknown" in verdicts else EXIT_OK
    if as_json:
        echo(dumps(document("refine", {"implementation": target, "spec": adapter.spec_path(),
                                       "handlers": [r.to_json() for r in rep.results], "stopped": rep.stopped,
                                       "exit_code": code})))
        return code
    for r in rep.results:
        if r.counterexample is not None:
            echo(f"  refuted {r.handler}: {r.counterexample.problem}")
            echo(f"    call {r.counterexample.call} returned {r.counterexample.result}, replayed on the real "
                 f"implementation from the spec state:")
            for line in format_state_lines(r.counterexample.state):
                echo(f"      {line}")
    proved = verdicts.count("proved")
    echo(f"  {proved} of {len(verdicts)} handlers proved, {verdicts.count('refuted')} refuted, "
         f"{verdicts.count('unknown')} unknown" + (f" ({rep.stopped})" if rep.stopped else ""))
    return code


def _refine_impl(target: str, spec: str | None, consts: dict[str, int], examples: int, max_calls: int,
                 depth: int, seed: int | None, timeout: float | None, no_cache: bool) -> int:
    from ftverify.checker.engines import conformance as C

    adapter = _load_impl(target, spec, consts)
    chk = C.Checker(adapter)
    echo(f"{target} against {chk.model.name} ({adapter.spec_path()})")
    store = None if no_cache else _failure_store(adapter)
    out = C.random_test(adapter, examples, max_calls, seed, chk, store and store.hypothesis_database(), store)
    found = f", divergence found after {out.found_after:.1f} s" if out.found_after is not None else ""
    echo(f"  generated: {out.calls:,} calls in {out.runs:,} runs, {out.seconds:.1f} s, "
         f"{out.calls_per_second:,.0f} calls/s{found}")
    for note in out.notes:
        echo(f"  note: {note}")
    stopped = out.stopped
    if out.divergence is None and depth and not stopped:
        ex = C.exhaustive_test(adapter, depth, timeout, chk)
        stopped = ex.stopped
        state = "complete" if ex.complete else "; ".join(ex.notes) or f"stopped: {stopped}"
        echo(f"  exhaustive to depth {ex.depth}: {ex.calls:,} calls, {ex.states:,} distinct spec states, "
                   f"{ex.seconds:.1f} s, {ex.calls_per_second:,.0f} calls/s ({state})")
        out.divergence = ex.divergence
    if out.divergence is not None:
        echo("  violated: " + str(out.divergence))
        return EXIT_VIOLATED
    if stopped:
        echo(f"  unknown: {stopped}; no divergence in the calls checked so far")
        return EXIT_UNKNOWN
    echo("  holds: no divergence (every call mapped to a spec step or a refused stutter; "
               "every invariant held)")
    return EXIT_OK


# ---------------------------------------------------------------- faults
@cli.command()
@click.argument("files", nargs=-1, required=True)
@click.option("--faults", "budgets", multiple=True, metavar="BUDGET", callback=lambda c, p, v: _budgets(v),
              help="Fault budget (repeatable, one campaign each; default: the spec's own, the single-fault "
                   "model unless it says otherwise): the injected fault is the last one its budget allows. "
                   "N, FAULT=N or FAULT=unbounded, comma-separated.")
@click.option("--json", "json_path", default=None, metavar="FILE",
              help="Write every injection, its outcome and its witness trace as JSON.")
@click.option("--chart", "chart_path", default=None, metavar="FILE.svg|FILE.png", help="Write a bar chart.")
@click.option("--max-states", type=click.IntRange(min=1), default=1_000_000, show_default=True,
              help="Exploration limit.")
@click.option("--show", type=click.IntRange(min=0), default=1, show_default=True,
              help="Witness traces shown per outcome and fault (all of them are in the JSON).")
@click.option("--jobs", type=click.IntRange(min=1), default=None, metavar="N",
              help="Worker processes for the campaigns (one per file and budget), results in order "
                   "(default: the machine's cores; 1 runs them in this process).")
@_cluster_option
@_timeout_option
@_quiet_option
@_common_consts
def faults(files: tuple[str, ...], budgets: tuple[BudgetSpec, ...], json_path: str | None, chart_path: str | None,
           max_states: int, show: int, jobs: int | None, cluster: str | None, timeout: float | None, quiet: bool,
           consts: tuple[str, ...]) -> None:
    """Inject every fault at every reachable state of each spec in FILES and classify the outcome:
    masked, detected and recovered, detected and fail-stop, detected but still wrong, unrecovered,
    silent data corruption (docs/faults.md defines each)."""
    from ftverify.checker.commands import faults as F
    from ftverify.checker.engines import campaign as FC

    const_map = _parse_consts(consts)
    for path, what in ((json_path, "--json"), (chart_path, "--chart")):
        check_output(path, what)
    if chart_path and Path(chart_path).suffix.lower() not in (".svg", ".png"):
        usage_error(f"--chart {chart_path}: expected a .svg or .png file")
    paths = _expand_or_exit(files)
    todo: list[F.CampaignJob] = []
    loaded: dict[str, Any] = {}
    codes = []

    def load(path: str) -> int:  # every file and budget is checked before any campaign starts
        consts = tuple(sorted(const_map.items()))
        model = loaded[path] = load_model(path, const_map)
        for spec in budgets or (None,):
            budget_for(model, spec)
        todo.extend(F.CampaignJob(path, consts, spec, max_states, show, json_path is not None, not quiet)
                    for spec in budgets or (None,))
        return EXIT_OK

    codes += [_guarded(lambda f=f: load(f), f) for f in paths]
    outcomes: list[F.CampaignOutcome] = []

    def arrived(job: F.CampaignJob, outcome: F.CampaignOutcome | None, why: str) -> None:
        if outcome is None:
            echo(f"{job.path}, fault budget {job.budget or 'of the spec'}: {why}, nothing classified\n")
            codes.append(EXIT_UNKNOWN)
            return
        outcomes.append(outcome)
        echo(outcome.text)
        codes.append(EXIT_OK if outcome.decided else EXIT_UNKNOWN)

    if cluster is not None and jobs is not None:
        usage_error("--jobs runs worker processes here, --cluster a cluster's: give one of them")

    def run() -> int:
        with _cluster(cluster) as on:
            F.run_campaigns(todo, jobs or os.cpu_count() or 1, arrived, loaded, on)
        return EXIT_OK

    codes.append(_controlled(timeout, quiet, run))

    def write() -> int:
        if json_path:
            _write_document(json_path, "faults", {"campaigns": [o.json for o in outcomes]})
        if chart_path:
            rows = [o.coverage for o in outcomes]
            if Path(chart_path).suffix.lower() == ".svg":
                write_file(chart_path, FC.chart_svg(rows))
            else:
                try:
                    FC.chart_png(rows, chart_path)
                except RuntimeError as e:
                    raise BadInput(str(e)) from None
                echo(f"wrote {chart_path}", err=True)
        return EXIT_OK

    if outcomes:
        codes.append(_guarded(write))
    sys.exit(_combine(codes))


# ---------------------------------------------------------------- dependability
@cli.command()
@click.argument("files", nargs=-1, required=True)
@click.option("--up", default="up", show_default=True, metavar="EXPR",
              help="When the system is up: an expression over the state (by default the spec's `def up: bool`).")
@click.option("--rate", "rates", multiple=True, metavar="NAME=RATE",
              help="Override a named rate of the spec (repeatable).")
@click.option("--sweep", default=None, metavar="NAME=LO:HI[:log|lin][:POINTS]",
              help="Recompute the measures for values of a named rate (log-spaced by default, 25 points) or "
                   "of an integer constant (each integer in the range, at most POINTS).")
@click.option("--time", "horizon", type=click.FloatRange(min=0, min_open=True), default=None, metavar="T",
              help="Reliability R(t) up to T (default: twice the MTTF).")
@click.option("--points", type=click.IntRange(min=2), default=101, show_default=True,
              help="Times at which R(t) is computed (evenly spaced from 0 to T).")
@click.option("--json", "json_path", default=None, metavar="FILE", help="Write every figure as JSON (docs/json.md).")
@click.option("--plot", "plot_path", default=None, metavar="FILE.svg|FILE.png",
              help="Draw R(t) of every spec, or with --sweep the unavailability against the swept value.")
@click.option("--export", "export_prefix", default=None, metavar="PREFIX",
              help="Write each chain in the explicit format of PRISM and Storm: PREFIX.tra and PREFIX.lab "
                   "(PREFIX-SPEC.tra ... with several files).")
@click.option("--max-states", type=click.IntRange(min=1), default=None, help="Exploration limit.")
@_timeout_option
@_quiet_option
@_common_consts
def dependability(files: tuple[str, ...], up: str, rates: tuple[str, ...], sweep: str | None,
                  horizon: float | None, points: int, json_path: str | None, plot_path: str | None,
                  export_prefix: str | None, max_states: int | None, timeout: float | None, quiet: bool,
                  consts: tuple[str, ...]) -> None:
    """Forecast the dependability of the specs in FILES from the rates of their actions and faults:
    steady-state availability, MTTF, MTTR and the reliability curve R(t) of the continuous-time
    Markov chain of each (faults recur: no fault budget). docs/dependability.md explains the model."""
    from ftverify.checker.commands import dependability as D
    from ftverify.checker.engines.ctmc import ChainError, Incomplete

    const_map = _parse_consts(consts)
    try:
        rate_map = D.parse_rates(rates)
    except ValueError as e:
        raise click.BadParameter(str(e), param_hint="--rate") from None
    try:
        sweep_spec = D.parse_sweep(sweep) if sweep is not None else None
    except ValueError as e:
        raise click.BadParameter(str(e), param_hint="--sweep") from None
    for path, what in ((json_path, "--json"), (plot_path, "--plot"), (export_prefix, "--export")):
        check_output(path, what)
    if plot_path and Path(plot_path).suffix.lower() not in (".svg", ".png"):
        usage_error(f"--plot {plot_path}: expected a .svg or .png file")
    if plot_path and importlib.util.find_spec("matplotlib") is None:
        usage_error("--plot needs matplotlib: pip install 'ftverify[plots]'")
    paths = _expand_or_exit(files)
    req = D.Request(paths, up, rate_map, const_map, horizon, points, sweep_spec, max_states, export_prefix is not None)
    done: list[D.Analysis] = []
    models: dict[str, Any] = {}

    def prepare(path: str) -> int:  # every spec and option is checked before any chain is built
        try:
            models[path] = D.prepare(path, req)
        except ChainError as e:
            raise BadInput(f"{path}: {e}") from None
        return EXIT_OK

    codes = [_guarded(lambda f=f: prepare(f), f) for f in paths]
    if any(c != EXIT_OK for c in codes):
        sys.exit(_combine(codes))

    def one(path: str) -> int:
        try:
            a = D.analyse(models[path], req)
        except ChainError as e:
            raise BadInput(f"{path}: {e}") from None
        except Incomplete as e:
            echo(f"stopped: {path}: {e}", err=True)
            return EXIT_UNKNOWN
        done.append(a)
        echo(D.text(a, up))
        if export_prefix:
            prefix = export_prefix if len(paths) == 1 else f"{export_prefix}-{a.name}"
            assert a.explicit is not None
            tra, lab = a.explicit
            write_file(prefix + ".tra", tra)
            write_file(prefix + ".lab", lab)
        return EXIT_OK

    def run() -> int:
        return _combine([_guarded(lambda f=f: one(f), f) for f in paths])

    codes.append(_controlled(timeout, quiet, run))

    def write() -> int:
        if json_path:
            _write_document(json_path, "dependability", {"specs": [a.to_json() for a in done]})
        if plot_path:
            D.plot(done, plot_path, sweep_spec)
            echo(f"wrote {plot_path}", err=True)
        return EXIT_OK

    if done:
        codes.append(_guarded(write))
    sys.exit(_combine(codes))


# ---------------------------------------------------------------- graph
@cli.command()
@click.argument("file")
@click.option("-o", "--output", default=None, metavar="PATH",
              help="Write the picture: .svg, .png, .html (SVG with a state panel), .dot or .json.")
@_faults_option
@click.option("--trace", "trace_of_prop", is_flag=False, flag_value="*", default=None, metavar="[PROPERTY]",
              help="Highlight the shortest counterexample or witness (of PROPERTY, or the first one found).")
@click.option("--project", "projection", default=None, metavar="VAR,VAR",
              help="Collapse states to the values of these variables.")
@click.option("--max-nodes", type=click.IntRange(min=1), default=150, show_default=True,
              help="Largest picture drawn; a bigger graph is condensed or a projection is suggested "
                   "(.json and .dot always hold the whole graph).")
@click.option("--max-states", type=click.IntRange(min=1), default=50_000, show_default=True,
              help="Exploration limit (a graph this big is analysed, not drawn).")
@click.option("--where", default=None, metavar="EXPR",
              help="Start only from the initial states satisfying EXPR (draw one scenario).")
@click.option("--depth", type=click.IntRange(min=0), default=None, help="Draw only the states within this many steps.")
@click.option("--renderer", type=click.Choice(["auto", "dot", "graphviz-pure"]), default="auto", show_default=True,
              help="Who draws the picture (auto: dot if installed, else graphviz-pure).")
@_timeout_option
@_quiet_option
@_common_consts
def graph(file: str, output: str | None, faults: BudgetSpec | None, trace_of_prop: str | None, projection: str | None,
          max_nodes: int, max_states: int, where: str | None, depth: int | None, renderer: str,
          timeout: float | None, quiet: bool, consts: tuple[str, ...]) -> None:
    """Build the reachable state graph of FILE, analyse it, and draw it."""
    from ftverify.checker.commands.graph import GraphRequest, run_graph

    req = GraphRequest(file, output, faults, trace_of_prop, [v.strip() for v in projection.split(",") if v.strip()]
                       if projection else None, max_nodes, max_states, None if renderer == "auto" else renderer,
                       _parse_consts(consts), where, depth)
    sys.exit(_controlled(timeout, quiet, lambda: run_graph(req, echo)))


# ---------------------------------------------------------------- simulate
@cli.command()
@click.argument("file")
@click.option("--steps", type=int, default=20, show_default=True, help="Length of the run.")
@click.option("--seed", type=int, default=None, help="Random seed (for a repeatable run).")
@_faults_option
@click.option("--json", "as_json", is_flag=True, help="Print the run as JSON.")
@_common_consts
def simulate(file: str, steps: int, seed: int | None, faults: BudgetSpec | None, as_json: bool,
             consts: tuple[str, ...]) -> None:
    """Print one random run of the spec in FILE, checking its invariants on the way."""
    const_map = _parse_consts(consts)
    if steps < 0:
        raise click.BadParameter("must be at least 0", param_hint="--steps")

    def run() -> int:
        model = load_model(file, const_map)
        rep = P.simulate(model, steps, seed, faults)
        if as_json:
            from ftverify.checker.output.report import results_json

            echo(dumps(results_json("simulate", [rep], None)))
        else:
            echo(format_report(rep))
        return rep.exit_code()

    sys.exit(_guarded(run))


def main() -> None:
    try:
        cli(standalone_mode=True)
    except KeyboardInterrupt:  # pragma: no cover
        sys.exit(EXIT_UNKNOWN)
    except BrokenPipeError:  # pragma: no cover - output piped into `head` and the like
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        sys.exit(EXIT_OK)


