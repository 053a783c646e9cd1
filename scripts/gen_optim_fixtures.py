#!/usr/bin/python3
"""PyTorch golden values for normlab's optimizers, gradient clipping and learning-rate schedules.

Run:    /usr/bin/python3 scripts/gen_optim_fixtures.py
Needs:  Debian's python3-torch 1.13 (importable only from /usr/bin/python3). Tests never need Python: the
        JSON files written to test/fixtures/optim_*.json are committed. Output is deterministic (fixed seed).

Writes
  optim_updates.json    parameters after each of 5 steps of SGD / Adam / AdamW (torch.optim, foreach=False)
                        for given initial values and given gradients, with and without clipping.
  optim_clip.json       torch.nn.utils.clip_grad_norm_ / clip_grad_value_ on the same gradients.
  optim_schedules.json  learning rates of StepLR / ExponentialLR / CosineAnnealingLR, epochs 0..N.

Every input (initial values, gradients) is drawn in float32 and used exactly in both precisions, so "f64"
(PyTorch in float64, shortest round-trip repr) is the reference for the very inputs the float32 run sees;
"f32" is PyTorch's own float32 result, so a test can compare its float32 error with PyTorch's.

A gradient entry null means "this parameter has no grad at this step" (p.grad = None): PyTorch skips the
parameter entirely, so its state (momentum buffer, Adam step count) starts or advances only when it has one.

Clipping is not part of torch.optim; it is implemented here from normlab's formulas (DESIGN.md) and applied
to the raw gradients before opt.step(), hence before weight decay, in this order:
  clipValue v       g <- clamp(g, -v, v)                               (each element)
  clipNorm c        g <- g * c / max(||g||, c)                         (each parameter, Keras clipnorm)
  globalClipNorm c  g <- g * c / max(||(g_1, ..., g_k)||, c)           (all parameters with a grad together;
                                                                        clip_grad_norm_ without its 1e-6)
"""
import math

import torch

from gen_fixtures import write  # one JSON writer for every fixture script
STEPS = 5
SHAPES = [[3, 4], [4], [2, 1, 3], []]
# Per-step gradient magnitudes (so clipping engages at some steps and not others) and per-parameter ones.
STEP_SCALE = [0.5, 3.0, 0.05, 8.0, 1.0]
PARAM_SCALE = [1.0, 0.3, 2.0, 0.7]
# (step, parameter) pairs without a gradient.
NO_GRAD = {(2, 1), (0, 3), (1, 3)}


def f64_list(t):
    return t.detach().to(torch.float64).reshape(-1).tolist()


def f32_list(t):
    # shortest decimal that rounds back to the same float32 (Float32Array.from restores it exactly)
    return [float(repr(v)) for v in t.detach().to(torch.float32).reshape(-1).numpy()]


def draw_inputs():
    gen = torch.Generator().manual_seed(20240531)
    init = [torch.randn(*s, generator=gen, dtype=torch.float32) if s else torch.randn(1, generator=gen).reshape([])
            for s in SHAPES]
    grads = []
    for k in range(STEPS):
        row = []
        for i, s in enumerate(SHAPES):
            g = (torch.randn(*s, generator=gen) if s else torch.randn(1, generator=gen).reshape([]))
            g = (g * STEP_SCALE[k] * PARAM_SCALE[i]).to(torch.float32)
            row.append(None if (k, i) in NO_GRAD else g)
        grads.append(row)
    return init, grads


def clip(grads, clip_value=None, clip_norm=None, global_clip_norm=None):
    """normlab's optimizer clipping (module docstring), on float tensors; None entries stay None."""
    out = [None if g is None else g.clone() for g in grads]
    if clip_value is not None:
        out = [None if g is None else g.clamp(-clip_value, clip_value) for g in out]
    if clip_norm is not None:
        out = [None if g is None else g * (clip_norm / max(g.norm().item(), clip_norm)) for g in out]
    if global_clip_norm is not None:
        total = math.sqrt(sum(g.pow(2).sum().item() for g in out if g is not None))
        out = [None if g is None else g * (global_clip_norm / max(total, global_clip_norm)) for g in out]
    return out


def make_opt(kind, params, o):
    if kind == 'SGD':
        return torch.optim.SGD(params, lr=o['lr'], momentum=o.get('momentum', 0), dampening=o.get('dampening', 0),
                               nesterov=o.get('nesterov', False), weight_decay=o.get('weightDecay', 0), foreach=False)
    cls = torch.optim.Adam if kind == 'Adam' else torch.optim.AdamW
    default_wd = 0 if kind == 'Adam' else 1e-2
    return cls(params, lr=o.get('lr', 1e-3), betas=tuple(o.get('betas', (0.9, 0.999))), eps=o.get('eps', 1e-8),
               weight_decay=o.get('weightDecay', default_wd), amsgrad=o.get('amsgrad', False), foreach=False)


def run_case(kind, options, init, grads, dtype, lrs=None):
    params = [t.clone().to(dtype).requires_grad_(True) for t in init]
    opt = make_opt(kind, params, options)
    conv = f64_list if dtype == torch.float64 else f32_list
    trace = []
    for k in range(STEPS):
        if lrs is not None:
            for group in opt.param_groups:
                group['lr'] = lrs[k]
        gs = [None if g is None else g.to(dtype) for g in grads[k]]
        gs = clip(gs, options.get('clipValue'), options.get('clipNorm'), options.get('globalClipNorm'))
        for p, g in zip(params, gs):
            p.grad = g
        opt.step()
        trace.append([conv(p) for p in params])
    return trace


CLIPS = [
    ('clipValue', {'clipValue': 0.5}),
    ('clipNorm', {'clipNorm': 1.0}),
    ('globalClipNorm', {'globalClipNorm': 2.0}),
    ('allClips', {'clipValue': 1.0, 'clipNorm': 1.5, 'globalClipNorm': 2.0}),
]

BASE_CASES = [
    ('sgd', 'SGD', {'lr': 0.1}),
    ('sgd_momentum', 'SGD', {'lr': 0.1, 'momentum': 0.9}),
    ('sgd_nesterov', 'SGD', {'lr': 0.1, 'momentum': 0.9, 'nesterov': True}),
    ('sgd_dampening', 'SGD', {'lr': 0.1, 'momentum': 0.8, 'dampening': 0.3}),
    ('sgd_weight_decay', 'SGD', {'lr': 0.1, 'weightDecay': 0.05}),
    ('sgd_momentum_weight_decay', 'SGD', {'lr': 0.05, 'momentum': 0.9, 'weightDecay': 0.1}),
    ('sgd_nesterov_weight_decay', 'SGD', {'lr': 0.05, 'momentum': 0.7, 'nesterov': True, 'weightDecay': 0.1}),
    ('adam', 'Adam', {'lr': 0.01}),
    ('adam_defaults', 'Adam', {}),
    ('adam_weight_decay', 'Adam', {'lr': 0.01, 'weightDecay': 0.1}),
    ('adam_amsgrad', 'Adam', {'lr': 0.01, 'amsgrad': True, 'betas': [0.8, 0.99]}),
    ('adam_amsgrad_weight_decay', 'Adam', {'lr': 0.02, 'amsgrad': True, 'weightDecay': 0.05, 'eps': 1e-6}),
    ('adamw', 'AdamW', {'lr': 0.01}),
    ('adamw_weight_decay', 'AdamW', {'lr': 0.01, 'weightDecay': 0.3, 'betas': [0.85, 0.95]}),
    ('adamw_amsgrad', 'AdamW', {'lr': 0.02, 'weightDecay': 0.1, 'amsgrad': True}),
]

# Cases whose learning rate is set before every step (the settable lr), as a scheduler would.
LR_CASES = [
    ('sgd_momentum_lr_changes', 'SGD', {'lr': 0.1, 'momentum': 0.9}, [0.1, 0.05, 0.05, 0.2, 0.0]),
    ('adam_lr_changes', 'Adam', {'lr': 0.01}, [0.01, 0.003, 0.02, 0.0, 0.01]),
]

CLIP_BASES = [
    ('sgd_momentum_weight_decay', 'SGD', {'lr': 0.05, 'momentum': 0.9, 'weightDecay': 0.1}),
    ('adam_weight_decay', 'Adam', {'lr': 0.01, 'weightDecay': 0.1}),
    ('adamw', 'AdamW', {'lr': 0.01, 'weightDecay': 0.1}),
]


def gen_updates(init, grads):
    cases = []

    def add(name, kind, options, lrs=None):
        cases.append({'name': name, 'optimizer': kind, 'options': options, **({'lrs': lrs} if lrs else {}),
                      'f64': run_case(kind, options, init, grads, torch.float64, lrs),
                      'f32': run_case(kind, options, init, grads, torch.float32, lrs)})

    for name, kind, o in BASE_CASES:
        add(name, kind, o)
    for name, kind, o, lrs in LR_CASES:
        add(name, kind, o, lrs)
    for base, kind, o in CLIP_BASES:
        for cname, co in CLIPS:
            add(f'{base}_{cname}', kind, {**o, **co})
    return cases


def report_clipping(grads):
    """Print which clipping stages engage at which step, so the fixture provably exercises each one."""
    for cname, co in CLIPS:
        rows = []
        for k in range(STEPS):
            g64 = [None if g is None else g.double() for g in grads[k]]
            before = [None if g is None else g.norm().item() for g in g64]
            after = clip(g64, co.get('clipValue'), co.get('clipNorm'), co.get('globalClipNorm'))
            rows.append(' '.join('-' if b is None else f'{b:.2f}->{a.norm().item():.2f}' for b, a in zip(before, after)))
        print(f'  {cname}: ' + ' | '.join(rows))


def gen_clip_utils(grads):
    out = []
    for k in (1, 3, 4):
        for fn, arg in (('clipGradNorm', 2.5), ('clipGradValue', 0.7)):
            res = {'name': f'{fn}_step{k}', 'fn': fn, 'arg': arg, 'step': k}
            for key, dtype, conv in (('f64', torch.float64, f64_list), ('f32', torch.float32, f32_list)):
                ps = [torch.zeros(s, dtype=dtype, requires_grad=True) for s in SHAPES]
                for p, g in zip(ps, grads[k]):
                    p.grad = None if g is None else g.to(dtype).clone()
                if fn == 'clipGradNorm':
                    total = torch.nn.utils.clip_grad_norm_(ps, arg)
                    res[key + 'Total'] = float(total)
                else:
                    torch.nn.utils.clip_grad_value_(ps, arg)
                res[key] = [None if p.grad is None else conv(p.grad) for p in ps]
            out.append(res)
    return out


SCHEDULES = [
    ('step_lr', 'StepLR', {'stepSize': 3, 'gamma': 0.5}, 0.1),
    ('step_lr_default_gamma', 'StepLR', {'stepSize': 2}, 1.0),
    ('exponential_lr', 'ExponentialLR', {'gamma': 0.9}, 0.05),
    ('cosine_lr', 'CosineAnnealingLR', {'tMax': 10, 'etaMin': 0.001}, 0.1),
    ('cosine_lr_default_eta_min', 'CosineAnnealingLR', {'tMax': 7}, 0.3),
]
SCHEDULE_EPOCHS = 25


def make_sched(kind, opt, o):
    if kind == 'StepLR':
        return torch.optim.lr_scheduler.StepLR(opt, step_size=o['stepSize'], gamma=o.get('gamma', 0.1))
    if kind == 'ExponentialLR':
        return torch.optim.lr_scheduler.ExponentialLR(opt, gamma=o['gamma'])
    return torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=o['tMax'], eta_min=o.get('etaMin', 0))


def gen_schedules():
    out = []
    for name, kind, o, lr in SCHEDULES:
        opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=lr)
        sched = make_sched(kind, opt, o)
        chained, closed = [sched.get_last_lr()[0]], [sched._get_closed_form_lr()[0]]
        for _ in range(SCHEDULE_EPOCHS):
            opt.step()
            sched.step()
            chained.append(sched.get_last_lr()[0])
            closed.append(sched._get_closed_form_lr()[0])
        out.append({'name': name, 'scheduler': kind, 'options': o, 'lr': lr, 'chained': chained, 'closed': closed})
    return out


def main():
    torch.set_num_threads(1)
    init, grads = draw_inputs()
    print('clipping engagement, per step, per parameter (norm before -> after):')
    report_clipping(grads)
    inputs = {'shapes': SHAPES, 'init': [f32_list(t) for t in init],
              'grads': [[None if g is None else f32_list(g) for g in row] for row in grads]}
    write('optim_updates.json', {'torch': torch.__version__, 'steps': STEPS, **inputs, 'cases': gen_updates(init, grads)})
    write('optim_clip.json', {'torch': torch.__version__, **inputs, 'cases': gen_clip_utils(grads)})
    write('optim_schedules.json', {'torch': torch.__version__, 'cases': gen_schedules()})


if __name__ == '__main__':
    main()
