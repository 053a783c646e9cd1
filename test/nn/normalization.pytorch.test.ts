import { afterAll } from 'vitest';
import { report } from '../pytorch/golden.js';
import { describeFixture } from './normalization.golden.js';

/*
 * LayerNorm, GroupNorm, InstanceNorm1d/2d against PyTorch 1.13 (scripts/gen_norm_fixtures.py): forward, dx,
 * dγ, dβ, running statistics over training steps and the eval step, float64 and float32.
 */

const F64 = { rtol: 1e-10, atol: 1e-12 };

describeFixture('norm_layernorm.json', F64);
describeFixture('norm_groupnorm.json', F64);
describeFixture('norm_instancenorm.json', F64);

afterAll(() => report('layernorm/groupnorm/instancenorm'));
