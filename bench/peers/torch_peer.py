#!/usr/bin/python3
"""PyTorch peer: `torch_peer.py bn|mlp THREADS '<config json>'`; prints one JSON line of timings
(ms, wall-clock and process CPU time per rep).

BN2d [N, C, H, W] training forward, forward+backward (NCHW and channels-last), inference; the paper's
MLP (784-100-100-100-10 sigmoid, BN before each sigmoid or none, batch 60, SGD lr 0.5), ms per step.
"""
import json
import sys
import time

# THREADS: a number (torch.set_num_threads; the bench also sets OPENBLAS_NUM_THREADS for the one-thread row, since
# OpenBLAS threads ignore torch.set_num_threads) or 'default' (PyTorch's own defaults: every core).
mode, threads_arg = sys.argv[1], sys.argv[2]
threads = None if threads_arg == "default" else int(threads_arg)
cfg = json.loads(sys.argv[3]) if len(sys.argv) > 3 else {}
try:
    import torch
except Exception as e:  # the peer is optional: report why it was skipped
    print(json.dumps({"peer": f"pytorch-{threads_arg}", "skipped": f"import torch failed: {e}"}))
    sys.exit(0)

torch.manual_seed(0)
if threads is not None:
    torch.set_num_threads(threads)
reps = cfg.get("reps", {})


def measure(f, budget_ms=cfg.get("budgetMs", 10000)):
    c = time.process_time(); s = time.perf_counter(); f(); first = (time.perf_counter() - s) * 1e3
    if reps.get("minReps", 2) == 0 and first >= budget_ms:  # quick runs: too slow for the budget, keep the cold run
        return {"wall": [first], "cpu": [(time.process_time() - c) * 1e3], "cold": True}
    i = 1  # warm up for `warmup` runs and warmMs at least (fresh memory is slow to touch at first), within budget/3
    while (i < reps.get("warmup", 2) or (time.perf_counter() - s) * 1e3 < reps.get("warmMs", 500)) \
            and (time.perf_counter() - s) * 1e3 + first < budget_ms / 3 and i < 50:
        f(); i += 1
    n = max(reps.get("minReps", 2), min(reps.get("reps", 7), int(budget_ms // max(first, 1e-3))))
    wall, cpu = [], []
    for _ in range(n):
        c = time.process_time(); s = time.perf_counter(); f()
        wall.append((time.perf_counter() - s) * 1e3); cpu.append((time.process_time() - c) * 1e3)
    return {"wall": wall, "cpu": cpu}


def measure_steps(step, target_ms):
    s = time.perf_counter()
    for _ in range(5):
        step()
    per = (time.perf_counter() - s) * 1e3 / 5
    steps = max(3, round(target_ms / per))
    wall, cpu = [], []
    for _ in range(max(cfg.get("mlp", {}).get("reps", 5), cfg.get("mlp", {}).get("minReps", 2))):
        c = time.process_time(); s = time.perf_counter()
        for _ in range(steps):
            step()
        wall.append((time.perf_counter() - s) * 1e3 / steps); cpu.append((time.process_time() - c) * 1e3 / steps)
    return {"wall": wall, "cpu": cpu}, steps


results, info = {}, {"version": torch.__version__, "threads": torch.get_num_threads()}
if mode == "bn":
    N, C, H, W = cfg.get("shape", [32, 64, 56, 56])
    x = torch.randn(N, C, H, W, requires_grad=True); dy = torch.randn(N, C, H, W)
    bn = torch.nn.BatchNorm2d(C)
    xl = x.detach().contiguous(memory_format=torch.channels_last).requires_grad_(True)
    dyl = dy.contiguous(memory_format=torch.channels_last)

    def fwd():
        with torch.no_grad():
            bn.train(); bn(x)

    def fwdbwd(x=x, dy=dy):
        bn.train(); x.grad = None; bn.zero_grad(); bn(x).backward(dy)

    def infer():
        with torch.no_grad():
            bn.eval(); bn(x)
        bn.train()

    results["bn.train_fwd"] = measure(fwd)
    results["bn.train_fwd_bwd"] = measure(fwdbwd)
    results["bn.train_fwd_bwd_channels_last"] = measure(lambda: fwdbwd(xl, dyl))
    results["bn.infer"] = measure(infer)
else:
    S, B = cfg.get("samples", 10000), cfg.get("batch", 60)
    X = torch.rand(S, 784); Y = torch.randint(0, 10, (S,))
    for use_bn in (True, False):
        layers, d = [], 784
        for _ in range(3):
            layers += [torch.nn.Linear(d, 100, bias=not use_bn)] + ([torch.nn.BatchNorm1d(100)] if use_bn else []) + [torch.nn.Sigmoid()]
            d = 100
        m = torch.nn.Sequential(*layers, torch.nn.Linear(100, 10))
        opt = torch.optim.SGD(m.parameters(), lr=cfg.get("lr", 0.5))
        it = [0]

        def step():
            j = (it[0] % (S // B)) * B; it[0] += 1
            opt.zero_grad(); torch.nn.functional.cross_entropy(m(X[j:j + B]), Y[j:j + B]).backward(); opt.step()
        key = "mlp.bn" if use_bn else "mlp.plain"
        results[key], info[key + ".steps_per_sample"] = measure_steps(step, cfg.get("mlp", {}).get("targetMs", 1000))
    # normlab's models.cnn(): conv 1→16 3×3 (no bias) → BN → ReLU → max-pool 2, conv 16→32 → BN → ReLU →
    # max-pool 2, global average pooling, Linear 32→10; SGD lr 0.05, momentum 0.9, batch B.
    t = torch.nn
    cnn = t.Sequential(t.Unflatten(1, (1, 28, 28)),
                       t.Conv2d(1, 16, 3, padding=1, bias=False), t.BatchNorm2d(16), t.ReLU(), t.MaxPool2d(2),
                       t.Conv2d(16, 32, 3, padding=1, bias=False), t.BatchNorm2d(32), t.ReLU(), t.MaxPool2d(2),
                       t.AdaptiveAvgPool2d(1), t.Flatten(), t.Linear(32, 10))
    copt = torch.optim.SGD(cnn.parameters(), lr=0.05, momentum=0.9)
    cit = [0]

    def cstep():
        j = (cit[0] % (S // B)) * B; cit[0] += 1
        copt.zero_grad(); torch.nn.functional.cross_entropy(cnn(X[j:j + B]), Y[j:j + B]).backward(); copt.step()
    results["cnn"], info["cnn.steps_per_sample"] = measure_steps(cstep, cfg.get("mlp", {}).get("targetMs", 1000))
print(json.dumps({"peer": f"pytorch-{threads_arg}", "info": info, "results": results}))
