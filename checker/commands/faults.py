"""`ftverify faults`: one fault-coverage campaign per spec file and fault budget, run in this
process or, with several campaigns and `--jobs N`, on worker processes (results in order).

A campaign job names its work (the file, its constants, the budget), not objects, so that
any process can load and run it; what comes back is what the command prints and writes.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from ftverify.checker.engines import campaign as FC
from ftverify.checker.engines import control
from ftverify.checker.engines.explicit import Limits
from ftverify.checker.engines.workers import NotRun
from ftverify.checker.output.report import format_trace, table
from ftverify.spec import model as M
from ftverify.spec.budget import budget_for
from ftverify.spec.syntax import BudgetSpec
from ftverify.spec.typecheck import load_model


@dataclass(frozen=True)
class CampaignJob:
    path: str
    consts: tuple[tuple[str, int], ...]
    budget: BudgetSpec | None  # None: the spec's own
    max_states: int
    show: int  # witness traces shown per outcome and fault
    want_json: bool
    progress: bool
    stamp: str = ""  # on a cluster: the code and model as the client loaded them (`backend.work_stamp`)
    shown: str = ""  # the path as the user gave it, when `path` was made absolute for a cluster


@dataclass
class CampaignOutcome:
    text: str
    coverage: FC.Coverage
    json: dict[str, Any] | None
    decided: bool  # something was injected and the campaign finished


def run_campaign(job: CampaignJob, model: M.Model | None = None) -> CampaignOutcome | NotRun:
    """One campaign; `model`: the job's spec if this process has loaded it already."""
    if job.stamp:  # on a cluster's worker: is the spec read here as the client read it?
        from ftverify.checker.cluster.backend import load_checked

        got = load_checked(job.path, job.stamp, lambda: load_model(job.path, dict(job.consts)), lambda m: [m])
        if isinstance(got, NotRun):
            return got
        model = got
    model = model or load_model(job.path, dict(job.consts))
    budget = budget_for(model, job.budget)
    control.current().begin(f"{model.name}, faults {budget}")
    c = FC.run(model, budget, Limits(max_states=job.max_states), progress=sys.stderr if job.progress else None)
    doc = FC.to_json([c])[0] if job.want_json else None
    if doc is not None and job.shown:  # the path as the user gave it, not the one a cluster worker read
        doc["file"] = job.shown
    return CampaignOutcome(campaign_text(c, job.shown or job.path, job.show), c.coverage(), doc,
                           not c.nothing and c.complete)


def run_campaigns(todo: list[CampaignJob], jobs: int, on_result: Callable[[CampaignJob, CampaignOutcome | None, str],
                                                                         None], loaded: dict[str, M.Model],
                  cluster: Any = None) -> None:
    """Run the campaigns, `on_result(job, outcome, "")` in order; after a stop (Ctrl-C, the time
    limit) each campaign not finished gets `on_result(job, None, why)`, and so does one lost with
    its cluster worker (twice). `loaded`: the specs by path, as the command loaded them (worker
    processes load their own). On `cluster` (checker/cluster/backend.py) when one is given."""
    ctl = control.current()
    if cluster is not None or (jobs > 1 and len(todo) > 1):
        from ftverify.checker.engines.workers import in_order

        done = 0

        def arrived(k: int, outcome: Any) -> None:
            nonlocal done
            if isinstance(outcome, NotRun):
                on_result(todo[k], None, outcome.reason)
            else:
                on_result(todo[k], outcome, "")
            done = k + 1

        where = cluster.describe() if cluster is not None else f"{min(jobs, len(todo))} worker processes"
        ctl.begin(f"{len(todo)} campaign{'s' * (len(todo) != 1)} on {where}")
        sent = todo
        if cluster is not None:  # the workers load each spec by its absolute path, and check what they load
            from ftverify.checker.cluster.backend import work_stamp

            sent = [replace(job, path=os.path.abspath(job.path), stamp=work_stamp([loaded[job.path]]), shown=job.path)
                    for job in todo]
        stopped = in_order(run_campaign, sent, jobs, arrived, cluster,
                           lambda text: print(f"warning: {text}", file=sys.stderr),
                           lambda k: f"the campaign of {todo[k].path}")
        for job in todo[done:]:
            on_result(job, None, stopped)
        return
    for job in todo:
        if ctl.stopped:
            on_result(job, None, f"not started ({ctl.stopped})")
        else:
            on_result(job, run_campaign(job, loaded.get(job.path)), "")


def campaign_text(c: FC.Campaign, path: str, show: int) -> str:
    head = f"{c.model} ({path}), fault budget {c.budget}"
    if c.nothing:
        return f"{head}: no fault can be injected: {c.nothing}\n"
    if not c.complete and not c.injections:
        return "\n".join([f"{head}: {c.states:,} states explored"] + [f"  note: {n}" for n in c.notes]) + "\n"
    lines = [f"{head}: {len(c.injections):,} fault injections over {c.states:,} states ({c.seconds:.2f} s)"]
    rows = [[o, f"{c.counts[o]:,}", f"{100 * c.share(o):.1f}%"] for o in FC.OUTCOMES]
    lines.append(table(rows, ["outcome", "injections", "share"]))
    lines.append(f"  masked or detected and handled: {100 * c.masked_or_detected:.1f}%")
    lines += [f"  note: {note}" for note in c.notes]
    for (outcome, fault), injs in FC.groups(c).items():
        if outcome == FC.MASKED:
            continue
        lines.append(f"  {outcome} after FAULT {fault}: {len(injs):,} injection(s)")
        for inj in injs[:show]:
            lines.append(f"    e.g. FAULT {inj.fault}: {inj.decided_by}; a shortest trace:")
            lines.append(format_trace(c.trace(inj), indent="      "))
    return "\n".join(lines) + "\n"
