#!/usr/bin/python3
"""PyTorch golden values for normlab's BatchNorm and a small net (test/nn/batchnorm.pytorch.test.ts and
test/nn/container.pytorch.test.ts read them).

Run:    /usr/bin/python3 scripts/gen_fixtures.py    (`npm run fixtures` runs every scripts/gen_*.py: scripts/fixtures.mjs)
Needs:  Debian's python3-torch (importable only from /usr/bin/python3). Tests never need Python: the JSON
        files written to test/fixtures/ are committed. Output is deterministic (fixed seeds).

Momentum conventions, written once here and used everywhere below:
        normlab momentum m  <=>  PyTorch momentum 1 - m
normlab (the note, Keras, ONNX): running = running*m + batch*(1 - m), default 0.9.
PyTorch:                         running = running*(1 - p) + batch*p,  default p = 0.1.
runningStats 'cumulative' is PyTorch momentum=None (factor 1/num_batches_tracked, i.e. normlab m = 1 - 1/n);
'none' is track_running_stats=False (no buffers; eval mode normalizes with batch statistics too).

Every input (data, upstream gradients, parameters, initial buffers) is drawn in float32 and used exactly in
both precisions, so the float64 results are the reference for the very inputs the float32 runs see.
"f64" holds PyTorch's float64 results (shortest round-trip repr, <= 17 significant digits), "f32" PyTorch's
float32 results for the same inputs (shortest float32 repr): a test measures its own float32 error against
f64 and compares it with PyTorch's float32 error.

PyTorch keeps only the unbiased running variance. For unbiasedRunningVar=false the reference running_var is
computed here from the batch data: running*m + var_biased(batch)*(1 - m), in float64 for "f64" and with
float32 torch ops for "f32"; evaluation then uses F.batch_norm with those statistics.
"""
import json
import os
import zlib

import numpy as np
import torch
import torch.nn.functional as F

from fixtures_bn_cases import BN_CASES, NET_CASES

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'test', 'fixtures')


def torch_momentum(m):
    """normlab momentum m (weight of the old value) -> PyTorch momentum (weight of the new value)."""
    return 1.0 - m


def f64_list(t):
    return t.detach().to(torch.float64).reshape(-1).tolist()


def f32_list(t):
    # shortest decimal that rounds back to the same float32 (Float32Array.from restores it exactly)
    return [float(repr(v)) for v in t.detach().to(torch.float32).reshape(-1).numpy()]


def draw(gen, shape, scale=1.0, shift=0.0, channel_scale=None, channel_shift=None):
    """float32 normal samples; optional per-channel (axis 1) scale and shift."""
    x = torch.randn(*shape, generator=gen, dtype=torch.float32)
    view = [1, shape[1]] + [1] * (len(shape) - 2) if len(shape) > 1 else None
    if channel_scale is not None:
        x = x * torch.tensor(channel_scale, dtype=torch.float32).reshape(view)
    if channel_shift is not None:
        x = x + torch.tensor(channel_shift, dtype=torch.float32).reshape(view)
    return (x * scale + shift).to(torch.float32)


def biased_var(x):
    """Biased variance per channel (axis 1) over all other axes, in x's dtype."""
    C = x.shape[1]
    return x.detach().transpose(0, 1).reshape(C, -1).var(dim=1, unbiased=False)


def run_bn(case, batches, state, dtype):
    """Train steps then one eval step of one BN case in `dtype`; returns per-phase result dicts."""
    o = case['options']
    C = case['numFeatures']
    mode = o['runningStats']
    cls = torch.nn.BatchNorm1d if case['module'] == 'BatchNorm1d' else torch.nn.BatchNorm2d
    bn = cls(C, eps=o['eps'], affine=o['affine'], dtype=dtype,
             momentum=None if mode == 'cumulative' else torch_momentum(o['momentum']),
             track_running_stats=mode != 'none')
    with torch.no_grad():
        for name, v in state.items():
            getattr(bn, name).copy_(torch.tensor(v, dtype=getattr(bn, name).dtype))
    biased = mode != 'none' and not o['unbiasedRunningVar']
    rv_biased = bn.running_var.clone() if biased else None
    out_list = f64_list if dtype == torch.float64 else f32_list
    results = []
    for phase, (x0, dy0) in enumerate(batches):
        training = phase < len(batches) - 1
        bn.train(training)
        x = x0.to(dtype).requires_grad_(True)
        dy = dy0.to(dtype)
        if bn.weight is not None:
            bn.weight.grad = None
            bn.bias.grad = None
        if not training and biased:
            y = F.batch_norm(x, bn.running_mean, rv_biased, bn.weight, bn.bias, False, 0.0, o['eps'])
        else:
            y = bn(x)
        y.backward(dy)
        r = {'y': out_list(y), 'dx': out_list(x.grad)}
        if bn.weight is not None:
            r['weight_grad'] = out_list(bn.weight.grad)
            r['bias_grad'] = out_list(bn.bias.grad)
        if training and mode != 'none':
            n = int(bn.num_batches_tracked)
            if biased:
                m = 1.0 - 1.0 / n if mode == 'cumulative' else o['momentum']
                with torch.no_grad():
                    rv_biased = rv_biased * m + biased_var(x) * (1.0 - m)
            r['running_mean'] = out_list(bn.running_mean)
            r['running_var'] = out_list(rv_biased if biased else bn.running_var)
            r['num_batches_tracked'] = n
        results.append(r)
    return results


def bn_fixture(case, seed):
    gen = torch.Generator().manual_seed(seed)
    C = case['numFeatures']
    data = case.get('data', {})
    batches = []
    for shape in case['stepShapes'] + [case['evalShape']]:
        x = draw(gen, shape, channel_scale=data.get('channelScale'), channel_shift=data.get('channelShift'))
        if 'offset' in data:
            x = (x.to(torch.float64) + data['offset']).to(torch.float32)
        if 'constantChannel' in data:
            c, v = data['constantChannel']
            x[:, c] = float(np.float32(v))
        dy = draw(gen, shape)
        batches.append((x, dy))
    state = {}
    if case['options']['affine']:
        state['weight'] = (1 + 0.5 * torch.randn(C, generator=gen)).tolist()
        state['bias'] = (0.5 * torch.randn(C, generator=gen)).tolist()
    if case['options']['runningStats'] != 'none':
        init = case.get('initialStats')
        if init:
            state['running_mean'] = torch.randn(C, generator=gen).tolist()
            state['running_var'] = (0.5 + torch.rand(C, generator=gen)).tolist()
            state['num_batches_tracked'] = init['numBatchesTracked']
        else:
            state['running_mean'] = [0.0] * C
            state['running_var'] = [1.0] * C
            state['num_batches_tracked'] = 0
    r64 = run_bn(case, batches, state, torch.float64)
    r32 = run_bn(case, batches, state, torch.float32)
    phases = [{'shape': list(x.shape), 'x': f64_list(x), 'dy': f64_list(dy), 'f64': a, 'f32': b}
              for (x, dy), a, b in zip(batches, r64, r32)]
    mode = case['options']['runningStats']
    return {
        'name': case['name'],
        'module': case['module'],
        'numFeatures': C,
        'options': case['options'],
        'torch': {'momentum': None if mode == 'cumulative' else torch_momentum(case['options']['momentum']),
                  'track_running_stats': mode != 'none'},
        'state': state,
        'steps': phases[:-1],
        'eval': phases[-1],
    }


def run_net(case, t, dtype):
    I, H, K = case['sizes']
    model = torch.nn.Sequential(torch.nn.Linear(I, H, bias=False),
                                torch.nn.BatchNorm1d(H, momentum=torch_momentum(case['momentum'])),
                                torch.nn.Sigmoid(), torch.nn.Linear(H, K)).to(dtype)
    with torch.no_grad():
        for name, v in t['state'].items():
            p = model.state_dict()[name]
            p.copy_(torch.tensor(v, dtype=p.dtype).reshape(p.shape))
    out_list = f64_list if dtype == torch.float64 else f32_list
    x = t['x'].to(dtype).requires_grad_(True)
    labels = torch.tensor(t['labels'], dtype=torch.long)
    loss = F.cross_entropy(model(x), labels)
    loss.backward()
    r = {'loss': out_list(loss.reshape(1)), 'input_grad': out_list(x.grad)}
    for name, p in model.named_parameters():
        r[name + '.grad'] = out_list(p.grad)
    r['1.running_mean'] = out_list(model[1].running_mean)
    r['1.running_var'] = out_list(model[1].running_var)
    r['1.num_batches_tracked'] = int(model[1].num_batches_tracked)
    model.eval()
    with torch.no_grad():
        xe = t['x_eval'].to(dtype)
        logits = model(xe)
        r['eval_logits'] = out_list(logits)
        r['eval_loss'] = out_list(F.cross_entropy(logits, torch.tensor(t['labels_eval'])).reshape(1))
    return r


def net_fixture(case, seed):
    gen = torch.Generator().manual_seed(seed)
    I, H, K = case['sizes']
    N = case['batch']
    t = {
        'x': torch.randn(N, I, generator=gen),
        'labels': torch.randint(0, K, (N,), generator=gen).tolist(),
        'x_eval': torch.randn(N, I, generator=gen),
        'labels_eval': torch.randint(0, K, (N,), generator=gen).tolist(),
        'state': {
            '0.weight': (torch.randn(H, I, generator=gen) / I ** 0.5).tolist(),
            '1.weight': (1 + 0.3 * torch.randn(H, generator=gen)).tolist(),
            '1.bias': (0.3 * torch.randn(H, generator=gen)).tolist(),
            '1.running_mean': [0.0] * H,
            '1.running_var': [1.0] * H,
            '1.num_batches_tracked': 0,
            '3.weight': (torch.randn(K, H, generator=gen) / H ** 0.5).tolist(),
            '3.bias': (0.1 * torch.randn(K, generator=gen)).tolist(),
        },
    }
    return {
        'name': case['name'],
        'sizes': case['sizes'],
        'momentum': case['momentum'],
        'torch': {'momentum': torch_momentum(case['momentum'])},
        'state': t['state'],
        'x': f64_list(t['x']), 'labels': t['labels'],
        'x_eval': f64_list(t['x_eval']), 'labels_eval': t['labels_eval'],
        'f64': run_net(case, t, torch.float64),
        'f32': run_net(case, t, torch.float32),
    }


def write(name, obj):
    path = os.path.join(OUT, name)
    with open(path, 'w') as f:
        json.dump(obj, f, separators=(',', ':'))
        f.write('\n')
    print(f'{os.path.relpath(path)}: {os.path.getsize(path)} bytes')


def main():
    torch.set_num_threads(1)
    os.makedirs(OUT, exist_ok=True)
    for file, cases in BN_CASES.items():
        write(file, {'generator': 'scripts/gen_fixtures.py', 'torch': torch.__version__,
                     'cases': [bn_fixture(c, zlib.crc32(c['name'].encode())) for c in cases]})
    for file, cases in NET_CASES.items():
        write(file, {'generator': 'scripts/gen_fixtures.py', 'torch': torch.__version__,
                     'cases': [net_fixture(c, zlib.crc32(c['name'].encode())) for c in cases]})


if __name__ == '__main__':
    main()
