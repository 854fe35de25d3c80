# SciPy (native HiGHS) peer for bench/hvp_lp.ts: solves the same dense LP (11) read from a JSON file.
import json, sys, time
import numpy as np
from scipy.optimize import linprog

for path in sys.argv[1:]:
    p = json.load(open(path))
    m, n = len(p["gradF"]), p["n"]
    H = np.array(p["hWW"]).reshape(m, m)
    HL = np.array(p["hWL"]).reshape(m, n)
    A = np.hstack([HL, H])
    c = np.concatenate([np.zeros(n), np.array(p["gradF"])])
    eps, delta = p["epsilon"], p["delta"]
    t0 = time.perf_counter()
    r = linprog(c, A_ub=np.vstack([A, -A]), b_ub=np.full(2 * m, eps), bounds=[(-1, 1)] * n + [(-delta, delta)] * m, method="highs")
    print(json.dumps({"m": m, "seconds": time.perf_counter() - t0, "objective": r.fun, "status": r.status}))
