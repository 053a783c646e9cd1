#!/usr/bin/python3
"""PyTorch golden values for normlab's Conv2d and pooling layers (test/nn/conv.pytorch.test.ts and
test/nn/pool.pytorch.test.ts read them).

Run:    /usr/bin/python3 scripts/gen_conv_fixtures.py
Needs:  Debian's python3-torch (importable only from /usr/bin/python3). Tests never need Python: the JSON
        files written to test/fixtures/conv_*.json are committed. Output is deterministic (fixed seeds).

Every input (x, weight, bias, the upstream gradient dy) is drawn in float32 and used exactly in both
precisions, so "f64" (PyTorch float64, shortest round-trip repr) is the reference for the very inputs the
float32 run sees, and "f32" is PyTorch's own float32 result (shortest float32 repr) for comparison.
Max-pooling cases with ties use small integers (exact in both precisions) to pin the tie rule.
"""

import torch
import torch.nn.functional as F

from gen_fixtures import write  # one JSON writer for every fixture script


def f64_list(t):
    return t.detach().to(torch.float64).reshape(-1).tolist()


def f32_list(t):
    # shortest decimal that rounds back to the same float32 (Float32Array.from restores it exactly)
    return [float(repr(v)) for v in t.detach().to(torch.float32).reshape(-1).numpy()]


CONV_CASES = [
    # name, x shape, weight shape, options (normlab names), bias
    ('3x3, stride 1, no padding', [2, 3, 6, 5], [4, 3, 3, 3], {}, True),
    ('3x3, stride 2, padding 1', [2, 3, 7, 6], [5, 3, 3, 3], {'stride': 2, 'padding': 1}, True),
    ('non-square kernel 2x3, stride [2, 1], padding [1, 0]', [2, 3, 6, 7], [4, 3, 2, 3], {'stride': [2, 1], 'padding': [1, 0]}, True),
    ('non-square kernel 3x1, stride [1, 3], padding [0, 2]', [1, 2, 5, 8], [3, 2, 3, 1], {'stride': [1, 3], 'padding': [0, 2]}, True),
    ('dilation 2, padding 2', [1, 2, 8, 7], [3, 2, 3, 3], {'dilation': 2, 'padding': 2}, True),
    ('dilation [2, 1], stride [1, 2], padding 1', [2, 2, 7, 8], [3, 2, 3, 2], {'dilation': [2, 1], 'stride': [1, 2], 'padding': 1}, True),
    ('groups 2, padding 1', [2, 4, 5, 5], [6, 2, 3, 3], {'groups': 2, 'padding': 1}, True),
    ('groups 3, stride 2, no bias', [1, 6, 7, 7], [3, 2, 2, 2], {'groups': 3, 'stride': 2}, False),
    ('depthwise (groups = C), padding 1', [2, 3, 6, 6], [3, 1, 3, 3], {'groups': 3, 'padding': 1}, True),
    ('depthwise with multiplier 2, stride 2', [2, 3, 7, 6], [6, 1, 3, 3], {'groups': 3, 'stride': 2}, True),
    ('no bias, padding 1', [2, 3, 5, 4], [4, 3, 3, 3], {'padding': 1}, False),
    ('1x1 (pointwise, a plain matmul)', [2, 5, 4, 3], [7, 5, 1, 1], {}, True),
    ('1x1 with stride 2 and padding 1', [2, 3, 5, 4], [4, 3, 1, 1], {'stride': 2, 'padding': 1}, True),
    ('1x1 with groups 2', [2, 4, 3, 3], [6, 2, 1, 1], {'groups': 2}, True),
    ('kernel fills the padded input (1x1 output)', [2, 2, 3, 4], [3, 2, 5, 4], {'padding': [1, 0]}, True),
    ('5x5, stride 3, padding 2, dilation 2', [1, 2, 11, 12], [2, 2, 5, 5], {'stride': 3, 'padding': 2, 'dilation': 2}, True),
    ('wider: 6 -> 8 channels, 3x3, padding 1', [2, 6, 5, 5], [8, 6, 3, 3], {'padding': 1}, True),
]

# name, op, x shape, options (normlab names), integer-valued input (ties)
POOL_CASES = [
    ('maxPool2d k2', 'maxPool2d', [2, 3, 6, 4], {'kernelSize': 2}, False),
    ('maxPool2d k3 s2 p1', 'maxPool2d', [2, 2, 7, 6], {'kernelSize': 3, 'stride': 2, 'padding': 1}, False),
    ('maxPool2d k [2, 3] s [1, 2] p [1, 1]', 'maxPool2d', [1, 3, 5, 7], {'kernelSize': [2, 3], 'stride': [1, 2], 'padding': [1, 1]}, False),
    ('maxPool2d k3 s1 overlapping', 'maxPool2d', [1, 2, 5, 5], {'kernelSize': 3, 'stride': 1}, False),
    ('maxPool2d k2 with ties (first maximum gets the gradient)', 'maxPool2d', [2, 2, 6, 6], {'kernelSize': 2}, True),
    ('maxPool2d k3 s1 p1 with ties, overlapping', 'maxPool2d', [1, 2, 5, 5], {'kernelSize': 3, 'stride': 1, 'padding': 1}, True),
    ('avgPool2d k2', 'avgPool2d', [2, 3, 6, 4], {'kernelSize': 2}, False),
    ('avgPool2d k3 s2 p1 countIncludePad', 'avgPool2d', [2, 2, 7, 6], {'kernelSize': 3, 'stride': 2, 'padding': 1}, False),
    ('avgPool2d k3 s2 p1 no countIncludePad', 'avgPool2d', [2, 2, 7, 6], {'kernelSize': 3, 'stride': 2, 'padding': 1, 'countIncludePad': False}, False),
    ('avgPool2d k [3, 2] s [2, 1] p [1, 0] no countIncludePad', 'avgPool2d', [1, 3, 6, 5], {'kernelSize': [3, 2], 'stride': [2, 1], 'padding': [1, 0], 'countIncludePad': False}, False),
    ('avgPool2d k [2, 4] s [1, 3] p [1, 2] countIncludePad', 'avgPool2d', [1, 2, 5, 9], {'kernelSize': [2, 4], 'stride': [1, 3], 'padding': [1, 2]}, False),
    ('adaptiveAvgPool2d 1 (global average)', 'adaptiveAvgPool2d', [2, 3, 5, 4], {'outputSize': 1}, False),
    ('adaptiveAvgPool2d [2, 3] of 7x5', 'adaptiveAvgPool2d', [2, 2, 7, 5], {'outputSize': [2, 3]}, False),
    ('adaptiveAvgPool2d [3, 3] of 5x7 (overlapping windows)', 'adaptiveAvgPool2d', [1, 3, 5, 7], {'outputSize': [3, 3]}, False),
    ('adaptiveAvgPool2d [4, 5] of 3x3 (output larger than input)', 'adaptiveAvgPool2d', [1, 2, 3, 3], {'outputSize': [4, 5]}, False),
]


def run_conv(x0, w0, b0, dy0, opts, dtype):
    out_list = f64_list if dtype == torch.float64 else f32_list
    x = x0.to(dtype).requires_grad_(True)
    w = w0.to(dtype).requires_grad_(True)
    b = b0.to(dtype).requires_grad_(True) if b0 is not None else None
    y = F.conv2d(x, w, b, stride=opts.get('stride', 1), padding=opts.get('padding', 0),
                 dilation=opts.get('dilation', 1), groups=opts.get('groups', 1))
    y.backward(dy0.to(dtype))
    r = {'y': out_list(y), 'dx': out_list(x.grad), 'dw': out_list(w.grad)}
    if b is not None:
        r['db'] = out_list(b.grad)
    return r, list(y.shape)


def conv_fixture(seed, name, xs, ws, opts, bias):
    gen = torch.Generator().manual_seed(seed)
    x = torch.randn(*xs, generator=gen)
    w = torch.randn(*ws, generator=gen) * (1.0 / (ws[1] * ws[2] * ws[3]) ** 0.5)
    b = torch.randn(ws[0], generator=gen) if bias else None
    with torch.no_grad():
        ys = F.conv2d(x, w, b, stride=opts.get('stride', 1), padding=opts.get('padding', 0),
                      dilation=opts.get('dilation', 1), groups=opts.get('groups', 1)).shape
    dy = torch.randn(*ys, generator=gen)
    r64, yshape = run_conv(x, w, b, dy, opts, torch.float64)
    r32, _ = run_conv(x, w, b, dy, opts, torch.float32)
    return {'name': name, 'options': opts, 'xShape': xs, 'wShape': ws, 'yShape': yshape,
            'x': f32_list(x), 'w': f32_list(w), 'b': f32_list(b) if b is not None else None, 'dy': f32_list(dy),
            'f64': r64, 'f32': r32}


def pool_apply(op, x, opts):
    if op == 'maxPool2d':
        return F.max_pool2d(x, opts['kernelSize'], stride=opts.get('stride'), padding=opts.get('padding', 0))
    if op == 'avgPool2d':
        return F.avg_pool2d(x, opts['kernelSize'], stride=opts.get('stride'), padding=opts.get('padding', 0),
                            count_include_pad=opts.get('countIncludePad', True))
    return F.adaptive_avg_pool2d(x, opts['outputSize'])


def run_pool(op, x0, dy0, opts, dtype):
    out_list = f64_list if dtype == torch.float64 else f32_list
    x = x0.to(dtype).requires_grad_(True)
    y = pool_apply(op, x, opts)
    y.backward(dy0.to(dtype))
    return {'y': out_list(y), 'dx': out_list(x.grad)}, list(y.shape)


def pool_fixture(seed, name, op, xs, opts, ties):
    gen = torch.Generator().manual_seed(seed)
    if ties:
        x = torch.randint(-2, 3, xs, generator=gen).to(torch.float32)
    else:
        x = torch.randn(*xs, generator=gen)
    with torch.no_grad():
        ys = pool_apply(op, x, opts).shape
    dy = torch.randn(*ys, generator=gen)
    r64, yshape = run_pool(op, x, dy, opts, torch.float64)
    r32, _ = run_pool(op, x, dy, opts, torch.float32)
    return {'name': name, 'op': op, 'options': opts, 'xShape': xs, 'yShape': yshape,
            'x': f32_list(x), 'dy': f32_list(dy), 'f64': r64, 'f32': r32}


def main():
    meta = {'torch': torch.__version__}
    write('conv_conv2d.json', {**meta, 'cases': [conv_fixture(100 + i, *c) for i, c in enumerate(CONV_CASES)]})
    write('conv_pool.json', {**meta, 'cases': [pool_fixture(200 + i, *c) for i, c in enumerate(POOL_CASES)]})


if __name__ == '__main__':
    main()
