import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
// @ts-expect-error — a plain .mjs script without types
import { descriptor } from '../../scripts/gen-onnx-proto.mjs';
import { onnxDescriptor } from '../../src/onnx/proto.generated.js';

describe('onnx.proto', () => {
  it('is the official schema, and proto.generated.ts is derived from it (node scripts/gen-onnx-proto.mjs)', () => {
    const proto = readFileSync(new URL('../../src/onnx/onnx.proto', import.meta.url), 'utf8');
    expect(proto).toMatch(/SPDX-License-Identifier: Apache-2.0/);
    expect(proto).toMatch(/^package onnx;$/m);
    expect(JSON.stringify(onnxDescriptor)).toBe((descriptor as () => string)());
  });
});
