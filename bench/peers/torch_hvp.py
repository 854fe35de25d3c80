# PyTorch peer for bench/hvp_lp.ts: exact Hessian-vector products (double backward) of the mean
# cross-entropy + L2 of an MLP over 5,000 examples. Prints JSON lines {"case", "ms_per_hvp"}.
import json, sys, time
import torch

torch.manual_seed(0)
torch.set_num_threads(int(sys.argv[1]) if len(sys.argv) > 1 else 2)
n = 5000
x = torch.rand(n, 784)
y = torch.randint(0, 10, (n,))
for hidden in json.loads(sys.argv[2]):
    sizes = [784] + hidden + [10]
    params = []
    for a, b in zip(sizes[:-1], sizes[1:]):
        params += [(torch.randn(a, b) * (2 / (a + b)) ** 0.5).requires_grad_(), torch.zeros(b, requires_grad=True)]
    def loss():
        h = x
        for i in range(0, len(params), 2):
            h = h @ params[i] + params[i + 1]
            if i < len(params) - 2:
                h = torch.relu(h)
        return torch.nn.functional.cross_entropy(h, y) + 1e-3 * sum((params[i] ** 2).sum() for i in range(0, len(params), 2))
    v = [torch.randn_like(p) for p in params]
    def hvp():
        g = torch.autograd.grad(loss(), params, create_graph=True)
        return torch.autograd.grad(sum((gi * vi).sum() for gi, vi in zip(g, v)), params)
    hvp()
    t0 = time.perf_counter()
    for _ in range(10):
        hvp()
    print(json.dumps({"case": "x".join(map(str, hidden)), "ms_per_hvp": (time.perf_counter() - t0) * 100}))
