# Optuna peer for bench/tpe_vs_optuna.ts: Optuna's TPESampler (defaults; argv[4] "multivariate" for the
# multivariate variant) on the bench's search space (layers int 0..3, neurons int 1..15, log10 lambda float
# on [-5, -1]) and its synthetic objective, one study per seed.
# argv: first seed, number of seeds, trials per study, variant ("independent" or "multivariate").
# Prints one JSON object: {"optuna": version, "runs": [{"seed", "values": [...], "params": [[l, n, lam], ...]}]}.
# argv "step", number of seeds, history length: one proposal per seed after the same history of random trials
# (numpy seed 123); prints {"optuna": version, "history": [[l, n, lam, value], ...], "proposals": [[l, n, lam], ...]}.
# Run with Debian's python3-optuna (3.1): apt-get update && apt-get install -y python3-optuna
import json
import sys
import warnings

import numpy as np
import optuna

optuna.logging.set_verbosity(optuna.logging.WARNING)
warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)


def objective_value(layers, neurons, log10_lambda):
    # must equal objective() in bench/tpe_vs_optuna.ts (the bench recomputes these values and checks)
    return 0.3 * abs(layers - 2) + ((neurons - 11) / 5.0) ** 2 + 0.5 * (log10_lambda + 3.3) ** 2


def step(count, length):
    rs = np.random.RandomState(123)
    history = []
    for _ in range(length):
        layers, neurons, lam = int(rs.randint(0, 4)), int(rs.randint(1, 16)), float(rs.uniform(-5, -1))
        history.append([layers, neurons, lam, objective_value(layers, neurons, lam)])
    d = optuna.distributions
    dists = {"layers": d.IntDistribution(0, 3), "neurons": d.IntDistribution(1, 15), "log10_lambda": d.FloatDistribution(-5.0, -1.0)}
    proposals = []
    for seed in range(count):
        study = optuna.create_study(sampler=optuna.samplers.TPESampler(seed=seed), direction="minimize")
        for layers, neurons, lam, value in history:
            params = {"layers": layers, "neurons": neurons, "log10_lambda": lam}
            study.add_trial(optuna.trial.create_trial(params=params, distributions=dists, value=value))
        trial = study.ask()
        proposals.append([trial.suggest_int("layers", 0, 3), trial.suggest_int("neurons", 1, 15), trial.suggest_float("log10_lambda", -5.0, -1.0)])
    print(json.dumps({"optuna": optuna.__version__, "history": history, "proposals": proposals}))


def main():
    if sys.argv[1] == "step":
        step(int(sys.argv[2]), int(sys.argv[3]))
        return
    first, count, trials = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
    variant = sys.argv[4] if len(sys.argv) > 4 else "independent"
    runs = []
    for seed in range(first, first + count):
        sampler = optuna.samplers.TPESampler(seed=seed, multivariate=variant == "multivariate")
        study = optuna.create_study(sampler=sampler, direction="minimize")
        params = []

        def objective(trial):
            layers = trial.suggest_int("layers", 0, 3)
            neurons = trial.suggest_int("neurons", 1, 15)
            lam = trial.suggest_float("log10_lambda", -5.0, -1.0)
            params.append([layers, neurons, lam])
            return objective_value(layers, neurons, lam)

        study.optimize(objective, n_trials=trials)
        runs.append({"seed": seed, "values": [t.value for t in study.trials], "params": params})
    print(json.dumps({"optuna": optuna.__version__, "runs": runs}))


if __name__ == "__main__":
    main()
