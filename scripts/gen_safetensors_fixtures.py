#!/usr/bin/python3
"""safetensors state dicts between PyTorch and normlab (test/io/safetensors.pytorch.test.ts reads the results).

Run:    /usr/bin/python3 scripts/gen_safetensors_fixtures.py
Needs:  Debian's python3-torch. The `safetensors` package is NOT used: the format (an 8-byte little-endian
        header length, a JSON header {name: {dtype, shape, data_offsets}, "__metadata__": {...}}, the data)
        is written and read here directly, so both directions test the format itself. Tests need no Python:
        everything written to test/fixtures/ is committed. Deterministic (fixed seeds).

Two directions, for the paper-style MLP with BN and the small CNN (normlab's models.mlp / models.cnn with
the same sizes; the PyTorch modules below have the same structure, hence the same state-dict names):

1. PyTorch → normlab: each model is trained a few steps (so running statistics and num_batches_tracked are
   not their initial values) and its state_dict() written to test/fixtures/safetensors/pytorch-<name>.safetensors
   with the dtypes PyTorch has (float32, num_batches_tracked int64). Recorded: the entries (name, dtype,
   shape) in state_dict order, an input, and the eval-mode outputs in float32 and float64.
2. normlab → PyTorch: test/fixtures/safetensors/normlab-<name>.safetensors, written by normlab's
   saveSafetensors (regenerate with `NORMLAB_WRITE_FIXTURES=1 npx vitest run --project wasm
   test/io/safetensors.pytorch.test.ts`, then run this script; `npm run fixtures` does both), is read here,
   checked entry by entry against the PyTorch model's own state_dict (names, dtypes, shapes), loaded with
   load_state_dict(strict=True), and the eval-mode outputs on a fixed input are recorded.
"""

import copy
import json
import os
import struct

import torch
import torch.nn as nn

from gen_fixtures import write

HERE = os.path.dirname(os.path.abspath(__file__))
DIR = os.path.join(HERE, '..', 'test', 'fixtures', 'safetensors')

DTYPES = {torch.float32: 'F32', torch.float64: 'F64', torch.int64: 'I64', torch.int32: 'I32', torch.float16: 'F16',
          torch.bfloat16: 'BF16', torch.int16: 'I16', torch.int8: 'I8', torch.uint8: 'U8', torch.bool: 'BOOL'}
TORCH = {v: k for k, v in DTYPES.items()}


def save_file(state, path, metadata=None):
    """The safetensors layout, as safetensors.torch.save_file writes it (header padded to 8 bytes)."""
    header, chunks, offset = {}, [], 0
    if metadata:
        header['__metadata__'] = metadata
    for name, t in state.items():
        b = t.detach().contiguous().cpu().numpy().tobytes()  # little-endian on this machine
        header[name] = {'dtype': DTYPES[t.dtype], 'shape': list(t.shape), 'data_offsets': [offset, offset + len(b)]}
        chunks.append(b)
        offset += len(b)
    text = json.dumps(header, separators=(',', ':')).encode()
    text += b' ' * ((8 - len(text) % 8) % 8)
    with open(path, 'wb') as f:
        f.write(struct.pack('<Q', len(text)) + text + b''.join(chunks))


def load_file(path):
    """Read a safetensors file strictly (offsets tile the data buffer) into an ordered dict of tensors."""
    with open(path, 'rb') as f:
        data = f.read()
    (n,) = struct.unpack('<Q', data[:8])
    header = json.loads(data[8:8 + n])
    buf = data[8 + n:]
    meta = header.pop('__metadata__', {})
    out, spans = {}, []
    for name, e in header.items():
        begin, end = e['data_offsets']
        dtype = TORCH[e['dtype']]
        t = torch.frombuffer(bytearray(buf[begin:end]), dtype=dtype) if end > begin else torch.zeros(0, dtype=dtype)
        out[name] = t.reshape(e['shape'])
        spans.append((begin, end))
    pos = 0
    for begin, end in sorted(spans):
        assert begin == pos, f'{path}: hole or overlap at {begin}'
        pos = end
    assert pos == len(buf), f'{path}: {len(buf) - pos} trailing bytes'
    return out, meta


def mlp():
    return nn.Sequential(nn.Linear(20, 16, bias=False), nn.BatchNorm1d(16), nn.Sigmoid(),
                         nn.Linear(16, 8, bias=False), nn.BatchNorm1d(8), nn.Sigmoid(), nn.Linear(8, 4))


def cnn():
    return nn.Sequential(nn.Unflatten(1, (1, 12, 12)),
                         nn.Conv2d(1, 4, 3, padding=1, bias=False), nn.BatchNorm2d(4), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Conv2d(4, 8, 3, padding=1, bias=False), nn.BatchNorm2d(8), nn.ReLU(), nn.MaxPool2d(2),
                         nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(8, 5))


ARCHS = {'mlp': (mlp, 20), 'cnn': (cnn, 144)}


def f32_list(t):
    return [float(repr(v)) for v in t.detach().to(torch.float32).reshape(-1).numpy()]


def f64_list(t):
    return t.detach().to(torch.float64).reshape(-1).tolist()


def entries(state):
    return [{'name': k, 'dtype': DTYPES[v.dtype], 'shape': list(v.shape)} for k, v in state.items()]


def outputs(model, x):
    model.eval()
    with torch.no_grad():
        y32 = model(x)
        y64 = copy.deepcopy(model).double()(x.double())
    return f32_list(y32), f64_list(y64)


def main():
    torch.set_num_threads(1)
    os.makedirs(DIR, exist_ok=True)
    from_pytorch, from_normlab = [], []
    for i, (name, (make, features)) in enumerate(ARCHS.items()):
        # 1. PyTorch → normlab
        torch.manual_seed(10 + i)
        model = make()
        opt = torch.optim.SGD(model.parameters(), lr=0.1)
        model.train()
        for _ in range(3):
            loss = model(torch.randn(16, features) * 1.5 + 0.3).square().mean()
            opt.zero_grad()
            loss.backward()
            opt.step()
        path = os.path.join(DIR, f'pytorch-{name}.safetensors')
        save_file(model.state_dict(), path, {'format': 'pt'})
        back, _ = load_file(path)  # the writer round-trips
        assert all(torch.equal(back[k], v) for k, v in model.state_dict().items())
        x = torch.randn(4, features)
        y32, y64 = outputs(model, x)
        from_pytorch.append({'name': name, 'file': f'safetensors/pytorch-{name}.safetensors', 'entries': entries(model.state_dict()),
                             'x': {'shape': list(x.shape), 'data': f32_list(x)}, 'y32': y32, 'y64': y64})
        print(f'{os.path.relpath(path)}: {os.path.getsize(path)} bytes')

        # 2. normlab → PyTorch
        path = os.path.join(DIR, f'normlab-{name}.safetensors')
        if not os.path.exists(path):
            print(f'{os.path.relpath(path)} is missing: write it with NORMLAB_WRITE_FIXTURES=1 (see the docstring)')
            continue
        state, meta = load_file(path)
        fresh = make()
        expected = entries(fresh.state_dict())
        found = entries(state)
        assert found == expected, f'{path}: entries differ from PyTorch\'s\n{found}\n{expected}'
        fresh.load_state_dict(state, strict=True)
        torch.manual_seed(20 + i)
        x = torch.randn(4, features)
        y32, y64 = outputs(fresh, x)
        from_normlab.append({'name': name, 'file': f'safetensors/normlab-{name}.safetensors', 'metadata': meta,
                             'entries': found, 'pytorchEntries': expected,
                             'numBatchesTracked': {k: int(v) for k, v in state.items() if k.endswith('num_batches_tracked')},
                             'x': {'shape': list(x.shape), 'data': f32_list(x)}, 'y32': y32, 'y64': y64})
    write('safetensors_pytorch.json', {'generator': 'scripts/gen_safetensors_fixtures.py', 'torch': torch.__version__,
                                       'fromPytorch': from_pytorch, 'fromNormlab': from_normlab})


if __name__ == '__main__':
    main()
