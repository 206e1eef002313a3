"""`ftverify dependability`: availability, MTTF, MTTR and reliability of specs with rates, and
sweeps of a rate or a constant (`checker/engines/ctmc.py` builds and solves the chains)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from ftverify.checker.engines import control, ctmc
from ftverify.checker.engines.explicit import Limits
from ftverify.checker.output.report import table
from ftverify.spec import model as M
from ftverify.spec.typecheck import load_model


@dataclass(frozen=True)
class Sweep:
    """`--sweep NAME=LO:HI[:log|lin][:POINTS]`: a named rate (re-weights one chain) or an integer
    constant (one chain per value)."""

    name: str
    lo: float
    hi: float
    scale: str | None = None  # "log" or "lin"; None: log for a rate, each integer for a constant
    points: int = 25

    def values(self, integer: bool) -> list[float]:
        if integer and self.scale != "log":
            lo, hi = math.ceil(self.lo), math.floor(self.hi)
            step = max(1, math.ceil((hi - lo + 1) / self.points))
            return [float(v) for v in range(lo, hi + 1, step)]
        if integer:  # log-spaced integers, each once
            return sorted({float(round(v)) for v in np.geomspace(self.lo, self.hi, self.points)})
        if self.scale != "lin":
            return [float(v) for v in np.geomspace(self.lo, self.hi, self.points)]
        return [float(v) for v in np.linspace(self.lo, self.hi, self.points)]


def parse_sweep(text: str) -> Sweep:
    """Raises ValueError with what was expected."""
    name, sep, rng = text.partition("=")
    parts = rng.split(":")
    if not sep or not name.strip().isidentifier() or len(parts) < 2 or len(parts) > 4:
        raise ValueError(f"expected NAME=LO:HI[:log|lin][:POINTS], got {text!r}")
    try:
        lo, hi = float(parts[0]), float(parts[1])
    except ValueError:
        raise ValueError(f"expected numbers for LO and HI, got {parts[0]!r} and {parts[1]!r}") from None
    scale, points = None, 25
    for p in parts[2:]:
        if p in ("log", "lin"):
            scale = p
        elif p.isdigit() and int(p) >= 2:
            points = int(p)
        else:
            raise ValueError(f"expected `log`, `lin` or a number of points (at least 2), got {p!r}")
    if not (math.isfinite(lo) and math.isfinite(hi) and lo < hi):
        raise ValueError(f"expected LO < HI, got {lo:g} and {hi:g}")
    if scale == "log" and lo <= 0:
        raise ValueError("a log sweep needs LO > 0 (add `:lin` for a linear one)")
    return Sweep(name.strip(), lo, hi, scale, points)


def parse_rates(items: tuple[str, ...]) -> dict[str, float]:
    out: dict[str, float] = {}
    for item in items:
        name, sep, value = item.partition("=")
        try:
            v = float(value)
        except ValueError:
            v = math.nan
        if not sep or not name.strip().isidentifier() or not (v > 0 and math.isfinite(v)):
            raise ValueError(f"expected NAME=RATE with a positive rate, got {item!r}")
        out[name.strip()] = v
    return out


@dataclass(frozen=True)
class Request:
    paths: list[str]
    up: str
    rates: dict[str, float]
    consts: dict[str, int]
    horizon: float | None  # R(t) up to this time (None: twice the MTTF)
    points: int  # R(t) samples
    sweep: Sweep | None
    max_states: int | None
    export: bool = False  # keep the chain as PRISM/Storm explicit files


@dataclass
class Analysis:
    """One spec's figures (and sweep rows), as printed, written as JSON and plotted."""

    name: str
    path: str
    states: int
    tangible: int
    transitions: int
    rates: dict[str, float]
    measures: ctmc.Measures
    times: list[float]
    reliability: list[float]
    sweep: list[tuple[float, ctmc.Measures]]
    explicit: tuple[str, str] | None  # the chain as PRISM/Storm explicit files (.tra, .lab), if asked for

    def to_json(self) -> dict[str, Any]:
        def num(x: float) -> float | str:
            return x if math.isfinite(x) else ("inf" if x > 0 else "nan" if math.isnan(x) else "-inf")

        def meas(m: ctmc.Measures) -> dict[str, float | str]:
            return {"availability": m.availability, "unavailability": m.unavailability,
                    "failure_frequency": m.failure_frequency, "mttf": num(m.mttf), "mttr": num(m.mttr),
                    "mean_up_time": num(m.mean_up)}

        return {"spec": self.name, "file": self.path, "states": self.states, "tangible_states": self.tangible,
                "transitions": self.transitions, "rates": self.rates, **meas(self.measures),
                "reliability": [{"t": t, "R": r} for t, r in zip(self.times, self.reliability, strict=True)],
                "sweep": [{"value": v, **meas(m)} for v, m in self.sweep]}


def prepare(path: str, req: Request) -> M.Model:
    """Load one spec and check the request against it (rates, sweep, `up`) before any work starts;
    raises SpecError or ctmc.ChainError."""
    model = load_model(path, req.consts)
    sweep = req.sweep
    if sweep is not None and sweep.name not in dict(model.consts):
        if sweep.name not in dict(model.rates):
            raise ctmc.ChainError(f"--sweep {sweep.name}: spec {model.name} has no rate or constant `{sweep.name}` "
                                  f"(its rates: {', '.join(n for n, _ in model.rates) or 'none'})")
        if sweep.lo <= 0:
            raise ctmc.ChainError(f"--sweep {sweep.name}: a rate must be positive, and the sweep starts at "
                                  f"{sweep.lo:g}")
    ctmc.rate_values(model, req.rates)
    ctmc.check(model, req.up)
    return model


def analyse(model: M.Model, req: Request) -> Analysis:
    """Build and solve one spec's chain (raises ctmc.ChainError or ctmc.Incomplete)."""
    path = model.file
    sweep = req.sweep
    const_sweep = sweep is not None and sweep.name in dict(model.consts)
    rates = ctmc.rate_values(model, req.rates)
    ctl = control.current()
    ctl.begin(f"{model.name}: building the chain")
    chain = ctmc.build(model, req.up, Limits(req.max_states))
    ctl.note("solving")
    m = ctmc.measures(chain, rates)
    horizon = req.horizon or (2 * m.mttf if 0 < m.mttf < math.inf else 10 / min(rates.values() or [1.0]))
    times = np.linspace(0.0, horizon, req.points)
    rel = ctmc.reliability(chain, rates, times)
    rows: list[tuple[float, ctmc.Measures]] = []
    if sweep is not None:
        for v in sweep.values(const_sweep):
            if ctl.stopped:
                break  # Ctrl-C or the time limit: the values done so far are printed
            ctl.note(f"sweep {sweep.name} = {v:g}")
            if const_sweep:
                sub = load_model(path, {**req.consts, sweep.name: int(v)})
                rows.append((v, ctmc.measures(ctmc.build(sub, req.up, Limits(req.max_states)),
                                              ctmc.rate_values(sub, req.rates))))
            else:
                rows.append((v, ctmc.measures(chain, {**rates, sweep.name: v})))
    return Analysis(model.name, path, chain.reachable, len(chain.states), chain.transitions, rates, m,
                    [float(t) for t in times], [float(r) for r in rel], rows,
                    ctmc.explicit_files(chain, rates) if req.export else None)


def _fmt(x: float) -> str:
    if math.isnan(x):
        return "-"
    if math.isinf(x):
        return "infinite"
    return f"{x:.6g}"


def nines(unavailability: float) -> str:
    return "-" if unavailability <= 0 else f"{max(0.0, -math.log10(unavailability)):.2f}"


def text(a: Analysis, up: str) -> str:
    m = a.measures
    rates = ", ".join(f"{n} = {v:g}" for n, v in a.rates.items())
    lines = [f"{a.name} ({a.path}): {a.states:,} states ({a.tangible:,} tangible), {a.transitions:,} transitions; "
             f"up: {up}; rates: {rates}", ""]
    rows = [
        ["availability", f"{m.availability:.9f}", "long-run fraction of time up"],
        ["unavailability", f"{m.unavailability:.3e}", f"{nines(m.unavailability)} nines"],
        ["failure frequency", _fmt(m.failure_frequency), "failures per unit of time, in the long run"],
        ["MTTF", _fmt(m.mttf), "mean time to the first failure, from the initial state"],
        ["mean up time", _fmt(m.mean_up), "between failures, in the long run"],
        ["MTTR", _fmt(m.mttr), "mean time down per failure, in the long run"],
    ]
    lines.append(table(rows, ["measure", "value", "meaning"]))
    lines.append("")
    step = max(1, (len(a.times) - 1) // 5)
    picks = list(range(0, len(a.times), step))
    if picks[-1] != len(a.times) - 1:
        picks.append(len(a.times) - 1)
    lines.append(table([[_fmt(a.times[i]), f"{a.reliability[i]:.6f}"] for i in picks],
                       ["t", "R(t): no failure until t"]))
    if a.sweep:
        lines.append("")
        lines.append(table([[_fmt(v), f"{x.availability:.9f}", f"{x.unavailability:.3e}", nines(x.unavailability),
                             _fmt(x.mttf), _fmt(x.mttr)] for v, x in a.sweep],
                           ["value", "availability", "unavailability", "nines", "MTTF", "MTTR"]))
    return "\n".join(lines) + "\n"


def plot(analyses: list[Analysis], path: str, sweep: Sweep | None) -> None:
    """R(t) of every spec, or with a sweep its unavailability against the swept value (.svg or .png);
    needs matplotlib (the command checks that it is installed before any work starts)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7.5, 4.6))
    if sweep is None:
        for a in analyses:
            ax.plot(a.times, a.reliability, label=a.name)
        ax.set_xlabel("time t (the rates' unit)")
        ax.set_ylabel("reliability R(t)")
        ax.set_ylim(0, 1.02)
        ax.set_title("Probability of no failure until t")
    else:
        lows = []
        for a in analyses:
            xs = [v for v, _ in a.sweep]
            ys = [max(m.unavailability, 1e-300) for _, m in a.sweep]
            lows += ys
            ax.plot(xs, ys, marker="o", markersize=3, label=a.name)
            if sweep.name in a.rates:  # where the spec stands
                ax.axvline(a.rates[sweep.name], color=ax.lines[-1].get_color(), linewidth=0.8, linestyle="--")
        integer = all(float(v).is_integer() for a in analyses for v, _ in a.sweep) and sweep.name not in \
            {n for a in analyses for n in a.rates}
        if sweep.scale == "log" or (sweep.scale is None and not integer):
            ax.set_xscale("log")
        ax.set_yscale("log")
        lo, hi = (min(lows), max(lows)) if lows else (1e-6, 1.0)
        for k in range(1, 16):
            if not lo / 3 <= 10.0 ** -k <= hi * 3:
                continue
            ax.axhline(10.0 ** -k, color="grey", linewidth=0.6, linestyle=":")
            ax.annotate(f"{k} nine{'s' if k > 1 else ''}", (1.0, 10.0 ** -k), xycoords=("axes fraction", "data"),
                        fontsize=7, color="grey", ha="right", va="bottom")
        ax.set_xlabel(sweep.name)
        ax.set_ylabel("unavailability 1 - A (long run)")
        ax.set_title(f"Unavailability against {sweep.name}")
    ax.grid(True, which="major", alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)

