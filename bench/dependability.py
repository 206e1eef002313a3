"""What `ftverify dependability` costs on large chains, beside Storm and a direct LU solve.

On bench/spares.ftv ((N+1)^2 states, a million at N = 999), measured in one run: building the
chain (the explicit exploration and the chain's matrices), the steady state alone, every measure
(steady state, MTTF, failure frequency), R(t) at 101 times, and the whole command as a user runs
it; then the same steady state by sparse LU (what is used up to `ctmc.DIRECT_MAX` states) and by
Storm (stormpy, if installed) on the exported chain, loading the files excluded.

    .venv/bin/python bench/dependability.py [--n 499 999]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as spla
from ftverify.checker.engines import ctmc
from ftverify.spec.typecheck import load_model

ROOT = Path(__file__).resolve().parent.parent
SPEC = ROOT / "bench" / "spares.ftv"


def timed(fn):  # type: ignore[no-untyped-def]
    t = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - t


def lu_steady_state(chain: ctmc.Chain, rates: dict[str, float]) -> float:
    q = chain.generator(rates)
    d = np.asarray(q.sum(axis=1)).ravel()
    pin = int(np.argmax(d))
    rest = np.r_[0:pin, pin + 1 : q.shape[0]]
    a = (sp.diags(d[rest]) - q[rest][:, rest]).T.tocsc()
    x = spla.spsolve(a, np.asarray(q[pin].toarray()).ravel()[rest], permc_spec="MMD_AT_PLUS_A")
    pi = np.r_[x[:pin], 1.0, x[pin:]]
    return float(pi[chain.up].sum() / pi.sum())


def storm_steady_state(chain: ctmc.Chain, rates: dict[str, float]) -> tuple[float, float] | None:
    try:
        import stormpy
    except ImportError:
        return None
    tra, lab = ctmc.explicit_files(chain, rates)
    with tempfile.TemporaryDirectory() as d:
        (Path(d) / "c.tra").write_text(tra)
        (Path(d) / "c.lab").write_text(lab)
        model = stormpy.build_model_from_explicit(str(Path(d) / "c.tra"), str(Path(d) / "c.lab"))
        prop = stormpy.parse_properties('S=? ["up"]')[0]
        res, secs = timed(lambda: stormpy.model_checking(model, prop))
        return float(res.get_value_vector()[model.initial_states[0]]), secs


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, nargs="+", default=[499, 999], help="values of the spec's N")
    args = ap.parse_args()
    print("| states | build s | steady state s | all measures s | R(t) s | whole command s | LU steady state s "
          "| Storm steady state s | A (ours) | A (Storm) |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for n in args.n:
        model = load_model(str(SPEC), {"N": n})
        rates = ctmc.rate_values(model)
        chain, t_build = timed(lambda: ctmc.build(model, progress=None))  # noqa: B023
        q = chain.generator(rates)
        _, t_ss = timed(lambda: ctmc.long_run(q, chain.init))  # noqa: B023
        m, t_all = timed(lambda: ctmc.measures(chain, rates))  # noqa: B023
        _, t_rel = timed(lambda: ctmc.reliability(chain, rates, np.linspace(0, 200, 101)))  # noqa: B023
        command = [str(Path(sys.executable).parent / "ftverify"), "dependability", str(SPEC), "--const", f"N={n}", "-q"]
        _, t_cmd = timed(lambda: subprocess.run(command, check=True, capture_output=True))  # noqa: B023
        a_lu, t_lu = timed(lambda: lu_steady_state(chain, rates))  # noqa: B023
        storm = storm_steady_state(chain, rates)
        s_a, s_t = (f"{storm[0]:.12f}", f"{storm[1]:.2f}") if storm else ("-", "-")
        assert abs(a_lu - m.availability) <= 1e-9 * a_lu, (a_lu, m.availability)
        print(f"| {len(chain.states):,} | {t_build:.2f} | {t_ss:.2f} | {t_all:.2f} | {t_rel:.2f} | {t_cmd:.2f} "
              f"| {t_lu:.2f} | {s_t} | {m.availability:.12f} | {s_a} |", flush=True)


if __name__ == "__main__":
    main()
