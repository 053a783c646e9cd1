#!/usr/bin/python3
"""ONNX files made by PyTorch's own exporter, for normlab's importer (test/onnx/pytorch.test.ts).

Run:    /usr/bin/python3 scripts/gen_onnx_fixtures.py
Needs:  Debian's python3-torch and python3-onnx (torch.onnx.export works with them: torch 1.13, onnx 1.12).
        Tests never need Python: the files written to test/fixtures/onnx/ are committed. Deterministic
        (fixed seeds; the exporter's output for a given torch version is stable).

Each model is trained for a few steps (so BN's running statistics and num_batches_tracked are not their
initial values), switched to eval mode and exported with opset 17 and a dynamic batch axis. Recorded per
model: the input (float32), PyTorch's float32 output, the output in float64 (the same weights and input in
double precision: the reference), and the operators the exporter wrote. PyTorch folds a BatchNorm2d that
follows a Conv2d into the Conv in eval-mode export; a BatchNorm1d after a Linear stays BatchNormalization.
The 'unsupported' model holds GELU, LeakyReLU and Softmax, which the importer must list in one error.
"""

import copy
import io
import os

import onnx
import torch
import torch.nn as nn

from gen_fixtures import write

HERE = os.path.dirname(os.path.abspath(__file__))
OUT_DIR = os.path.join(HERE, '..', 'test', 'fixtures', 'onnx')


def f32_list(t):
    return [float(repr(v)) for v in t.detach().to(torch.float32).reshape(-1).numpy()]


def f64_list(t):
    return t.detach().to(torch.float64).reshape(-1).tolist()


def models():
    torch.manual_seed(0)
    yield 'mlp', [5, 20], nn.Sequential(
        nn.Linear(20, 16, bias=False), nn.BatchNorm1d(16), nn.Sigmoid(),
        nn.Linear(16, 8), nn.BatchNorm1d(8, eps=1e-3), nn.ReLU(), nn.Dropout(0.2),
        nn.Linear(8, 4), nn.Tanh())
    torch.manual_seed(1)
    yield 'cnn', [3, 1, 12, 12], nn.Sequential(
        nn.Conv2d(1, 4, 3, padding=1, bias=False), nn.BatchNorm2d(4), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(4, 8, 3, stride=2, padding=1), nn.BatchNorm2d(8), nn.ReLU(),
        nn.AvgPool2d(2, stride=1), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(8, 5))
    torch.manual_seed(2)
    yield 'bn-first', [4, 3, 7, 6], nn.Sequential(
        nn.BatchNorm2d(3), nn.Conv2d(3, 6, (3, 2), stride=(2, 1), padding=(1, 0), dilation=(1, 2), groups=3),
        nn.Tanh(), nn.MaxPool2d(3, stride=2, padding=1), nn.AvgPool2d(2, stride=1, padding=1, count_include_pad=False),
        nn.Flatten(), nn.BatchNorm1d(6 * 3 * 3), nn.Linear(54, 3))
    torch.manual_seed(3)
    yield 'layernorm', [6, 6], nn.Sequential(
        nn.Linear(6, 10), nn.LayerNorm(10, eps=1e-4), nn.ReLU(), nn.Linear(10, 3), nn.LayerNorm(3))  # elementwise_affine=False fails torch 1.13's opset-17 export
    torch.manual_seed(4)
    yield 'unsupported', [2, 6], nn.Sequential(
        nn.Linear(6, 6), nn.GELU(), nn.Linear(6, 6), nn.LeakyReLU(0.1), nn.Linear(6, 6), nn.LeakyReLU(0.2), nn.Softmax(dim=1))


def train_a_little(model, shape):
    opt = torch.optim.SGD(model.parameters(), lr=0.05)
    model.train()
    for _ in range(4):
        x = torch.randn([8] + shape[1:]) * 2 + 0.5
        loss = model(x).square().mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
    model.eval()


def main():
    torch.set_num_threads(1)
    os.makedirs(OUT_DIR, exist_ok=True)
    cases = []
    for name, shape, model in models():
        train_a_little(model, shape)
        x = torch.randn(shape)
        with torch.no_grad():
            y32 = model(x)
            y64 = copy.deepcopy(model).double()(x.double())
        buf = io.BytesIO()
        torch.onnx.export(model, x, buf, opset_version=17, input_names=['x'], output_names=['y'],
                          dynamic_axes={'x': {0: 'batch'}, 'y': {0: 'batch'}})
        data = buf.getvalue()
        onnx.checker.check_model(onnx.load_from_string(data))
        path = os.path.join(OUT_DIR, f'{name}.onnx')
        with open(path, 'wb') as f:
            f.write(data)
        print(f'{os.path.relpath(path)}: {len(data)} bytes')
        ops = [n.op_type for n in onnx.load_from_string(data).graph.node]
        cases.append({'name': name, 'file': f'onnx/{name}.onnx', 'ops': ops,
                      'x': {'shape': list(x.shape), 'data': f32_list(x)},
                      'y32': f32_list(y32), 'y64': f64_list(y64), 'yShape': list(y32.shape)})
    write('onnx_pytorch.json', {'generator': 'scripts/gen_onnx_fixtures.py', 'torch': torch.__version__,
                                'onnx': onnx.__version__, 'cases': cases})


if __name__ == '__main__':
    main()
