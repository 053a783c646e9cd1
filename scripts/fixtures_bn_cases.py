"""The cases scripts/gen_fixtures.py turns into test/fixtures/bn_*.json and net_*.json.

Options are normlab's (momentum = weight of the old running value); gen_fixtures.py converts them for PyTorch.
Each BN case runs one training step per entry of stepShapes (new batch and upstream gradient each time;
batch sizes differ so the unbiased factor m/(m-1) changes), then one eval step on a batch of evalShape.
"""


def opts(mode, momentum=0.9, unbiased=True, affine=True, eps=1e-5):
    return {'eps': eps, 'momentum': momentum, 'runningStats': mode, 'unbiasedRunningVar': unbiased, 'affine': affine}


def bn1(name, options, step_shapes, eval_shape, **extra):
    return {'name': name, 'module': 'BatchNorm1d', 'numFeatures': step_shapes[0][1], 'options': options,
            'stepShapes': step_shapes, 'evalShape': eval_shape, **extra}


def bn2(name, options, step_shapes, eval_shape, **extra):
    return {**bn1(name, options, step_shapes, eval_shape, **extra), 'module': 'BatchNorm2d'}


SPREAD3 = {'channelScale': [1.0, 0.3, 2.0], 'channelShift': [0.5, -1.0, 2.0]}
SPREAD2 = {'channelScale': [1.5, 0.4], 'channelShift': [-0.5, 1.0]}
S2 = [[6, 3], [4, 3], [9, 3]]
S3 = [[4, 3, 5], [2, 3, 5], [3, 3, 5]]
S4 = [[3, 2, 4, 5], [2, 2, 4, 5], [4, 2, 4, 5]]
RESUME5 = {'numBatchesTracked': 5}
RESUME2 = {'numBatchesTracked': 2}

BN_CASES = {
    'bn_2d.json': [
        bn1('2d ema m=0.9 unbiased', opts('ema', 0.9), S2, [5, 3], data=SPREAD3),
        bn1('2d ema m=0.5 biased, resumed stats', opts('ema', 0.5, unbiased=False), S2, [5, 3], data=SPREAD3, initialStats=RESUME5),
        bn1('2d cumulative unbiased, resumed at 2 batches', opts('cumulative'), S2, [5, 3], data=SPREAD3, initialStats=RESUME2),
        bn1('2d cumulative biased affine=false', opts('cumulative', unbiased=False, affine=False), S2, [5, 3], data=SPREAD3),
        bn1('2d none', opts('none'), S2, [5, 3], data=SPREAD3),
        bn1('2d constant channel, ema m=0.9 unbiased', opts('ema', 0.9), S2, [5, 3], data={**SPREAD3, 'constantChannel': [1, 0.1]}),
        bn1('2d offset 1e4, ema m=0.99 biased', opts('ema', 0.99, unbiased=False), S2, [5, 3], data={**SPREAD3, 'offset': 1e4}),
    ],
    'bn_3d.json': [
        bn1('3d ema m=0.5 unbiased eps=1e-3', opts('ema', 0.5, eps=1e-3), S3, [3, 3, 5], data=SPREAD3),
        bn1('3d ema m=0.99 biased', opts('ema', 0.99, unbiased=False), S3, [3, 3, 5], data=SPREAD3),
        bn1('3d cumulative unbiased', opts('cumulative'), S3, [3, 3, 5], data=SPREAD3),
        bn1('3d cumulative biased', opts('cumulative', unbiased=False), S3, [3, 3, 5], data=SPREAD3),
        bn1('3d none affine=false', opts('none', affine=False), S3, [3, 3, 5], data=SPREAD3),
        bn1('3d offset 1e4, ema m=0.9 unbiased', opts('ema', 0.9), S3, [3, 3, 5], data={**SPREAD3, 'offset': 1e4}),
    ],
    'bn_4d.json': [
        bn2('4d ema m=0.99 unbiased', opts('ema', 0.99), S4, [2, 2, 4, 5], data=SPREAD2),
        bn2('4d ema m=0.9 biased affine=false', opts('ema', 0.9, unbiased=False, affine=False), S4, [2, 2, 4, 5], data=SPREAD2),
        bn2('4d cumulative unbiased affine=false', opts('cumulative', affine=False), S4, [2, 2, 4, 5], data=SPREAD2),
        bn2('4d cumulative biased', opts('cumulative', unbiased=False), S4, [2, 2, 4, 5], data=SPREAD2),
        bn2('4d none', opts('none'), S4, [2, 2, 4, 5], data=SPREAD2),
        bn2('4d constant channel, cumulative biased', opts('cumulative', unbiased=False), S4, [2, 2, 4, 5],
            data={**SPREAD2, 'constantChannel': [0, 0.1]}),
    ],
}

NET_CASES = {
    'net_mlp.json': [
        {'name': 'Linear(5,4,bias=False) BatchNorm1d(4) m=0.9 Sigmoid Linear(4,3), batch 8', 'sizes': [5, 4, 3], 'batch': 8, 'momentum': 0.9},
        {'name': 'Linear(5,4,bias=False) BatchNorm1d(4) m=0.5 Sigmoid Linear(4,3), batch 6', 'sizes': [5, 4, 3], 'batch': 6, 'momentum': 0.5},
    ] + [
        # A sample of larger nets, so the float32 criterion's "typical error" is judged on more than two draws.
        {'name': f'Linear({i},{h},bias=False) BatchNorm1d({h}) m={m} Sigmoid Linear({h},{k}), batch {n}', 'sizes': [i, h, k], 'batch': n, 'momentum': m}
        for (i, h, k, n, m) in [(12, 8, 5, 10, 0.9), (16, 12, 10, 16, 0.9), (20, 16, 10, 24, 0.99), (24, 10, 4, 12, 0.5),
                                (30, 20, 10, 32, 0.9), (8, 32, 10, 20, 0.9), (40, 16, 10, 16, 0.8), (10, 10, 10, 40, 0.9),
                                (32, 24, 6, 8, 0.9), (18, 14, 10, 30, 0.95)]
    ],
}
