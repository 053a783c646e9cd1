import { afterAll } from 'vitest';
import { describeNormGoldens, report } from '../helpers/golden.js';

/*
 * LayerNorm, GroupNorm, InstanceNorm1d/2d (src/nn/normalization.ts) against PyTorch 1.13
 * (scripts/gen_norm_fixtures.py): forward, dx, dγ, dβ, running statistics over training steps and the eval
 * step, float64 and float32.
 */

const F64 = { rtol: 1e-10, atol: 1e-12 };

describeNormGoldens('norm_layernorm.json', F64);
describeNormGoldens('norm_groupnorm.json', F64);
describeNormGoldens('norm_instancenorm.json', F64);

afterAll(() => report('layernorm/groupnorm/instancenorm'));
