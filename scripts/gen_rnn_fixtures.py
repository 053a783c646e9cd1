#!/usr/bin/python3
"""PyTorch golden values for normlab's nn.RNN and nn.LSTM (test/nn/rnn.pytorch.test.ts reads them).

Run:    /usr/bin/python3 scripts/gen_rnn_fixtures.py
Needs:  Debian's python3-torch (importable only from /usr/bin/python3). Tests never need Python: the JSON
        file written to test/fixtures/rnn_cases.json is committed. Output is deterministic (fixed seeds).

Plain cells run through torch.nn.RNN / torch.nn.LSTM (batch_first=True) with the parameters loaded by name.
Layer-normalized and batch-normalized cells have no PyTorch module; `reference` below builds them from torch
primitives (F.layer_norm, F.batch_norm) exactly as src/nn/rnn.ts documents them:
    a   = Norm_ih(x_t W_ihᵀ) + Norm_hh(h_{t-1} W_hhᵀ) + b_ih + b_hh     (the two terms normalized separately)
    RNN:  h_t = act(a)
    LSTM: i, f, g, o = σ(a_i), σ(a_f), tanh(a_g), σ(a_o);  c_t = f c_{t-1} + i g;  h_t = o tanh(Norm_c(c_t))
LayerNorm: F.layer_norm over the features, eps 1e-5. BatchNorm: F.batch_norm in training mode (eps 1e-5, PyTorch
momentum 0.1 = normlab momentum 0.9, unbiased running variance), one module for all steps ('shared') or one per
step t < maxSteps, later steps reusing the last ('perStep'); then an evaluation-mode pass with the running
statistics. The reference is checked against torch.nn.RNN / torch.nn.LSTM on the plain cases.

Each case: output sequence, final h (and c), and the gradients of
    loss = Σ output·R_out + Σ h_n·R_h (+ Σ c_n·R_c)
with respect to x, the initial state (when given) and every parameter, in float64 ("f64", shortest repr) and
float32 ("f32", PyTorch's own float32 result in its shortest float32 repr), from the same float32-exact inputs.
"""
import json
import os

import torch
import torch.nn.functional as F

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'test', 'fixtures', 'rnn_cases.json')
N, T, FEAT, H = 3, 4, 5, 6
EPS = 1e-5

# name, kind, options (normlab names), initial state given
CASES = [
    ('RNN tanh', 'RNN', {}, False),
    ('RNN relu, initial h', 'RNN', {'nonlinearity': 'relu'}, True),
    ('RNN tanh, 2 layers, no bias, initial h', 'RNN', {'numLayers': 2, 'bias': False}, True),
    ('LSTM', 'LSTM', {}, False),
    ('LSTM, no bias', 'LSTM', {'bias': False}, False),
    ('LSTM, 2 layers, initial h and c', 'LSTM', {'numLayers': 2}, True),
    ('LSTM, 2 layers, no bias', 'LSTM', {'numLayers': 2, 'bias': False}, False),
    ('LN-LSTM', 'LSTM', {'layerNorm': True}, False),
    ('LN-LSTM, 2 layers, initial h and c', 'LSTM', {'layerNorm': True, 'numLayers': 2}, True),
    ('LN-LSTM, no bias', 'LSTM', {'layerNorm': True, 'bias': False}, False),
    ('LN-RNN tanh, initial h', 'RNN', {'layerNorm': True}, True),
    ('BN-LSTM perStep, maxSteps 3 (step 3 reuses step 2)', 'LSTM', {'batchNorm': 'perStep', 'maxSteps': 3}, False),
    ('BN-LSTM shared, initial h and c', 'LSTM', {'batchNorm': 'shared'}, True),
    ('BN-LSTM perStep, 2 layers, maxSteps 2, initial h and c', 'LSTM', {'batchNorm': 'perStep', 'maxSteps': 2, 'numLayers': 2}, True),
    ('BN-RNN tanh shared', 'RNN', {'batchNorm': 'shared'}, False),
    ('BN-RNN relu perStep, initial h', 'RNN', {'batchNorm': 'perStep', 'maxSteps': 4, 'nonlinearity': 'relu'}, True),
]


def f64_list(t):
    return t.detach().to(torch.float64).reshape(-1).tolist()


def f32_list(t):
    # shortest decimal that rounds back to the same float32 (Float32Array.from restores it exactly)
    return [float(repr(v)) for v in t.detach().to(torch.float32).reshape(-1).numpy()]


def draw(gen, shape, scale=1.0, offset=0.0):
    return (offset + scale * torch.randn(shape, generator=gen, dtype=torch.float64)).to(torch.float32)


def norm_modules(kind, opts):
    """Names and feature counts of the normalization modules, in normlab's registration order."""
    gates = 4 if kind == 'LSTM' else 1
    out = []
    for l in range(opts.get('numLayers', 1)):
        terms = [('ih', gates * H), ('hh', gates * H)] + ([('c', H)] if kind == 'LSTM' else [])
        for term, size in terms:
            if opts.get('layerNorm'):
                out.append((f'ln_{term}_l{l}', size))
            elif opts.get('batchNorm', 'none') == 'shared':
                out.append((f'bn_{term}_l{l}', size))
            elif opts.get('batchNorm', 'none') == 'perStep':
                out += [(f'bn_{term}_l{l}.{t}', size) for t in range(opts['maxSteps'])]
    return out


def make_params(gen, kind, opts):
    """Float32-exact parameters by normlab/PyTorch name: the cell weights from PyTorch's default init, the
    normalization gains and biases random (not 1 and 0, so their gradients are exercised)."""
    L, bias = opts.get('numLayers', 1), opts.get('bias', True)
    cls = torch.nn.LSTM if kind == 'LSTM' else torch.nn.RNN
    extra = {} if kind == 'LSTM' else {'nonlinearity': opts.get('nonlinearity', 'tanh')}
    torch.manual_seed(int(torch.randint(0, 2**31, (1,), generator=gen)))
    m = cls(FEAT, H, num_layers=L, bias=bias, batch_first=True, **extra)
    params = {k: v.detach().to(torch.float32) for k, v in m.state_dict().items()}
    for name, size in norm_modules(kind, opts):
        if name.startswith('ln_'):
            params[f'{name}.weight'] = draw(gen, [size], 0.2, 1.0)
        else:
            params[f'{name}.weight'] = (0.3 + 0.5 * torch.rand([size], generator=gen, dtype=torch.float64)).to(torch.float32)
        params[f'{name}.bias'] = draw(gen, [size], 0.2)
    return params, list(m.state_dict().keys())


def reference(kind, opts, P, x, h0, c0, running, training):
    """The normalized (or plain) cell from torch primitives; `running` holds the BN buffers, updated in place."""
    L, act = opts.get('numLayers', 1), opts.get('nonlinearity', 'tanh')
    ln, bn = opts.get('layerNorm', False), opts.get('batchNorm', 'none')
    normed = ln or bn != 'none'
    n, steps, _ = x.shape

    def norm(term, l, t, v):
        if ln:
            return F.layer_norm(v, (v.shape[-1],), P[f'ln_{term}_l{l}.weight'], P[f'ln_{term}_l{l}.bias'], EPS)
        if bn == 'none':
            return v
        key = f'bn_{term}_l{l}' if bn == 'shared' else f'bn_{term}_l{l}.{min(t, opts["maxSteps"] - 1)}'
        r = running[key]
        if training:
            r['num_batches_tracked'] += 1
        return F.batch_norm(v, r['running_mean'], r['running_var'], P[f'{key}.weight'], P[f'{key}.bias'],
                            training=training, momentum=0.1, eps=EPS)

    layer_in, hn, cn = x, [], []
    for l in range(L):
        wih, whh = P[f'weight_ih_l{l}'], P[f'weight_hh_l{l}']
        bih, bhh = P.get(f'bias_ih_l{l}'), P.get(f'bias_hh_l{l}')
        h = h0[l] if h0 is not None else torch.zeros(n, H, dtype=x.dtype)
        c = (c0[l] if c0 is not None else torch.zeros(n, H, dtype=x.dtype)) if kind == 'LSTM' else None
        outs = []
        for t in range(steps):
            xt = layer_in[:, t]
            if normed:
                a = norm('ih', l, t, xt @ wih.T) + norm('hh', l, t, h @ whh.T)
                if bih is not None:
                    a = a + (bih + bhh)
            else:
                a = (xt @ wih.T + (bih if bih is not None else 0)) + (h @ whh.T + (bhh if bhh is not None else 0))
            if kind == 'LSTM':
                i, f, g, o = a.chunk(4, 1)
                c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
                h = torch.sigmoid(o) * torch.tanh(norm('c', l, t, c))
            else:
                h = torch.tanh(a) if act == 'tanh' else torch.relu(a)
            outs.append(h)
        hn.append(h)
        cn.append(c)
        layer_in = torch.stack(outs, 1)
    return layer_in, torch.stack(hn), (torch.stack(cn) if kind == 'LSTM' else None)


def fresh_running(kind, opts, dtype):
    return {name: {'running_mean': torch.zeros(size, dtype=dtype), 'running_var': torch.ones(size, dtype=dtype),
                   'num_batches_tracked': 0}
            for name, size in norm_modules(kind, opts) if name.startswith('bn_')}


def run(kind, opts, params, x0, h00, c00, R, dtype, use_module):
    out_list = f64_list if dtype == torch.float64 else f32_list
    P = {k: v.to(dtype).requires_grad_(True) for k, v in params.items()}
    x = x0.to(dtype).requires_grad_(True)
    h0 = h00.to(dtype).requires_grad_(True) if h00 is not None else None
    c0 = c00.to(dtype).requires_grad_(True) if c00 is not None else None
    running = fresh_running(kind, opts, dtype)
    if use_module:
        cls = torch.nn.LSTM if kind == 'LSTM' else torch.nn.RNN
        extra = {} if kind == 'LSTM' else {'nonlinearity': opts.get('nonlinearity', 'tanh')}
        m = cls(FEAT, H, num_layers=opts.get('numLayers', 1), bias=opts.get('bias', True), batch_first=True, **extra).to(dtype)
        with torch.no_grad():
            for k, v in m.named_parameters():
                v.copy_(P[k])
        m.zero_grad()
        state = None if h0 is None else ((h0, c0) if kind == 'LSTM' else h0)
        y, st = m(x, state)
        hn, cn = (st if kind == 'LSTM' else (st, None))
        grads_of = dict(m.named_parameters())
    else:
        y, hn, cn = reference(kind, opts, P, x, h0, c0, running, True)
        grads_of = P
    loss = (y * R['out'].to(dtype)).sum() + (hn * R['h'].to(dtype)).sum()
    if cn is not None:
        loss = loss + (cn * R['c'].to(dtype)).sum()
    loss.backward()
    res = {'out': out_list(y), 'h': out_list(hn)}
    if cn is not None:
        res['c'] = out_list(cn)
    grads = {'x': out_list(x.grad)}
    if h0 is not None:
        grads['h0'] = out_list(h0.grad)
    if c0 is not None:
        grads['c0'] = out_list(c0.grad)
    for k in params:
        g = grads_of[k].grad
        grads[k] = out_list(g if g is not None else torch.zeros_like(grads_of[k]))
    res['grads'] = grads
    if running:
        res['running'] = {f'{name}.{b}': (out_list(v) if torch.is_tensor(v) else v)
                          for name, r in running.items() for b, v in r.items()}
        with torch.no_grad():
            ye, hne, cne = reference(kind, opts, P, x, h0, c0, running, False)
        res['evalOut'] = out_list(ye)
    return res, (y, hn, cn)


def main():
    torch.set_num_threads(1)
    gen = torch.Generator().manual_seed(20240)
    cases = []
    for name, kind, opts, with_state in CASES:
        L = opts.get('numLayers', 1)
        params, torch_keys = make_params(gen, kind, opts)
        x = draw(gen, [N, T, FEAT])
        h0 = draw(gen, [L, N, H], 0.5) if with_state else None
        c0 = draw(gen, [L, N, H], 0.5) if with_state and kind == 'LSTM' else None
        R = {'out': draw(gen, [N, T, H]), 'h': draw(gen, [L, N, H]), 'c': draw(gen, [L, N, H])}
        plain = not opts.get('layerNorm') and opts.get('batchNorm', 'none') == 'none'
        f64, (y, hn, cn) = run(kind, opts, params, x, h0, c0, R, torch.float64, plain)
        f32, _ = run(kind, opts, params, x, h0, c0, R, torch.float32, plain)
        if plain:  # the primitive reference agrees with PyTorch's module
            P = {k: v.to(torch.float64) for k, v in params.items()}
            h64 = h0.to(torch.float64) if h0 is not None else None
            c64 = c0.to(torch.float64) if c0 is not None else None
            yr, hr, cr = reference(kind, opts, P, x.to(torch.float64), h64, c64, {}, True)
            assert torch.allclose(yr, y.detach(), rtol=1e-12, atol=1e-13), name
            assert torch.allclose(hr, hn.detach(), rtol=1e-12, atol=1e-13), name
        case = {
            'name': name, 'kind': kind, 'options': opts, 'N': N, 'T': T, 'F': FEAT, 'H': H,
            'x': f32_list(x), 'h0': f32_list(h0) if h0 is not None else None, 'c0': f32_list(c0) if c0 is not None else None,
            'params': {k: {'shape': list(v.shape), 'values': f32_list(v)} for k, v in params.items()},
            'R': {k: f32_list(v) for k, v in R.items()},
            'f64': f64, 'f32': f32,
        }
        if plain:
            case['torchKeys'] = torch_keys
        cases.append(case)
    with open(OUT, 'w') as f:
        json.dump({'torch': torch.__version__, 'cases': cases}, f, separators=(',', ':'))
    print(f'wrote {OUT}: {len(cases)} cases')


if __name__ == '__main__':
    main()
