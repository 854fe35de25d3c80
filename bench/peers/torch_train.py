# PyTorch peer for bench/training.ts: the same MLPs, data shapes, batch sizes and epochs, Adam, CPU.
# Single-model cases: median of `reps` runs (argv[3]) after a warm-up.
# Prints one JSON line per case: {"case": ..., "samples_per_s": ...}. Run with Debian's python3-torch.
import json, sys, time
import torch

torch.manual_seed(0)
torch.set_num_threads(int(sys.argv[1]) if len(sys.argv) > 1 else 2)
n = 5000
x = torch.rand(n, 784)
y = torch.randint(0, 10, (n,))

def mlp(hidden):
    layers, w = [], 784
    for h in hidden:
        layers += [torch.nn.Linear(w, h), torch.nn.ReLU()]
        w = h
    layers.append(torch.nn.Linear(w, 10))
    return torch.nn.Sequential(*layers)

def train(hidden, batch, epochs):
    m = mlp(hidden)
    opt = torch.optim.Adam(m.parameters(), lr=1e-3)
    loss_fn = torch.nn.CrossEntropyLoss()
    t0 = time.perf_counter()
    for _ in range(epochs):
        perm = torch.randperm(n)
        for i in range(0, n, batch):
            idx = perm[i:i + batch]
            opt.zero_grad()
            loss_fn(m(x[idx]), y[idx]).backward()
            opt.step()
    return time.perf_counter() - t0

cases = json.loads(sys.argv[2])
reps = int(sys.argv[3]) if len(sys.argv) > 3 else 1
median = lambda xs: sorted(xs)[len(xs) // 2]
for c in cases:
    if c.get("search"):
        t = sum(train(h, c["batch"], c["epochs"]) for h in c["search"])
        print(json.dumps({"case": c["name"], "seconds": t}))
    else:
        train(c["hidden"], c["batch"], 1)  # warm-up, as on the tfjs side
        t = median([train(c["hidden"], c["batch"], c["epochs"]) for _ in range(reps)])
        print(json.dumps({"case": c["name"], "samples_per_s": n * c["epochs"] / t}))
