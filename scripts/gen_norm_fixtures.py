#!/usr/bin/python3
"""PyTorch golden values for the rest of the normalization family (test/nn/*.pytorch.test.ts read them).

Run:    /usr/bin/python3 scripts/gen_norm_fixtures.py
Needs:  Debian's python3-torch (importable only from /usr/bin/python3). Tests never need Python: the JSON files
        written to test/fixtures/norm_*.json are committed. Output is deterministic (seeds from the case names).

Files:
  norm_layernorm.json     torch.nn.LayerNorm: 1-D and multi-dim normalizedShape, no affine, a constant row,
                          data offset by 1e3.
  norm_groupnorm.json     torch.nn.GroupNorm: several group counts (1, 2, 3, C) on [N, C], [N, C, L], [N, C, H, W].
  norm_instancenorm.json  torch.nn.InstanceNorm1d/2d: affine, trackRunningStats over a few training steps then
                          eval, an unbatched input, no tracking (instance statistics in eval too).
  norm_ghost.json         Ghost batch normalization. Reference: F.batch_norm applied to each chunk of
                          virtualBatchSize consecutive samples (outputs and all gradients from PyTorch's autograd);
                          running statistics updated here with the mean over chunks of the chunk statistics:
                          running = running*m + mean_chunks(stat)*(1 - m), the variance unbiased (V*S/(V*S - 1))
                          unless unbiasedRunningVar is false; m = 1 - 1/n for runningStats 'cumulative'.
  norm_renorm.json        Batch Renormalization (Ioffe 2017), written out with torch ops: r = clip(sigma_B/sigma,
                          1/rMax, rMax), d = clip((mu_B - mu)/sigma, -dMax, dMax) from sigma = sqrt(running_var + eps),
                          both detached (no gradient); y = ((x - mu_B)/sigma_B*r + d)*gamma + beta; the running
                          statistics updated as plain BN (EMA, unbiased variance). Limits change between steps
                          (a warm-up schedule).

Conventions as scripts/gen_fixtures.py: normlab momentum m <=> PyTorch momentum 1 - m; inputs drawn in float32
and used exactly in both precisions; "f64" holds PyTorch's float64 results, "f32" its float32 results for the
same inputs. Each case: module name, constructor args and normlab options, a state dict to load, then phases
(training flag, x, dy, optional renorm limits) with the quantities y, dx, weight_grad, bias_grad and, after
training phases of modules with running statistics, running_mean, running_var, num_batches_tracked.
PyTorch's InstanceNorm does not increment num_batches_tracked; the fixtures record that (0).
"""
import os
import zlib

import torch
import torch.nn.functional as F

from gen_fixtures import OUT, draw, f32_list, f64_list, torch_momentum, write as write_json



def case(name, module, args, options, phases, **data):
    """phases: list of (training, shape) or (training, shape, renorm)."""
    return {'name': name, 'module': module, 'args': args, 'options': options, 'phases': phases, 'data': data}


# ---- the cases ----

LN = [
    case('ln [6, 5] over 5', 'LayerNorm', [5], {}, [(True, [6, 5]), (False, [3, 5])]),
    case('ln [3, 4, 6] over 6', 'LayerNorm', [6], {'eps': 1e-3}, [(True, [3, 4, 6])]),
    case('ln [2, 3, 4, 5] over [4, 5]', 'LayerNorm', [[4, 5]], {}, [(True, [2, 3, 4, 5])]),
    case('ln [3, 2, 3, 4] over [2, 3, 4] (C, H, W)', 'LayerNorm', [[2, 3, 4]], {}, [(True, [3, 2, 3, 4])]),
    case('ln [4, 3, 5] over [3, 5], no affine', 'LayerNorm', [[3, 5]], {'elementwiseAffine': False}, [(True, [4, 3, 5])]),
    case('ln [4, 7] over 7, a constant row', 'LayerNorm', [7], {}, [(True, [4, 7])], constantRow=[2, 0.1]),
    case('ln [5, 8] over 8, offset 1e3', 'LayerNorm', [8], {}, [(True, [5, 8])], offset=1e3),
]

GN = [
    case('gn G=2 on [5, 4]', 'GroupNorm', [2, 4], {}, [(True, [5, 4])]),
    case('gn G=1 on [4, 6, 5]', 'GroupNorm', [1, 6], {}, [(True, [4, 6, 5])]),
    case('gn G=2 on [4, 6, 5]', 'GroupNorm', [2, 6], {}, [(True, [4, 6, 5])]),
    case('gn G=3 on [4, 6, 5]', 'GroupNorm', [3, 6], {'eps': 1e-3}, [(True, [4, 6, 5])]),
    case('gn G=6 on [4, 6, 5]', 'GroupNorm', [6, 6], {}, [(True, [4, 6, 5])]),
    case('gn G=1 on [3, 4, 3, 5]', 'GroupNorm', [1, 4], {}, [(True, [3, 4, 3, 5]), (False, [2, 4, 3, 5])]),
    case('gn G=2 on [3, 4, 3, 5]', 'GroupNorm', [2, 4], {}, [(True, [3, 4, 3, 5])]),
    case('gn G=4 on [3, 4, 3, 5], no affine', 'GroupNorm', [4, 4], {'affine': False}, [(True, [3, 4, 3, 5])]),
    case('gn G=3 on [2, 6, 4, 4], offset 1e3', 'GroupNorm', [3, 6], {}, [(True, [2, 6, 4, 4])], offset=1e3),
]

IN = [
    case('in1d affine, no tracking', 'InstanceNorm1d', [3], {'affine': True}, [(True, [4, 3, 6]), (False, [2, 3, 5])]),
    case('in1d affine, tracking m=0.9', 'InstanceNorm1d', [3], {'affine': True, 'trackRunningStats': True},
         [(True, [4, 3, 6]), (True, [2, 3, 5]), (True, [3, 3, 7]), (False, [2, 3, 6])], initialStats=True),
    case('in1d tracking m=0.7, no affine', 'InstanceNorm1d', [2], {'trackRunningStats': True, 'momentum': 0.7},
         [(True, [3, 2, 4]), (True, [5, 2, 4]), (False, [2, 2, 4])]),
    case('in1d unbatched [C, L], affine, tracking', 'InstanceNorm1d', [3], {'affine': True, 'trackRunningStats': True},
         [(True, [3, 6]), (True, [3, 4]), (False, [3, 5])], initialStats=True),
    case('in2d affine, tracking m=0.8', 'InstanceNorm2d', [4], {'affine': True, 'trackRunningStats': True, 'momentum': 0.8},
         [(True, [3, 4, 3, 5]), (True, [2, 4, 4, 4]), (True, [4, 4, 2, 3]), (False, [2, 4, 3, 3])], initialStats=True),
    case('in2d no affine, no tracking', 'InstanceNorm2d', [2], {}, [(True, [2, 2, 4, 4]), (False, [1, 2, 3, 3])]),
    case('in2d unbatched [C, H, W], affine', 'InstanceNorm2d', [3], {'affine': True}, [(True, [3, 4, 5])]),
    case('in2d affine, tracking, offset 1e3', 'InstanceNorm2d', [2], {'affine': True, 'trackRunningStats': True},
         [(True, [3, 2, 4, 4]), (True, [2, 2, 4, 4]), (False, [2, 2, 4, 4])], offset=1e3),
]


def bn_opts(mode='ema', momentum=0.9, unbiased=True, affine=True, **extra):
    return {'eps': 1e-5, 'momentum': momentum, 'runningStats': mode, 'unbiasedRunningVar': unbiased, 'affine': affine, **extra}


GHOST = [
    case('ghost [8, 3] V=4', 'BatchNorm1d', [3], bn_opts(virtualBatchSize=4),
         [(True, [8, 3]), (True, [8, 3]), (True, [12, 3]), (False, [5, 3])], initialStats=True),
    case('ghost [12, 3, 5] V=3', 'BatchNorm1d', [3], bn_opts(virtualBatchSize=3),
         [(True, [12, 3, 5]), (True, [6, 3, 5]), (False, [4, 3, 5])]),
    case('ghost [6, 2, 3, 3] V=2 m=0.8 biased', 'BatchNorm2d', [2], bn_opts(momentum=0.8, unbiased=False, virtualBatchSize=2),
         [(True, [6, 2, 3, 3]), (True, [4, 2, 3, 3]), (False, [3, 2, 3, 3])], initialStats=True),
    case('ghost [8, 4] V=2 cumulative, no affine', 'BatchNorm1d', [4], bn_opts('cumulative', affine=False, virtualBatchSize=2),
         [(True, [8, 4]), (True, [6, 4]), (True, [4, 4]), (False, [3, 4])]),
    case('ghost [6, 3] V=6 (one chunk: plain BN)', 'BatchNorm1d', [3], bn_opts(virtualBatchSize=6),
         [(True, [6, 3]), (False, [4, 3])], initialStats=True),
]

RENORM = [
    case('renorm [8, 3] warm-up schedule', 'BatchNorm1d', [3], bn_opts(),
         [(True, [8, 3], {'rMax': 1, 'dMax': 0}), (True, [8, 3], {'rMax': 1.5, 'dMax': 0.5}),
          (True, [6, 3], {'rMax': 3, 'dMax': 5}), (True, [8, 3], {'rMax': 1.2, 'dMax': 0.1}), (False, [5, 3])],
         initialStats=True, channelShift=[0.5, -1.0, 2.0], channelScale=[1.0, 0.3, 2.0]),
    case('renorm [4, 2, 3, 3] rMax=2 dMax=1 m=0.8', 'BatchNorm2d', [2], bn_opts(momentum=0.8, renorm={'rMax': 2, 'dMax': 1}),
         [(True, [4, 2, 3, 3]), (True, [3, 2, 3, 3]), (True, [4, 2, 3, 3]), (False, [2, 2, 3, 3])],
         initialStats=True, channelShift=[1.0, -0.5], channelScale=[2.0, 0.5]),
    case('renorm [6, 4, 5] no affine, loose limits', 'BatchNorm1d', [4], bn_opts(affine=False, renorm={'rMax': 10, 'dMax': 10}),
         [(True, [6, 4, 5]), (True, [6, 4, 5]), (False, [3, 4, 5])], initialStats=True),
]


# ---- PyTorch runs ----

def make_torch(c, dtype):
    o, a = c['options'], c['args']
    if c['module'] == 'LayerNorm':
        return torch.nn.LayerNorm(a[0], eps=o.get('eps', 1e-5), elementwise_affine=o.get('elementwiseAffine', True), dtype=dtype)
    if c['module'] == 'GroupNorm':
        return torch.nn.GroupNorm(a[0], a[1], eps=o.get('eps', 1e-5), affine=o.get('affine', True), dtype=dtype)
    cls = {'InstanceNorm1d': torch.nn.InstanceNorm1d, 'InstanceNorm2d': torch.nn.InstanceNorm2d}[c['module']]
    return cls(a[0], eps=o.get('eps', 1e-5), momentum=torch_momentum(o.get('momentum', 0.9)), affine=o.get('affine', False),
               track_running_stats=o.get('trackRunningStats', False), dtype=dtype)


def collect(out_list, y, x, weight, bias):
    r = {'y': out_list(y), 'dx': out_list(x.grad)}
    if weight is not None:
        r['weight_grad'] = out_list(weight.grad)
        r['bias_grad'] = out_list(bias.grad)
    return r


def run_module(c, batches, state, dtype):
    """LayerNorm / GroupNorm / InstanceNorm: the torch module itself, phase by phase."""
    m = make_torch(c, dtype)
    with torch.no_grad():
        for name, v in state.items():
            getattr(m, name).copy_(torch.tensor(v, dtype=getattr(m, name).dtype).reshape(getattr(m, name).shape))
    out_list = f64_list if dtype == torch.float64 else f32_list
    results = []
    for (training, *_), (x0, dy0) in zip(c['phases'], batches):
        m.train(training)
        x = x0.to(dtype).requires_grad_(True)
        if m.weight is not None:
            m.weight.grad = None
            m.bias.grad = None
        y = m(x)
        y.backward(dy0.to(dtype))
        r = collect(out_list, y, x, m.weight, m.bias)
        if training and getattr(m, 'running_mean', None) is not None:
            r['running_mean'] = out_list(m.running_mean)
            r['running_var'] = out_list(m.running_var)
            r['num_batches_tracked'] = int(m.num_batches_tracked)
        results.append(r)
    return results


def channel_stats(x):
    """Per-channel (axis 1) mean and biased variance over all other axes, in x's dtype."""
    C = x.shape[1]
    v = x.detach().transpose(0, 1).reshape(C, -1)
    return v.mean(dim=1), v.var(dim=1, unbiased=False), v.shape[1]


def run_bn_reference(c, batches, state, dtype):
    """Ghost BN (per-chunk F.batch_norm) or Batch Renormalization (explicit torch ops), phase by phase."""
    o = c['options']
    eps, mode = o['eps'], o['runningStats']
    w = torch.tensor(state['weight'], dtype=dtype, requires_grad=True) if o['affine'] else None
    b = torch.tensor(state['bias'], dtype=dtype, requires_grad=True) if o['affine'] else None
    rm = torch.tensor(state['running_mean'], dtype=dtype)
    rv = torch.tensor(state['running_var'], dtype=dtype)
    n = state['num_batches_tracked']
    V = o.get('virtualBatchSize')
    renorm = o.get('renorm')
    out_list = f64_list if dtype == torch.float64 else f32_list
    results = []
    for (training, shape, *limits), (x0, dy0) in zip(c['phases'], batches):
        if limits:
            renorm = limits[0]
        x = x0.to(dtype).requires_grad_(True)
        if w is not None:
            w.grad = None
            b.grad = None
        view = [1, shape[1]] + [1] * (len(shape) - 2)
        if not training:
            y = F.batch_norm(x, rm, rv, w, b, False, 0.0, eps)
        elif renorm is None:
            chunks = x.split(V) if V and V < shape[0] else [x]
            y = torch.cat([F.batch_norm(ch, None, None, w, b, True, 0.0, eps) for ch in chunks])
        else:
            mu = x.transpose(0, 1).reshape(shape[1], -1).mean(dim=1)  # with gradient through mu_B, sigma_B
            var = x.transpose(0, 1).reshape(shape[1], -1).var(dim=1, unbiased=False)
            sigma_b = torch.sqrt(var + eps)
            sigma = torch.sqrt(rv + eps)
            r = (sigma_b / sigma).clamp(1 / renorm['rMax'], renorm['rMax']).detach()
            d = ((mu - rm) / sigma).clamp(-renorm['dMax'], renorm['dMax']).detach()
            xh = (x - mu.reshape(view)) / sigma_b.reshape(view) * r.reshape(view) + d.reshape(view)
            y = xh * w.reshape(view) + b.reshape(view) if w is not None else xh
        y.backward(dy0.to(dtype))
        res = collect(out_list, y, x, w, b)
        if training:
            with torch.no_grad():
                chunks = x.detach().split(V) if V and V < shape[0] and renorm is None else [x.detach()]
                stats = [channel_stats(ch) for ch in chunks]
                mean = torch.stack([s[0] for s in stats]).mean(dim=0)
                size = stats[0][2]
                scale = size / (size - 1) if o['unbiasedRunningVar'] else 1.0
                var = torch.stack([s[1] for s in stats]).mean(dim=0) * scale
                n += 1
                m = 1.0 - 1.0 / n if mode == 'cumulative' else o['momentum']
                rm = rm * m + mean * (1 - m)
                rv = rv * m + var * (1 - m)
            res['running_mean'] = out_list(rm)
            res['running_var'] = out_list(rv)
            res['num_batches_tracked'] = n
        results.append(res)
    return results


def fixture(c, runner):
    gen = torch.Generator().manual_seed(zlib.crc32(c['name'].encode()))
    data = c['data']
    batches = []
    for training, shape, *_ in c['phases']:
        x = draw(gen, shape, channel_scale=data.get('channelScale'), channel_shift=data.get('channelShift'))
        if 'offset' in data:
            x = (x.to(torch.float64) + data['offset']).to(torch.float32)
        if 'constantRow' in data:
            row, v = data['constantRow']
            x[row] = float(torch.tensor(v, dtype=torch.float32))
        batches.append((x, draw(gen, shape)))
    probe = make_torch(c, torch.float64) if runner is run_module else None
    state = {}
    o = c['options']
    affine_shape = list(probe.weight.shape) if probe is not None and probe.weight is not None else None
    if runner is run_bn_reference and o['affine']:
        affine_shape = [c['args'][0]]
    if affine_shape:
        state['weight'] = (1 + 0.5 * torch.randn(affine_shape, generator=gen)).reshape(-1).tolist()
        state['bias'] = (0.5 * torch.randn(affine_shape, generator=gen)).reshape(-1).tolist()
    tracks = (probe is not None and getattr(probe, 'running_mean', None) is not None) or runner is run_bn_reference
    if tracks:
        C = c['args'][0]
        if data.get('initialStats'):
            state['running_mean'] = torch.randn(C, generator=gen).tolist()
            state['running_var'] = (0.5 + torch.rand(C, generator=gen)).tolist()
            state['num_batches_tracked'] = 0
        else:
            state['running_mean'] = [0.0] * C
            state['running_var'] = [1.0] * C
            state['num_batches_tracked'] = 0
    r64 = runner(c, batches, state, torch.float64)
    r32 = runner(c, batches, state, torch.float32)
    phases = []
    for (training, shape, *limits), (x, dy), a, b in zip(c['phases'], batches, r64, r32):
        p = {'training': training, 'shape': shape, 'x': f64_list(x), 'dy': f64_list(dy), 'f64': a, 'f32': b}
        if limits:
            p['renorm'] = limits[0]
        phases.append(p)
    return {'name': c['name'], 'module': c['module'], 'args': c['args'], 'options': c['options'], 'state': state, 'phases': phases}


def write(name, cases, runner):
    write_json(name, {'generator': 'scripts/gen_norm_fixtures.py', 'torch': torch.__version__, 'cases': [fixture(c, runner) for c in cases]})


def main():
    torch.set_num_threads(1)
    os.makedirs(OUT, exist_ok=True)
    write('norm_layernorm.json', LN, run_module)
    write('norm_groupnorm.json', GN, run_module)
    write('norm_instancenorm.json', IN, run_module)
    write('norm_ghost.json', GHOST, run_bn_reference)
    write('norm_renorm.json', RENORM, run_bn_reference)


if __name__ == '__main__':
    main()
