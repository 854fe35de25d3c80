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

def train_stacked(hiddens, batch, epochs):
    # The same stacking as nn/mlp_stack.ts, for a like-for-like peer: one padded stack per depth, the first
    # layer one wide matmul, deeper layers batched (bmm); Adam is elementwise, so members stay independent.
    groups = {}
    for h in hiddens:
        h = [w for w in h if w > 0]
        groups.setdefault(len(h), []).append(h)
    stacks = []
    for depth, members in groups.items():
        K = len(members)
        sizes = [784] + [max(m[l] for m in members) for l in range(depth)] + [10]
        params = [torch.zeros(784, K * sizes[1], requires_grad=True), torch.zeros(K * sizes[1], requires_grad=True)]
        for l in range(2, len(sizes)):
            params += [torch.zeros(K, sizes[l - 1], sizes[l], requires_grad=True), torch.zeros(K, 1, sizes[l], requires_grad=True)]
        with torch.no_grad():
            for p in params[0::2]:
                p.normal_(0, 0.05)  # timing only: the values do not matter here
        stacks.append((K, sizes, params, torch.optim.Adam(params, lr=1e-3)))
    t0 = time.perf_counter()
    for _ in range(epochs):
        perm = torch.randperm(n)
        for i in range(0, n, batch):
            idx = perm[i:i + batch]
            xb, yb = x[idx], y[idx]
            B = xb.shape[0]
            for K, sizes, params, opt in stacks:
                opt.zero_grad()
                h = xb @ params[0] + params[1]
                if len(sizes) > 2:
                    h = torch.relu(h)
                h = h.view(B, K, sizes[1]).transpose(0, 1)
                for l in range(2, len(sizes)):
                    h = torch.baddbmm(params[2 * l - 1], h, params[2 * l - 2])
                    if l < len(sizes) - 1:
                        h = torch.relu(h)
                loss = torch.nn.functional.cross_entropy(h.reshape(K * B, 10), yb.repeat(K)) * K
                loss.backward()
                opt.step()
    return time.perf_counter() - t0

cases = json.loads(sys.argv[2])
reps = int(sys.argv[3]) if len(sys.argv) > 3 else 1
median = lambda xs: sorted(xs)[len(xs) // 2]
for c in cases:
    if c.get("search"):
        t = sum(train(h, c["batch"], c["epochs"]) for h in c["search"])
        print(json.dumps({"case": c["name"], "seconds": t}))
        print(json.dumps({"case": c["name"] + "-stacked", "seconds": train_stacked(c["search"], c["batch"], c["epochs"])}))
    else:
        train(c["hidden"], c["batch"], 1)  # warm-up, as on the tfjs side
        t = median([train(c["hidden"], c["batch"], c["epochs"]) for _ in range(reps)])
        print(json.dumps({"case": c["name"], "samples_per_s": n * c["epochs"] / t}))
